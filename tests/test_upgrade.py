"""Node pool upgrades with surge (reference §10) and AKS's pre-flight check (§2).

Default timings: a new node is Ready 3 min after it is created, a drained node is
deleted 30 s (drain) + 60 s (delete) after its drain starts. With surge s the upgrade
creates s nodes, and every 3 min + 90 s drains s old nodes, deletes them and creates
their replacements, so a pool of n nodes takes ceil(n / s) × 270 s.
"""

from pathlib import Path

import pytest

import simulator

from conftest import make_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _upgrade(surge, at="1m"):
    return {
        "at": at,
        "upgrade_node_pool": {"cluster": "aks1", "node_pool": "user", "max_surge": surge},
    }


def _node(index):
    return f"aks-user-09019107-vmss{index:06d}"


def _steps(result, after=0.0):
    """(time, kind, node number) of every node step after ``after``."""
    kinds = ("node_created", "node_drained", "node_reimaged", "node_deleted", "node_failed")
    events = result.events[result.events["kind"].isin(kinds) & (result.events["time_s"] > after)]
    return [(t, k, int(n[-6:])) for t, k, n in events[["time_s", "kind", "node"]].values]


def _most_nodes(nodes):
    """Most nodes alive at once (failed VMs never count), from nodes.csv."""
    alive = nodes[nodes["status"] != "failed"]
    times = sorted(set(alive["created_s"]) | set(alive["deleted_s"].dropna()))
    return max(
        (
            (alive["created_s"] <= t) & ~(alive["deleted_s"] <= t)  # NaN: never deleted
        ).sum()
        for t in times
    )


def test_surge_1_replaces_three_nodes_one_at_a_time():
    doc = make_scenario(cni="traditional", nodes=3, max_pods=30, replicas=60, duration="20m")
    doc["timeline"] = [_upgrade(1)]
    result = simulator.run(doc)
    assert _steps(result) == [
        (60.0, "node_created", 3),  # the surge node
        (240.0, "node_drained", 0),  # once it is Ready (60 + 180)
        (330.0, "node_deleted", 0),  # drain 30 s + delete 60 s
        (330.0, "node_created", 4),  # its replacement
        (510.0, "node_drained", 1),
        (600.0, "node_deleted", 1),
        (600.0, "node_created", 5),
        (780.0, "node_drained", 2),  # the surge node stands in for the last one
        (870.0, "node_deleted", 2),
    ]
    (upgrade,) = result.summary["upgrades"]
    assert {k: upgrade[k] for k in ("start_s", "end_s", "nodes", "max_surge", "outcome")} == {
        "start_s": 60.0,
        "end_s": 870.0,  # 60 + 3 × 270
        "nodes": 3,
        "max_surge": 1,
        "outcome": "complete",
    }
    # (3 + 1) nodes × (1 + 30) addresses at the peak, 3 × 31 before and after.
    assert upgrade["peak_allocated"] == {"nodesubnet": 4 * 31}
    assert result.summary["subnets"]["nodesubnet"]["final_allocated"] == 3 * 31
    assert _most_nodes(result.nodes) == 4
    kinds = result.events["kind"]
    assert result.events[kinds.str.startswith("upgrade")][["time_s", "kind"]].values.tolist() == [
        [60.0, "upgrade_started"],
        [870.0, "upgrade_complete"],
    ]


def test_every_node_is_new_and_every_evicted_pod_runs_again():
    doc = make_scenario(cni="traditional", nodes=3, max_pods=30, replicas=60, duration="20m")
    doc["timeline"] = [_upgrade(1)]
    result = simulator.run(doc)
    nodes = result.nodes
    old, new = nodes[nodes["created_s"] == 0], nodes[nodes["created_s"] > 0]
    assert list(old["status"]) == ["deleted"] * 3
    assert list(new["status"]) == ["ready"] * 3
    assert list(new["ready_s"]) == [240.0, 510.0, 780.0]
    # Each old node ran 20 pods; all 60 were evicted and replaced.
    pods = result.pods
    assert (pods["state"] == "evicted").sum() == 60
    assert result.summary["pods"]["created"] == 120
    running = pods[pods["state"] == "running"]
    assert len(running) == 60 and set(running["node"]) == set(new["node"])
    assert result.summary["pods"]["pending_at_end"] == 0


def test_a_percentage_surge_rounds_up():
    # 30 % of 5 nodes is 1.5: 2 surge nodes, batches of 2, 2 and 1, so ceil(5 / 2) = 3
    # rounds of 270 s; the last batch needs no replacement (the surge nodes cover it).
    doc = make_scenario(cni="traditional", nodes=5, max_pods=30, replicas=100, duration="20m")
    doc["timeline"] = [_upgrade("30%")]
    result = simulator.run(doc)
    assert _steps(result) == [
        (60.0, "node_created", 5),
        (60.0, "node_created", 6),
        (240.0, "node_drained", 0),
        (240.0, "node_drained", 1),
        (330.0, "node_deleted", 0),
        (330.0, "node_deleted", 1),
        (330.0, "node_created", 7),
        (330.0, "node_created", 8),
        (510.0, "node_drained", 2),
        (510.0, "node_drained", 3),
        (600.0, "node_deleted", 2),
        (600.0, "node_deleted", 3),
        (600.0, "node_created", 9),
        (780.0, "node_drained", 4),
        (870.0, "node_deleted", 4),
    ]
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["max_surge"], upgrade["end_s"], upgrade["outcome"]) == (2, 870.0, "complete")
    assert upgrade["peak_allocated"] == {"nodesubnet": (5 + 2) * 31}
    assert _most_nodes(result.nodes) == 7
    assert result.summary["nodes"]["alive_at_end"] == 5


def test_shorter_timings_shorten_every_round():
    # Provision 1 min, drain 10 s, delete 20 s: a round is 90 s, two rounds for 2 nodes.
    doc = make_scenario(
        cni="traditional",
        nodes=2,
        max_pods=30,
        replicas=10,
        timings={"node_provision": "1m", "node_drain": "10s", "node_delete": "20s"},
    )
    doc["timeline"] = [_upgrade(1, at=30)]
    result = simulator.run(doc)
    assert _steps(result) == [
        (30.0, "node_created", 2),
        (90.0, "node_drained", 0),
        (120.0, "node_deleted", 0),
        (120.0, "node_created", 3),
        (180.0, "node_drained", 1),
        (210.0, "node_deleted", 1),
    ]
    assert result.summary["upgrades"][0]["end_s"] == 210.0


def test_a_max_surge_of_0_with_no_max_unavailable_is_refused():
    # No surge and nothing in place would upgrade no node: refused up front.
    doc = make_scenario(cni="traditional", nodes=2, max_pods=30, replicas=10)
    doc["timeline"] = [_upgrade(0)]
    with pytest.raises(simulator.ScenarioError) as err:
        simulator.load_scenario(doc)
    assert str(err.value) == (
        "timeline[0].upgrade_node_pool: max_surge and max_unavailable cannot both be 0: no "
        "node would be upgraded (max_surge: nodes replaced by new ones, max_unavailable: "
        "nodes upgraded in place)"
    )


def _tight(surge, preflight=True):
    # 7 nodes × 31 = 217 of a /24's 251 usable: 34 free, room for one more node.
    doc = make_scenario(
        cni="traditional",
        nodes=7,
        max_pods=30,
        replicas=70,
        node_cidr="10.240.0.0/24",
        duration="40m",
    )
    doc["timeline"] = [_upgrade(surge)]
    doc["preflight_checks"] = preflight
    return simulator.run(doc)


def test_preflight_lets_one_surge_node_take_the_subnet_to_3_free():
    # Surge 1 needs 1 × 30 free: 34 are. The peak is 8 × 31 = 248 of 251.
    result = _tight(1)
    (upgrade,) = result.summary["upgrades"]
    assert upgrade["outcome"] == "complete"
    assert upgrade["end_s"] == 60.0 + 7 * 270
    assert upgrade["peak_allocated"] == {"nodesubnet": 248}
    assert result.summary["subnets"]["nodesubnet"]["min_free"] == 3


def test_preflight_refuses_an_upgrade_whose_surge_does_not_fit():
    # The pool of 7 plus surge 2 at 31 each, 279, exceeds the /24's 251: refused, nothing
    # happens.
    result = _tight(2)
    refused = result.events[result.events["kind"] == "preflight_refused"]
    assert refused[["time_s", "node_pool", "subnet"]].values.tolist() == [
        [60.0, "user", "nodesubnet"]
    ]
    assert refused.iloc[0]["message"] == (
        "InsufficientSubnetSize: upgrade surge of 2 node(s): Pre-allocated IPs 279 exceeds "
        "IPs available 251 in node subnet nodesubnet (10.240.0.0/24) ((user 7 + surge 2) × 31"
        " = 279)"
    )
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["start_s"], upgrade["end_s"]) == (60.0, 60.0)
    assert upgrade["outcome"] == "refused by preflight check"
    assert upgrade["peak_allocated"] == {"nodesubnet": 217}
    assert result.summary["nodes"]["created"] == 7
    assert not result.events["kind"].isin(["upgrade_started", "node_drained"]).any()


def test_without_preflight_the_second_surge_node_fails_and_the_upgrade_stops():
    # The first surge node takes 31 (3 free left), the second fails with SubnetIsFull at
    # once. AKS stops an upgrade whose new node cannot be created: nothing is drained,
    # the old nodes keep running and the surge node that did fit stays.
    result = _tight(2, preflight=False)
    assert _steps(result)[:2] == [(60.0, "node_created", 7), (60.0, "node_failed", 8)]
    failed = result.events[result.events["kind"] == "node_failed"].iloc[0]["message"]
    assert failed == "SubnetIsFull: node needs 31 addresses (1 + max pods 30), subnet has 3 free"
    stopped = result.events[result.events["kind"] == "upgrade_failed"]
    assert stopped[["time_s", "message"]].values.tolist() == [
        [60.0, "stopped with 7 old node(s) left: a new node could not be created"]
    ]
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["end_s"], upgrade["outcome"]) == (
        60.0,
        "failed: a new node could not be created",
    )
    assert upgrade["peak_allocated"] == {"nodesubnet": 248}
    assert not (result.events["kind"] == "node_drained").any()
    assert result.summary["nodes"]["failed"] == 1
    assert result.summary["nodes"]["alive_at_end"] == 8
    assert result.summary["pods"]["running_at_end"] == 70


def test_dynamic_surge_nodes_take_a_primary_and_a_first_batch_from_the_pod_subnet():
    # 3 nodes with 2 pods each hold 1 + 16 pod-subnet addresses. The surge node takes its
    # node address when created (60 s) and its 1 + 16 when its NNC is filled, 5 s after it
    # is Ready (245 s): 4 × 17 = 68 at the peak, 4 node-subnet addresses.
    doc = make_scenario(nodes=3, max_pods=30, replicas=6, duration="20m")
    doc["timeline"] = [_upgrade(1)]
    result = simulator.run(doc)
    (upgrade,) = result.summary["upgrades"]
    assert upgrade["peak_allocated"] == {"nodesubnet": 4, "podsubnet": 4 * 17}
    subnets = result.subnets.set_index(["subnet", "time_s"])["allocated"]
    assert (subnets[("podsubnet", 240.0)], subnets[("podsubnet", 250.0)]) == (51, 68)
    surge = result.nnc[result.nnc["node"] == _node(3)].iloc[:2]
    assert surge[["time_s", "secondary_ips", "primary_ips"]].values.tolist() == [
        [240.0, 0, 0],
        [245.0, 16, 1],
    ]
    # The 2 pods evicted from the first node at 240 s run on the surge node: bound at
    # 240 s, their sandbox retried at 250 s after the batch was programmed (246 s).
    moved = result.pods[result.pods["node"] == _node(3)]
    assert moved[["scheduled_s", "ip_s"]].values.tolist() == [[240.0, 250.0], [240.0, 250.0]]
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 3 * 17


def test_scenario_upgrade_surge_tight_subnet_peaks_at_248_of_251():
    result = simulator.run(SCENARIOS / "upgrade-surge-tight-subnet.yaml")
    first, second = result.summary["upgrades"]
    assert (first["max_surge"], first["outcome"], first["end_s"]) == (1, "complete", 2190.0)
    assert first["peak_allocated"] == {"nodesubnet": 248}
    assert second["outcome"] == "refused by preflight check"
    assert result.summary["subnets"]["nodesubnet"]["min_free"] == 3


def _upgrade_with(at="1m", **settings):
    return {"at": at, "upgrade_node_pool": {"cluster": "aks1", "node_pool": "user", **settings}}


@pytest.mark.parametrize(("nodes", "surge"), [(3, 1), (10, 1), (12, 2), (25, 3)])
def test_the_default_max_surge_is_10_percent_rounded_up(nodes, surge):
    # AKS's API: "If not specified, the default is 10%"; fractional nodes round up.
    doc = make_scenario(cni="overlay", nodes=nodes, max_pods=30, duration="2m")
    doc["timeline"] = [_upgrade_with()]
    result = simulator.run(doc)
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["max_surge"], upgrade["max_unavailable"]) == (surge, 0)
    created = result.events[(result.events["kind"] == "node_created")]
    assert (created["time_s"] == 60.0).sum() == surge


def test_max_unavailable_upgrades_in_place_with_no_new_vm_and_no_new_address():
    # Surge 0, max unavailable 1: each node is drained (30 s) and reimaged (180 s) in
    # turn, a round of 210 s; the subnet never holds more than the pool's 3 × 31.
    doc = make_scenario(cni="traditional", nodes=3, max_pods=30, replicas=60, duration="20m")
    doc["timeline"] = [_upgrade_with(max_surge=0, max_unavailable=1)]
    result = simulator.run(doc)
    steps = _steps(result)
    assert steps == [
        (60.0, "node_drained", 0),
        (270.0, "node_reimaged", 0),  # drain 30 s + reimage 180 s
        (270.0, "node_drained", 1),
        (480.0, "node_reimaged", 1),
        (480.0, "node_drained", 2),
        (690.0, "node_reimaged", 2),
    ]
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["end_s"], upgrade["outcome"], upgrade["max_surge"]) == (690.0, "complete", 0)
    assert upgrade["peak_allocated"] == {"nodesubnet": 3 * 31}
    assert result.summary["nodes"]["created"] == 3
    assert set(result.nodes["status"]) == {"ready"}
    assert result.summary["pods"]["running_at_end"] == 60


def test_surge_and_max_unavailable_together_replace_some_and_reimage_others():
    # 4 nodes, surge 1, max unavailable 1: rounds of ([replaced], [in place]) = ([0], [1])
    # and ([2], [3]). Two new VMs in all: the surge node (60 s) and node 0's replacement
    # (330 s); the second round waits for it (Ready at 510 s) and the last reimage ends at
    # 540 + 180 = 720 s.
    doc = make_scenario(cni="traditional", nodes=4, max_pods=30, replicas=40, duration="20m")
    doc["timeline"] = [_upgrade_with(max_surge=1, max_unavailable=1)]
    result = simulator.run(doc)
    steps = _steps(result)
    assert steps == [
        (60.0, "node_created", 4),
        (240.0, "node_drained", 0),
        (240.0, "node_drained", 1),
        (330.0, "node_deleted", 0),
        (330.0, "node_created", 5),
        (450.0, "node_reimaged", 1),
        (510.0, "node_drained", 2),
        (510.0, "node_drained", 3),
        (600.0, "node_deleted", 2),
        (720.0, "node_reimaged", 3),
    ]
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["end_s"], upgrade["outcome"]) == (720.0, "complete")
    assert upgrade["peak_allocated"] == {"nodesubnet": 5 * 31}
    assert result.summary["nodes"]["alive_at_end"] == 4


def test_node_soak_waits_after_each_drain():
    # Surge 1, 2 nodes, soak 1 min: a round is 180 + 30 + 60 + 60 = 330 s.
    doc = make_scenario(cni="traditional", nodes=2, max_pods=30, replicas=10, duration="20m")
    doc["timeline"] = [_upgrade_with(max_surge=1, node_soak="1m")]
    result = simulator.run(doc)
    assert _steps(result) == [
        (60.0, "node_created", 2),
        (240.0, "node_drained", 0),
        (390.0, "node_deleted", 0),  # drain 30 s + soak 60 s + delete 60 s
        (390.0, "node_created", 3),
        (570.0, "node_drained", 1),
        (720.0, "node_deleted", 1),
    ]
    assert result.summary["upgrades"][0]["end_s"] == 60.0 + 2 * 330


def test_a_drain_longer_than_the_drain_timeout_fails_the_upgrade():
    # Pods with a 5 min termination grace, a 2 min drain timeout: the first drain (240 s)
    # times out at 360 s; the surge node stays, the other old node keeps its old image.
    doc = make_scenario(
        cni="traditional", nodes=2, max_pods=30, replicas=10, duration="20m", grace="5m"
    )
    doc["timeline"] = [_upgrade_with(max_surge=1, drain_timeout="2m")]
    result = simulator.run(doc)
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["end_s"], upgrade["outcome"]) == (360.0, "failed: drain timeout")
    failed = result.events[result.events["kind"] == "upgrade_failed"]
    assert failed[["time_s", "message"]].values.tolist() == [
        [
            360.0,
            "stopped with 2 old node(s) left: draining took longer than the drain timeout "
            "(120 s): pods with a termination grace of 300 s",
        ]
    ]
    assert not (result.events["kind"] == "node_deleted").any()


def _tight_135(surge, preflight=True, version="1.35"):
    doc = make_scenario(
        cni="traditional",
        nodes=7,
        max_pods=30,
        replicas=70,
        node_cidr="10.240.0.0/24",
        duration="40m",
    )
    doc["clusters"][0]["kubernetes_version"] = version
    doc["timeline"] = [_upgrade(surge)]
    doc["preflight_checks"] = preflight
    return simulator.run(doc)


def test_from_1_35_a_refused_surge_is_retried_with_a_surge_of_1():
    # Surge 2 needs 60 free addresses, the /24 has 34: refused; 1.35 retries with 1
    # (30 <= 34), which goes through as the plain surge-1 upgrade does.
    result = _tight_135(2)
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["max_surge"], upgrade["surge_fallback"], upgrade["outcome"]) == (
        1,
        True,
        "complete",
    )
    assert upgrade["end_s"] == 60.0 + 7 * 270
    fallback = result.events[result.events["kind"] == "upgrade_surge_fallback"]
    assert fallback[["time_s", "message"]].values.tolist() == [
        [60.0, "max surge 2 -> 1: the pre-flight check refused it"]
    ]
    assert upgrade["peak_allocated"] == {"nodesubnet": 248}


def test_before_1_35_a_refused_surge_is_not_retried():
    result = _tight_135(2, version="1.34")
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["outcome"], upgrade["surge_fallback"]) == ("refused by preflight check", False)


def test_from_1_35_a_surge_the_subnet_cannot_hold_is_retried_with_one_node():
    # No pre-flight check: surge node 7 fits, node 8 fails (SubnetIsFull). The surge is
    # all or nothing: node 7 goes again, one surge node (9) is tried, and fits.
    result = _tight_135(2, preflight=False)
    assert _steps(result)[:4] == [
        (60.0, "node_created", 7),
        (60.0, "node_failed", 8),
        (60.0, "node_deleted", 7),
        (60.0, "node_created", 9),
    ]
    (upgrade,) = result.summary["upgrades"]
    assert (upgrade["max_surge"], upgrade["outcome"]) == (1, "complete")
    assert result.summary["nodes"]["alive_at_end"] == 7


def test_kubernetes_version_must_be_a_version():
    doc = make_scenario()
    doc["clusters"][0]["kubernetes_version"] = "latest"
    with pytest.raises(simulator.ScenarioError) as err:
        simulator.load_scenario(doc)
    assert str(err.value).startswith("clusters[aks1].kubernetes_version: ")
