"""Workload controllers and scheduling resources, exact timelines from deterministic inputs.

Rollouts, ramps and daily profiles of Deployments; Poisson Jobs with their lifetimes and
common random numbers; DaemonSets; CPU and memory requests against allocatable room.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import simulator
from simulator import ScenarioError, load_scenario
from simulator.core.units import resolve_count
from simulator.core.vm_sizes import allocatable_for
from simulator.scenario.files import read_lifetimes

from conftest import make_scenario

Doc = dict[str, Any]
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


# --- helpers ---------------------------------------------------------------------------


def _rollout(at: str = "1m", **budget: Any) -> dict[str, Any]:
    return {"at": at, "rollout_workload": {"workload": "web", **budget}}


def _rollout_doc(
    *,
    cni: str = "traditional",
    grace: float | None = 0,
    release: float = 1,
    timeline: list[dict[str, Any]] | None = None,
) -> Doc:
    """One node, 10 web pods, a rollout at 60 s (25 % and 25 % unless ``timeline`` says)."""
    return make_scenario(
        cni=cni,
        nodes=1,
        replicas=10,
        grace=grace,
        timings={"ip_release": release},
        timeline=timeline or [_rollout(max_surge="25%", max_unavailable="25%")],
    )


def _steps(result: simulator.Result, after: float) -> list[tuple[float, int]]:
    """The single node's assigned addresses at each change from ``after`` on."""
    rows = result.nnc[result.nnc["time_s"] >= after]
    out: list[tuple[float, int]] = []
    for time, assigned in zip(rows["time_s"], rows["assigned_ips"], strict=True):
        if not out or out[-1][1] != assigned:
            out.append((float(time), int(assigned)))
    return out


def _most(starts: pd.Series, ends: pd.Series) -> int:
    """Most intervals [start, end) open at once (an end at t closes before a start at t)."""
    pairs = [(s, e) for s, e in zip(starts, ends, strict=True) if not pd.isna(s)]
    points = [(s, 1) for s, _ in pairs] + [(e, -1) for _, e in pairs if not pd.isna(e)]
    count = peak = 0
    for _, delta in sorted(points):
        count += delta
        peak = max(peak, count)
    return peak


def _open_at(starts: pd.Series, ends: pd.Series, t: float) -> int:
    """Intervals [start, end) open at ``t``."""
    return int(((starts <= t) & ~(ends <= t)).sum())


def _web(result: simulator.Result) -> pd.DataFrame:
    return result.pods[result.pods["workload"] == "web"]


def _events(result: simulator.Result, kind: str) -> list[tuple[float, str]]:
    rows = result.events[result.events["kind"] == kind]
    return list(zip(rows["time_s"], rows["message"], strict=True))


def _reject(doc: Doc) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    return info.value


# --- rollouts --------------------------------------------------------------------------

# 10 replicas with max surge 25 % (2.5, rounded up to 3) and max unavailable 25 % (2.5,
# rounded down to 2). At 60 s the Deployment creates 3 new pods (10 + 3 = 13), scales the
# old ReplicaSet down by 2 (8 old pods keep 10 - 2 available), and that scale-down syncs
# it again at once: 2 more new pods fill the freed room, 8 old + 5 new. At 62 s the 5 new
# pods are ready: 13 - 8 = 5 old pods go and 5 new ones replace them; at 64 s the new
# pods are ready, the last 3 old pods go and the rollout is complete. Pods that are not
# terminating never exceed 13, but a deleted pod holds its address for its termination
# grace plus ip_release, and the new pods take theirs at once (one node, addresses free).
ROLLOUT_PEAKS = [
    # No grace, no release delay: a deleted pod's address is free in the same instant,
    # before its replacement binds, so the addresses follow the pods: 10 + 3 = 13.
    (0, 0, 13, [(60.0, 13), (64.0, 10)]),
    # 1 s release: 10 old + 5 new at 60 s until the 2 deleted release at 61 s, then
    # 13 + the 5 deleted at 62 s = 18 until 63 s; the last 3 release at 65 s.
    (0, 1, 18, [(60.0, 15), (61.0, 13), (62.0, 18), (63.0, 13), (65.0, 10)]),
    # Default 30 s grace: old pods deleted at 60, 62 and 64 s hold their addresses until
    # 91, 93 and 95 s; from 62 s all 10 new pods hold one too: 20, twice the replicas.
    (None, 1, 20, [(60.0, 15), (62.0, 20), (91.0, 18), (93.0, 13), (95.0, 10)]),
]


@pytest.mark.parametrize("cni", ["traditional", "dynamic"])
@pytest.mark.parametrize(
    ("grace", "release", "peak", "steps"), ROLLOUT_PEAKS, ids=["instant", "release-1s", "grace"]
)
def test_rollout_peak_assigned(cni, grace, release, peak, steps):
    result = simulator.run(_rollout_doc(cni=cni, grace=grace, release=release))
    subnet = "podsubnet" if cni == "dynamic" else "nodesubnet"
    # The rollout is the only peak: the 10 pods before it hold 10 addresses.
    assert result.summary["subnets"][subnet]["peak_assigned"] == peak
    assert _steps(result, 60) == steps
    # The same peak from pods.csv: each pod holds an address from ip_s until
    # deleted_s + grace + ip_release.
    pods = _web(result)
    hold = (30.0 if grace is None else grace) + release
    assert _most(pods["ip_s"], pods["deleted_s"] + hold) == peak
    # However long the addresses are held, at most 13 pods are not terminating.
    assert _most(pods["created_s"], pods["deleted_s"]) == 13


def test_rollout_waves_and_completion():
    result = simulator.run(_rollout_doc())
    pods = _web(result)
    new = pods[pods["pod"].str.contains("-r1-")]
    old = pods[~pods["pod"].str.contains("-r1-")]
    assert new["created_s"].value_counts().sort_index().to_dict() == {60.0: 5, 62.0: 5}
    assert old["deleted_s"].value_counts().sort_index().to_dict() == {60.0: 2, 62.0: 5, 64.0: 3}
    assert _events(result, "rollout_started") == [
        (60.0, "web: revision 1, 10 replicas, max surge 3, max unavailable 2")
    ]
    assert _events(result, "rollout_complete") == [(64.0, "web: revision 1 has 10 pods ready")]
    # Never fewer than 10 - 2 = 8 pods ready during the rollout.
    assert min(_open_at(pods["running_s"], pods["deleted_s"], t) for t in range(60, 66)) == 8
    final = pods[pods["state"] == "running"]
    assert len(final) == 10 and final["pod"].str.contains("-r1-").all()
    assert set(old["state"]) == {"deleted"}


@pytest.mark.parametrize(
    ("budget", "shown", "complete", "most", "least"),
    [
        # Surge only: 2 new pods at a time, an old pod goes only once a new one is ready;
        # new pods at 60, 62, 64, 66 and 68 s, ready 2 s later.
        ({"max_surge": 2, "max_unavailable": 0}, "max surge 2, max unavailable 0", 70.0, 12, 10),
        # No surge: 3 old pods go, 3 new replace them, ready 2 s later; 3 + 3 + 3 + 1.
        ({"max_surge": 0, "max_unavailable": 3}, "max surge 0, max unavailable 3", 68.0, 10, 7),
        # Both percentages round to 0 (0 % and 5 % of 10 = 0.5 down): Kubernetes then
        # allows 1 unavailable, so one pod at a time, 10 × 2 s.
        (
            {"max_surge": "0%", "max_unavailable": "5%"},
            "max surge 0, max unavailable 1",
            80.0,
            10,
            9,
        ),
    ],
    ids=["surge-only", "unavailable-only", "both-round-to-zero"],
)
def test_rollout_with_counts_completes(budget, shown, complete, most, least):
    result = simulator.run(_rollout_doc(timeline=[_rollout(**budget)]))
    assert _events(result, "rollout_started") == [(60.0, f"web: revision 1, 10 replicas, {shown}")]
    assert _events(result, "rollout_complete") == [(complete, "web: revision 1 has 10 pods ready")]
    pods = _web(result)
    assert _most(pods["created_s"], pods["deleted_s"]) == most
    ready = [_open_at(pods["running_s"], pods["deleted_s"], t) for t in np.arange(60, 82, 0.5)]
    assert min(ready) == least
    final = pods[pods["state"] == "running"]
    assert len(final) == 10 and final["pod"].str.contains("-r1-").all()


def test_scale_up_during_a_rollout_uses_the_new_replica_count():
    # At 61 s the tier goes to 20: 25 % of 20 is a surge of 5, so up to 25 pods are not
    # terminating; the rollout completes at 65 s with 20 new pods.
    scale = {"at": "61s", "scale_workload": {"workload": "web", "replicas": 20}}
    result = simulator.run(_rollout_doc(timeline=[_rollout(), scale]))
    pods = _web(result)
    assert _most(pods["created_s"], pods["deleted_s"]) == 25
    assert _events(result, "rollout_complete") == [(65.0, "web: revision 1 has 20 pods ready")]
    final = pods[pods["state"] == "running"]
    assert len(final) == 20 and final["pod"].str.contains("-r1-").all()


def test_scale_down_during_a_rollout_shrinks_the_new_pods_too():
    # At 61 s the tier goes to 4 (surge 1, unavailable 1) while 5 new pods start: the new
    # ReplicaSet shrinks to 4 and the old one to the 3 pods that must stay available;
    # once the new pods are ready (62 s) the last old pods go.
    scale = {"at": "61s", "scale_workload": {"workload": "web", "replicas": 4}}
    result = simulator.run(_rollout_doc(timeline=[_rollout(), scale]))
    assert _events(result, "rollout_complete") == [(62.0, "web: revision 1 has 4 pods ready")]
    final = _web(result)[_web(result)["state"] == "running"]
    assert len(final) == 4 and final["pod"].str.contains("-r1-").all()


@pytest.mark.parametrize(
    ("value", "total", "up", "down"),
    [
        ("25%", 10, 3, 2),  # 2.5
        ("25%", 12, 3, 3),  # 3 exactly: no float noise either way
        ("25%", 100, 25, 25),
        ("1%", 10, 1, 0),  # 0.1
        ("33%", 3, 1, 0),  # 0.99
        ("100%", 7, 7, 7),
        ("0%", 10, 0, 0),
        (2, 10, 2, 2),  # counts are taken as they are
        (0, 10, 0, 0),
    ],
)
def test_rollout_budget_rounding(value, total, up, down):
    assert resolve_count(value, total, round_up=True) == up
    assert resolve_count(value, total, round_up=False) == down


@pytest.mark.parametrize(("surge", "unavailable"), [(0, 0), ("0%", 0), (0, "0%"), ("0%", "0.0%")])
def test_rollout_with_both_zero_is_refused(surge, unavailable):
    doc = _rollout_doc(timeline=[_rollout(max_surge=surge, max_unavailable=unavailable)])
    err = _reject(doc)
    assert err.path == "timeline[0].rollout_workload"
    assert "max_surge and max_unavailable cannot both be 0" in err.message


def test_rollout_of_a_job_is_refused():
    doc = _rollout_doc(timeline=[{"at": "1m", "rollout_workload": {"workload": "batch"}}])
    doc["workloads"].append(_job_spec())
    err = _reject(doc)
    assert err.path == "timeline[0].rollout_workload.workload"
    assert "only deployments can be scaled or rolled out" in err.message


# --- ramps and daily profiles ----------------------------------------------------------


def test_ramp_adds_one_pod_every_tenth_of_the_ramp():
    # 0 -> 10 over 100 s from 60 s: one replica more every 100 / 10 = 10 s, the k-th at
    # 60 + 10·k; each runs 2 s later (traditional: an address at once).
    doc = make_scenario(cni="traditional", nodes=1)
    doc["workloads"][0] = {
        "name": "web",
        "cluster": "aks1",
        "ramp": {"from": 0, "to": 10, "over": "100s", "at": "60s"},
    }
    result = simulator.run(doc)
    pods = _web(result)
    assert list(pods["created_s"]) == [60.0 + 10 * k for k in range(1, 11)]
    assert list(pods["running_s"]) == [62.0 + 10 * k for k in range(1, 11)]
    # The first and the last step are logged.
    assert _events(result, "workload_scaled") == [
        (70.0, "web: 0 -> 1 replicas"),
        (160.0, "web: 9 -> 10 replicas"),
    ]


def test_ramp_down_deletes_the_newest_pod_first():
    # 10 -> 0 over 100 s from 60 s; replicas start at the ramp's from (10).
    doc = make_scenario(cni="traditional", nodes=1)
    doc["workloads"][0] = {
        "name": "web",
        "cluster": "aks1",
        "ramp": {"from": 10, "to": 0, "over": "100s", "at": "60s"},
    }
    pods = _web(simulator.run(doc))
    assert list(pods["created_s"]) == [0.0] * 10
    # web-00010 goes at 70 s, web-00001 at 160 s.
    assert list(pods["deleted_s"]) == [170.0 - 10 * k for k in range(1, 11)]


def test_daily_profile_repeats_every_day():
    # 20 replicas from 8h, 5 from 18h, on both days. `replicas: 5` makes midnight match
    # the evening value: the profile alone leaves the default 1 replica until 8h.
    doc = make_scenario(cni="traditional", nodes=1, duration="2d")
    doc["sample_every"] = "10m"
    doc["workloads"][0] = {
        "name": "web",
        "cluster": "aks1",
        "replicas": 5,
        "daily": [{"at": "8h", "replicas": 20}, {"at": "18h", "replicas": 5}],
    }
    result = simulator.run(doc)
    assert _events(result, "workload_scaled") == [
        (8 * 3600.0, "web: 5 -> 20 replicas"),
        (18 * 3600.0, "web: 20 -> 5 replicas"),
        (32 * 3600.0, "web: 5 -> 20 replicas"),
        (42 * 3600.0, "web: 20 -> 5 replicas"),
    ]
    pods = _web(result)
    assert sorted(pods["created_s"].unique()) == [0.0, 8 * 3600.0, 32 * 3600.0]
    assert len(pods) == 5 + 15 + 15
    # The evening scale-downs: 15 pods deleted at 18h and 42h, their addresses back 35 s
    # later (30 s grace + 5 s release).
    assert pods["deleted_s"].value_counts().to_dict() == {18 * 3600.0: 15, 42 * 3600.0: 15}
    node = result.nnc
    assert node[node["time_s"] == 18 * 3600.0 + 35]["assigned_ips"].tolist() == [5]
    assert result.summary["subnets"]["nodesubnet"]["final_assigned"] == 5


# --- jobs ------------------------------------------------------------------------------


def _job_spec(**fields: Any) -> dict[str, Any]:
    spec = {
        "name": "batch",
        "kind": "job",
        "cluster": "aks1",
        "rate": "30/min",
        "lifetime": {"distribution": "fixed", "value": "40s"},
    }
    spec.update(fields)
    return spec


def _job_doc(
    *, cni: str = "traditional", duration: str = "1h", seed: int = 0, **fields: Any
) -> Doc:
    """One node with room for 250 pods and a job; ip_release 3 s."""
    doc = make_scenario(
        cni=cni, nodes=1, max_pods=250, duration=duration, timings={"ip_release": 3}
    )
    doc["seed"] = seed
    doc["workloads"] = [_job_spec(**fields)]
    return doc


def _jobs(result: simulator.Result, name: str = "batch") -> pd.DataFrame:
    return result.pods[result.pods["workload"] == name].reset_index(drop=True)


def test_same_seed_same_pods_other_seed_other_pods():
    doc = _job_doc(duration="20m")
    first, again = simulator.run(doc), simulator.run(copy.deepcopy(doc))
    pd.testing.assert_frame_equal(first.pods, again.pods)
    other = simulator.run(doc, seed=1)
    assert len(_jobs(first)) > 500
    assert not np.array_equal(
        _jobs(first)["created_s"].to_numpy()[:100], _jobs(other)["created_s"].to_numpy()[:100]
    )


def test_arrivals_follow_the_rate():
    # 30/min over 4 h: 7200 arrivals expected, standard deviation √7200 ≈ 85; the seed is
    # fixed, so the count is too. Gaps average 2 s.
    pods = _jobs(simulator.run(_job_doc(duration="4h")))
    assert abs(len(pods) - 7200) < 4 * math.sqrt(7200)
    gaps = np.diff(pods["created_s"].to_numpy())
    assert gaps.min() > 0
    assert gaps.mean() == pytest.approx(2.0, rel=0.05)


def test_fixed_lifetime_jobs_succeed_and_release_their_addresses():
    # One job a minute for 10 min; each runs 40 s once Running, then Succeeded, and its
    # address is free again ip_release (3 s) later: no termination grace for a job.
    result = simulator.run(_job_doc(rate="1/min", stop="10m", duration="20m"))
    pods = _jobs(result)
    assert len(pods) >= 5 and (pods["created_s"] < 600).all()
    assert set(pods["state"]) == {"succeeded"}
    assert (pods["ip_s"] == pods["created_s"]).all()  # traditional: an address at once
    assert (pods["running_s"] - pods["ip_s"]).tolist() == pytest.approx([2.0] * len(pods))
    assert (pods["deleted_s"] - pods["running_s"]).tolist() == pytest.approx([40.0] * len(pods))
    # The node's assigned count falls exactly when each address comes back.
    steps = _steps(result, 0)
    falls = [t for (t, n), (_, before) in zip(steps[1:], steps[:-1], strict=True) if n < before]
    assert falls == sorted(pods["deleted_s"] + 3.0)
    assert result.summary["subnets"]["nodesubnet"]["final_assigned"] == 0


@pytest.mark.parametrize(
    ("lifetime", "median", "mean"),
    [
        ({"distribution": "exponential", "mean": "30s"}, 30 * math.log(2), 30.0),
        # Lognormal: median exp(mu) = 20 s, mean 20·exp(σ²/2) = 20·e^0.125 ≈ 22.66 s.
        ({"distribution": "lognormal", "median": "20s", "sigma": 0.5}, 20.0, 20 * math.exp(0.125)),
    ],
    ids=["exponential", "lognormal"],
)
def test_lifetime_distributions_over_many_draws(lifetime, median, mean):
    # About 3000 jobs in 50 min, all finished by the end of the hour.
    pods = _jobs(simulator.run(_job_doc(rate="1/s", stop="50m", lifetime=lifetime)))
    assert len(pods) > 2800 and set(pods["state"]) == {"succeeded"}
    lives = pods["deleted_s"] - pods["running_s"]
    assert lives.mean() == pytest.approx(mean, rel=0.05)
    assert lives.median() == pytest.approx(median, rel=0.05)


def _empirical_scenario(folder: Path, file: str) -> Path:
    doc = _job_doc(
        rate="6/min",
        duration="30m",
        lifetime={"distribution": "empirical", "file": file, "column": "seconds"},
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "jobs.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _write_lifetimes(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # An empty cell is skipped; the durations are 10, 20 and 30 s.
    path.write_text("job,seconds\na,10\nb,20\nc,\nd,30\n")


@pytest.mark.parametrize("file", ["lifetimes.csv", "data/lifetimes.csv"])
def test_empirical_lifetimes_come_from_a_file_next_to_the_scenario(tmp_path, file):
    _write_lifetimes(tmp_path / file)
    result = simulator.run(_empirical_scenario(tmp_path, file))
    pods = _jobs(result)
    done = pods[pods["state"] == "succeeded"]
    lives = (done["deleted_s"] - done["running_s"]).round(9)
    assert set(lives) == {10.0, 20.0, 30.0}
    assert len(done) > 100


@pytest.mark.parametrize("outside", ["../lifetimes.csv", "absolute"])
def test_empirical_file_outside_the_scenario_folder_is_refused(tmp_path, outside):
    _write_lifetimes(tmp_path / "lifetimes.csv")
    file = str(tmp_path / "lifetimes.csv") if outside == "absolute" else outside
    path = _empirical_scenario(tmp_path / "scenario", file)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.path == "workloads[batch].lifetime.file"
    assert "must be a path inside the scenario's folder" in info.value.message


def test_a_byte_order_mark_before_the_header_is_read(tmp_path):
    """Excel saves "CSV UTF-8" with a byte-order mark: the first column is still found."""
    (tmp_path / "lifetimes.csv").write_bytes(b"\xef\xbb\xbfseconds,job\n10,a\n20,b\n")
    assert read_lifetimes(tmp_path / "lifetimes.csv", "seconds") == [10.0, 20.0]
    scenario = load_scenario(_empirical_scenario(tmp_path, "lifetimes.csv"))
    assert scenario.workloads[-1].lifetime.column == "seconds"


def test_empirical_file_missing_is_refused(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(_empirical_scenario(tmp_path, "nowhere.csv"))
    assert info.value.path == "workloads[batch].lifetime.file"
    assert "no such file next to the scenario" in info.value.message


def test_a_resolved_scenario_with_empirical_lifetimes_loads_again(tmp_path):
    _write_lifetimes(tmp_path / "lifetimes.csv")
    scenario = load_scenario(_empirical_scenario(tmp_path, "lifetimes.csv"))
    assert load_scenario(scenario) == scenario


def test_stop_ends_arrivals_and_start_delays_them():
    # Arrival times are a running sum of gaps from `start`: `stop` cuts the same sequence
    # short, and a later `start` shifts it whole.
    base = _jobs(simulator.run(_job_doc(duration="20m")))["created_s"].to_numpy()
    stopped = _jobs(simulator.run(_job_doc(duration="20m", stop="10m")))["created_s"].to_numpy()
    assert stopped.max() < 600 < base.max()
    assert np.array_equal(stopped, base[base < 600])
    late = _jobs(simulator.run(_job_doc(duration="25m", start="5m")))["created_s"].to_numpy()
    assert late.min() > 300
    assert late[: len(base)] == pytest.approx(base + 300)


def test_common_random_numbers_across_variants():
    # The job draws from streams named after it: another workload, another CNI mode or
    # another pod subnet leaves its arrivals and lifetimes as they were.
    exponential = {"distribution": "exponential", "mean": "1m"}
    doc = _job_doc(duration="30m", lifetime=exponential)
    variant = _job_doc(cni="dynamic", duration="30m", lifetime=exponential)
    variant["workloads"] += [
        {"name": "web", "cluster": "aks1", "replicas": 7},
        _job_spec(name="other", rate="10/min"),
    ]
    base, other = _jobs(simulator.run(doc)), _jobs(simulator.run(variant))
    assert np.array_equal(base["created_s"].to_numpy(), other["created_s"].to_numpy())
    assert list(base["pod"]) == list(other["pod"])
    # Dynamic pods wait for addresses, so they start later; they run as long.
    assert (other["running_s"] > base["running_s"]).any()
    both = base["state"].eq("succeeded").to_numpy() & other["state"].eq("succeeded").to_numpy()
    lives = (base["deleted_s"] - base["running_s"]).to_numpy()[both]
    assert (other["deleted_s"] - other["running_s"]).to_numpy()[both] == pytest.approx(lives)
    assert both.sum() > 700


# --- daemonsets --------------------------------------------------------------------------


def _daemon_doc() -> Doc:
    """Pools user (2 nodes, a third from 60 s, Ready at 240 s) and gpu (1 node)."""
    doc = make_scenario(
        nodes=2,
        max_pods=30,
        timeline=[
            {"at": "1m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 3}}
        ],
    )
    doc["clusters"][0]["node_pools"].append(
        {"name": "gpu", "count": 1, "max_pods": 30, "node_subnet": "nodesubnet"}
    )
    doc["workloads"] = [
        {"name": "proxy", "kind": "daemonset", "cluster": "aks1", "host_network": True},
        {"name": "logs", "kind": "daemonset", "cluster": "aks1", "node_pools": ["user"]},
    ]
    return doc


def test_daemonset_runs_one_pod_per_node_of_its_pools():
    result = simulator.run(_daemon_doc())
    nodes = result.nodes.set_index("node")["node_pool"]
    for name, pools, count in (("proxy", {"user", "gpu"}, 4), ("logs", {"user"}, 3)):
        pods = result.pods[result.pods["workload"] == name]
        assert len(pods) == count and pods["node"].is_unique
        assert set(nodes[pods["node"]]) == pools
        assert list(pods["pod"]) == [f"{name}-{node}" for node in pods["node"]]
    # The node added by the scale-up is Ready at 60 + 180 s and gets its pods then.
    late = result.nodes[result.nodes["ready_s"] == 240.0]["node"].tolist()
    assert len(late) == 1
    new = result.pods[result.pods["node"] == late[0]]
    assert sorted(new["workload"]) == ["logs", "proxy"]
    assert set(new["created_s"]) == {240.0}


def test_host_network_pods_take_no_address():
    result = simulator.run(_daemon_doc())
    proxy = result.pods[result.pods["workload"] == "proxy"]
    logs = result.pods[result.pods["workload"] == "logs"]
    assert (proxy["ip"] == "").all() and (logs["ip"] != "").all()
    # No address to wait for: Running pod_start (2 s) after binding.
    assert (proxy["running_s"] - proxy["scheduled_s"] == 2.0).all()
    last = result.nnc.groupby("node").tail(1).set_index("node")["assigned_ips"]
    per_node = logs.groupby("node").size().reindex(last.index, fill_value=0)
    assert last.to_dict() == per_node.to_dict()
    assert result.summary["subnets"]["podsubnet"]["final_assigned"] == 3


def test_host_network_pods_take_a_max_pods_slot():
    # max pods 30: the hostNetwork daemon pod leaves room for 29 web pods; the 30th waits.
    doc = make_scenario(nodes=1, max_pods=30, replicas=30)
    doc["workloads"].append(
        {"name": "proxy", "kind": "daemonset", "cluster": "aks1", "host_network": True}
    )
    result = simulator.run(doc)
    web = _web(result)
    assert web["state"].value_counts().to_dict() == {"running": 29, "pending": 1}
    assert result.nodes.iloc[0]["peak_pods"] == 30
    assert result.nnc.iloc[-1]["assigned_ips"] == 29
    assert result.summary["subnets"]["podsubnet"]["final_assigned"] == 29


# --- resources and scheduling ------------------------------------------------------------


def _resource_doc(
    *,
    nodes: int = 2,
    replicas: int = 10,
    pool: dict[str, Any] | None = None,
    requests: dict[str, Any] | None = None,
) -> Doc:
    doc = make_scenario(cni="traditional", nodes=nodes, replicas=replicas)
    doc["clusters"][0]["node_pools"][0].update(pool or {})
    if requests is not None:
        doc["workloads"][0]["requests"] = requests
    return doc


def _per_node(result: simulator.Result) -> list[int]:
    """Running web pods on each node, in node order (0 for an empty node)."""
    running = _web(result)[_web(result)["state"] == "running"]
    counts = running.groupby("node").size()
    return [int(counts.get(node, 0)) for node in result.nodes["node"]]


def test_cpu_requests_limit_pods_per_node_below_max_pods():
    # 2 cores allocatable / 500m = 4 pods per node although max pods is 30: 8 run.
    doc = _resource_doc(
        pool={"allocatable": {"cpu": 2, "memory": "4Gi"}},
        requests={"cpu": "500m", "memory": "256Mi"},
    )
    result = simulator.run(doc)
    assert _per_node(result) == [4, 4]
    assert _web(result)["state"].value_counts().to_dict() == {"running": 8, "pending": 2}
    assert result.summary["pods"]["pending_at_end"] == 2


def test_vm_size_allocatable():
    # Standard_D4s_v5, 4 vCPU and 16 GiB: 4000m - 140m kube-reserved = 3860m; memory
    # 16384Mi - (25 % of 4 GiB + 20 % of 4 GiB + 10 % of 8 GiB = 2662.4Mi) - 750Mi
    # eviction threshold = 12971.6Mi, 12971Mi whole.
    assert allocatable_for("Standard_D4s_v5") == (3860, 12971)
    doc = _resource_doc(pool={"vm_size": "Standard_D4s_v5"}, requests={"cpu": "4"})
    err = _reject(doc)
    assert err.path == "workloads[web].requests"
    assert "(user: 3860m CPU, 12971Mi allocatable)" in err.message


@pytest.mark.parametrize(
    ("requests", "per_node"),
    [
        ({"cpu": "965m"}, 4),  # 4 × 965 = 3860, exactly the allocatable CPU
        ({"cpu": "966m"}, 3),
        ({"memory": "3242Mi"}, 4),  # 4 × 3242 = 12968 ≤ 12971
        ({"memory": "3243Mi"}, 3),  # 4 × 3243 = 12972
    ],
)
def test_vm_size_allocatable_bounds_scheduling(requests, per_node):
    doc = _resource_doc(nodes=1, pool={"vm_size": "Standard_D4s_v5"}, requests=requests)
    assert _per_node(simulator.run(doc)) == [per_node]


def test_unknown_vm_size_suggests_a_close_one():
    err = _reject(_resource_doc(pool={"vm_size": "Standard_D4s_v6"}))
    assert err.path == "clusters[aks1].node_pools[user].vm_size"
    assert "did you mean 'Standard_D4s_v5'?" in err.message


@pytest.mark.parametrize(
    ("scheduling", "requests", "expected"),
    [
        ("spread", None, [2, 2, 2]),
        # Binpack: the fullest node that fits; by pod count, all 6 on the oldest node.
        ("binpack", None, [6, 0, 0]),
        ("spread", {"cpu": "500m"}, [2, 2, 2]),
        # By CPU: 4 × 500m fill the oldest node's 2 cores, the other 2 go to the next.
        ("binpack", {"cpu": "500m"}, [4, 2, 0]),
    ],
)
def test_spread_and_binpack(scheduling, requests, expected):
    doc = _resource_doc(nodes=3, replicas=6, requests=requests)
    doc["clusters"][0]["scheduling"] = scheduling
    if requests is not None:
        doc["clusters"][0]["node_pools"][0]["allocatable"] = {"cpu": 2, "memory": "4Gi"}
    assert _per_node(simulator.run(doc)) == expected


# --- bad input ---------------------------------------------------------------------------


def _add_job(doc: Doc, **fields: Any) -> None:
    spec = _job_spec(**fields)
    doc["workloads"].append({k: v for k, v in spec.items() if v is not None})


def _set_web(doc: Doc, **fields: Any) -> None:
    doc["workloads"][0].update(fields)


BAD_INPUT = [
    (lambda d: _add_job(d, rate=None), "workloads[batch].rate", "a job needs a rate"),
    (lambda d: _add_job(d, lifetime=None), "workloads[batch].lifetime", "and a lifetime"),
    (lambda d: _add_job(d, replicas=3), "workloads[batch].replicas",
     "applies to kind deployment, not job"),
    (lambda d: _set_web(d, rate="1/s"), "workloads[web].rate",
     "applies to kind job, not deployment"),
    (lambda d: _set_web(d, node_pools=["user"]), "workloads[web].node_pools",
     "applies to kind daemonset or trace, not deployment"),
    (lambda d: _set_web(d, ramp={"from": 0, "to": 5, "over": "1m"},
                        daily=[{"at": "8h", "replicas": 2}]),
     "workloads[web].daily", "either ramp or daily, not both"),
    (lambda d: _set_web(d, daily=[{"at": "18h", "replicas": 2}, {"at": "8h", "replicas": 3}]),
     "workloads[web].daily", "increasing time of day"),
    (lambda d: _set_web(d, daily=[{"at": "8h", "replicas": 2}, {"at": "8h", "replicas": 3}]),
     "workloads[web].daily", "each time once"),
    (lambda d: _set_web(d, daily=[{"at": "24h", "replicas": 2}]), "workloads[web].daily[0].at",
     "less than 86400"),
    (lambda d: _add_job(d, rate="3 per minute"), "workloads[batch].rate",
     "must be a rate such as 2/s"),
    (lambda d: _add_job(d, rate=0), "workloads[batch].rate", "must be a positive rate"),
    (lambda d: _add_job(d, start="10m", stop="5m"), "workloads[batch].stop", "must be after start"),
    (lambda d: _set_web(d, requests={"cpu": "two"}), "workloads[web].requests.cpu",
     "must be CPU such as 250m"),
    (lambda d: _set_web(d, requests={"memory": "512"}), "workloads[web].requests.memory",
     "must be memory with a unit"),
    (lambda d: _set_web(d, requests={"memory": 512}), "workloads[web].requests.memory",
     "must be memory with a unit"),
    (lambda d: d["timeline"].append(_rollout(max_surge="150%")),
     "timeline[0].rollout_workload.max_surge", "a percentage must be at most 100%"),
    (lambda d: d["timeline"].append(_rollout(max_unavailable=-1)),
     "timeline[0].rollout_workload.max_unavailable", "must not be negative"),
]  # fmt: skip
BAD_IDS = [
    "job-without-rate", "job-without-lifetime", "replicas-on-a-job", "rate-on-a-deployment",
    "node-pools-on-a-deployment", "ramp-and-daily", "daily-out-of-order", "daily-twice",
    "daily-at-24h", "rate-in-words", "rate-zero", "stop-before-start", "cpu-in-words",
    "memory-string-without-unit", "memory-number", "surge-above-100", "negative-unavailable",
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "path", "words"), BAD_INPUT, ids=BAD_IDS)
def test_bad_workload_input_names_the_field(mutate, path, words):
    doc = make_scenario(cni="traditional", nodes=1, replicas=1)
    mutate(doc)
    err = _reject(doc)
    assert err.path == path
    assert words in err.message
    assert str(err).startswith(f"{path}: ")


# --- the shipped scenario ----------------------------------------------------------------


def test_rolling_update_spike_scenario():
    summary = simulator.run(SCENARIOS / "rolling-update-spike.yaml").summary
    pod = summary["subnets"]["podsubnet"]
    # Steady state: 100 web + 4 × 4 system pods; during the rollout the 100 old pods
    # still hold their addresses while the 100 new ones take theirs: 100 more.
    assert (pod["final_assigned"], pod["peak_assigned"]) == (116, 216)
    # One extra batch of 16 on each of the 4 nodes: 4 × (48 + 1) -> 4 × (64 + 1).
    assert (pod["final_allocated"], pod["peak_allocated"]) == (196, 260)
