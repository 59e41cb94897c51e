"""Pool monitor v2 in the model (reference §6): demand, one-step jumps, failed releases."""

import simulator


def _requested_steps(result, node=None):
    nnc = result.nnc if node is None else result.nnc[result.nnc["node"] == node]
    steps = []
    for time_s, requested in nnc[["time_s", "requested_ips"]].itertuples(index=False):
        if not steps or steps[-1][1] != requested:
            steps.append((time_s, requested))
    return steps


def _burst(scenario_doc, monitor):
    doc = scenario_doc(
        nodes=1,
        replicas=0,
        ipam={"pool_monitor": monitor},
        timeline=[{"at": 60, "scale_workload": {"workload": "web", "replicas": 36}}],
    )
    return simulator.run(doc)


def test_v2_requests_a_whole_burst_in_one_step(scenario_doc):
    result = _burst(scenario_doc, "v2")
    # D = 36: 16 * ceil(0.5 + 36/16) = 48, patched as soon as the pods are bound.
    assert _requested_steps(result) == [(0.0, 16), (60.0, 48)]
    assert result.summary["pods"]["running_at_end"] == 36
    # target + 1: the NC's primary address comes on top.
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 49


def test_v1_reaches_the_same_burst_through_32(scenario_doc):
    result = _burst(scenario_doc, "v1")
    steps = _requested_steps(result)
    assert [r for _, r in steps] == [16, 32, 48]
    # One batch per control-plane round trip: the 48 waits for the 32 to be filled.
    assert steps[1][0] == 60.0 and steps[2][0] > steps[1][0] + 5
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 49


def test_v2_burst_gives_pods_addresses_sooner_than_v1(scenario_doc):
    v1 = _burst(scenario_doc, "v1").pods["ip_wait_s"].max()
    v2 = _burst(scenario_doc, "v2").pods["ip_wait_s"].max()
    assert v2 < v1


def test_v2_scales_down_in_one_jump_and_v1_batch_by_batch(scenario_doc):
    timeline = [
        {"at": 60, "scale_workload": {"workload": "web", "replicas": 36}},
        {"at": 300, "scale_workload": {"workload": "web", "replicas": 5}},
    ]
    v2 = simulator.run(
        scenario_doc(replicas=0, grace=0, ipam={"pool_monitor": "v2"}, timeline=timeline)
    )
    v1 = simulator.run(scenario_doc(replicas=0, grace=0, timeline=timeline))
    # The deleted pods' addresses come back after ip_release (5 s), when they leave the node.
    assert _requested_steps(v2)[-1] == (305.0, 16)
    assert [r for _, r in _requested_steps(v2)] == [16, 48, 16]
    assert [r for _, r in _requested_steps(v1)][-3:] == [48, 32, 16]
    assert v1.summary["subnets"]["podsubnet"]["final_allocated"] == 17
    assert v2.summary["subnets"]["podsubnet"]["final_allocated"] == 17


def test_v2_relists_pods_at_most_every_500_ms(scenario_doc):
    doc = scenario_doc(
        replicas=0,
        ipam={"pool_monitor": "v2"},
        timeline=[
            {"at": 60, "scale_workload": {"workload": "web", "replicas": 8}},
            {"at": 60.2, "scale_workload": {"workload": "web", "replicas": 30}},
        ],
    )
    result = simulator.run(doc)
    # 8 pods at 60 s keep the target at 16; the 30 bound at 60.2 s are listed at 60.5 s.
    assert _requested_steps(result) == [(0.0, 16), (60.5, 48)]


def test_v2_release_is_all_or_nothing_and_retried(scenario_doc):
    # A /27 pod subnet has 27 usable addresses: 1 primary + 16 leave 10 free, so the
    # node's request for 32 cannot be filled. With 5 pods left, v2 wants to release 16 of
    # its 16 addresses but only 11 are unassigned: the step fails and is retried.
    doc = scenario_doc(
        nodes=1,
        pod_cidr="10.241.0.0/27",
        replicas=20,
        grace=0,
        ipam={"pool_monitor": "v2"},
        duration="10m",
        timeline=[{"at": 100, "scale_workload": {"workload": "web", "replicas": 5}}],
    )
    result = simulator.run(doc)
    failed = result.events[result.events["kind"] == "release_failed"]
    assert len(failed) == 1 and failed.iloc[0]["time_s"] == 105.0
    assert "cannot mark 16 addresses" in failed.iloc[0]["message"]
    assert "only 11 are unassigned" in failed.iloc[0]["message"]
    last = result.nnc.iloc[-1]
    assert (last["requested_ips"], last["secondary_ips"], last["pending_release_ips"]) == (
        32,
        16,
        0,
    )


def test_v2_failed_release_succeeds_once_the_request_is_filled(scenario_doc):
    # Two nodes on a /26 (59 usable) both want 32 for 20 pods each: the first is filled,
    # the second is refused. At 100 s the workload drops to 10: the refused node cannot
    # release 16 of its 16 addresses (5 assigned) and fails; the other node's release
    # frees the subnet, the control plane fills the 32, and that new status lets the
    # release go through.
    doc = scenario_doc(
        nodes=2,
        pod_cidr="10.241.0.0/26",
        replicas=40,
        grace=0,
        ipam={"pool_monitor": "v2"},
        timeline=[{"at": 100, "scale_workload": {"workload": "web", "replicas": 10}}],
    )
    result = simulator.run(doc)
    second = result.nodes["node"].iloc[1]
    kinds = result.events[result.events["node"] == second][["time_s", "kind"]]
    assert kinds.values.tolist()[-3:] == [
        [10.0, "subnet_full"],
        [105.0, "release_failed"],
        [115.0, "nc_recovered"],
    ]
    assert _requested_steps(result, second) == [(0.0, 16), (5.0, 32), (115.0, 16)]
    final = result.nnc.groupby("node").tail(1)
    assert final["secondary_ips"].tolist() == [16, 16]
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 2 * 17


def test_v2_under_exhaustion_requests_demand_plus_one(scenario_doc):
    doc = scenario_doc(nodes=3, pod_cidr="10.241.0.0/26", replicas=6)
    doc["clusters"][0]["ipam"] = {"pool_monitor": "v2"}
    doc["network"]["exhaustion"] = {"enabled": True, "upper_percent": 80, "lower_percent": 10}
    result = simulator.run(doc)
    for node in result.nodes["node"]:
        steps = [r for _, r in _requested_steps(result, node)]
        assert steps == [16, 3]  # D = 2: batch 1, buffer 1 -> 2 + 1, in one step
    assert result.summary["subnets"]["podsubnet"]["final_allocated"] == 3 * 4


def test_v2_counts_a_succeeded_pod_until_the_next_pod_create(scenario_doc):
    # Upstream's pod watcher ignores pod updates (reference §12): Job pods that turn
    # Succeeded keep their demand until a pod on the node is created or deleted.
    doc = scenario_doc(
        replicas=0,
        ipam={"pool_monitor": "v2"},
        timeline=[{"at": 300, "scale_workload": {"workload": "web", "replicas": 1}}],
    )
    doc["workloads"].append(
        {
            "name": "batch",
            "kind": "job",
            "cluster": "aks1",
            "rate": "10/s",
            "start": 60,
            "stop": 62,
            "lifetime": {"distribution": "fixed", "value": "60s"},
        }
    )
    result = simulator.run(doc)
    jobs = result.pods[result.pods["workload"] == "batch"]
    assert 9 <= len(jobs) <= 24  # D in 9..24: a target of 32
    assert jobs["state"].eq("succeeded").all() and jobs["deleted_s"].max() < 150
    # Down to 16 only when the web pod is created at 300 s, not when the jobs finish.
    steps = _requested_steps(result)
    assert [r for _, r in steps] == [16, 32, 16]
    assert 60 < steps[1][0] < 63 and steps[2][0] == 300.0
