"""Capacity planning: calc, compare, plan, sweep, replicas, the capacity chart, executors."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import simulator
from simulator.core.addressing import smallest_prefix
from simulator.core.capacity import calculate, largest_fit
from simulator.core.modes import dynamic_holding
from simulator.experiments.compare import compare
from simulator.experiments.executors import LocalExecutor
from simulator.experiments.plan import plan
from simulator.experiments.runs import RunSpec, replica_seeds, run_spec
from simulator.experiments.sweep import sweep
from simulator.scenario.loader import load_scenario
from simulator.scenario.variants import SetError, parse_settings, set_key

from conftest import make_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def ipsim(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def _write(tmp_path, doc, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --- calc -------------------------------------------------------------------------------


def test_calc_reproduces_the_docs_traditional_examples():
    (node,) = calculate("traditional", 50, 30, surge=1)
    assert (node.addresses, node.prefix) == (1581, 21)
    (node,) = calculate("traditional", 60, 30, surge=1)
    assert (node.addresses, node.prefix) == (1891, 21)
    assert largest_fit("traditional", 24, 30, 30)[:2] == (8, 240)


def test_calc_dynamic_and_static_block():
    node, pod = calculate("dynamic", 10, 250, pods_per_node=20)
    # 16 · ceil(0.5 + 20/16) + 1 = 33 per node.
    assert (node.addresses, pod.addresses) == (10, 330)
    assert pod.prefix == 23 and "idle band 80..240" in pod.note
    assert dynamic_holding(25, 30) == 31  # capped at max pods + 1
    node, pod = calculate("static-block", 10, 30)
    assert pod.addresses == 10 * 2 * 16  # ceil(31/16) = 2 blocks of /28 per node
    assert smallest_prefix(251) == 24 and smallest_prefix(252) == 23


def test_calc_cli_prints_and_emits_json():
    done = ipsim("calc", "--cni", "traditional", "--nodes", 50, "--max-pods", 30, "--surge", 1)
    assert done.returncode == 0, done.stderr
    assert "node subnet: 1,581 addresses -> /21 (2,043 usable)" in done.stdout
    done = ipsim(
        "calc", "--cni", "dynamic", "--nodes", 3, "--max-pods", 250, "--pods-per-node", 20, "--json"
    )
    data = json.loads(done.stdout)
    assert [s["addresses"] for s in data["subnets"]] == [3, 99]


def test_a_settled_simulation_lands_on_the_calculated_numbers():
    for pods_per_node in (5, 20, 40):
        result = simulator.run(make_scenario(nodes=4, replicas=4 * pods_per_node, grace=0))
        _, pod = calculate("dynamic", 4, 250, pods_per_node=pods_per_node)
        assert result.summary["subnets"]["podsubnet"]["final_allocated"] == pod.addresses


def test_capacity_chart_spot_checked_by_simulation(tmp_path):
    done = ipsim(
        "chart",
        "capacity",
        "--max-pods",
        30,
        "--pods-per-node",
        30,
        "--prefix-range",
        "26-24",
        "-o",
        tmp_path / "cap",
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "cap" / "capacity.csv")
    row = table[(table["mode"] == "traditional") & (table["prefix"] == 24)].iloc[0]
    assert (row["nodes"], row["pods"]) == (8, 240)
    assert (tmp_path / "cap" / "capacity.png").exists()
    # The simulation agrees: a /24 holds 8 traditional nodes and not a 9th (the scale
    # set then creates none of the 9).
    for nodes, created in ((8, 8), (9, 0)):
        doc = make_scenario(cni="traditional", nodes=nodes, node_cidr="10.240.0.0/24")
        doc["preflight_checks"] = False
        assert simulator.run(doc).summary["nodes"]["created"] == created


# --- variants ---------------------------------------------------------------------------


def test_set_keys_by_index_and_by_name():
    doc = make_scenario()
    set_key(doc, "clusters[0].node_pools[0].max_pods", 30)
    set_key(doc, "clusters[aks1].node_pools[user].count", 4)
    pool = doc["clusters"][0]["node_pools"][0]
    assert (pool["max_pods"], pool["count"]) == (30, 4)
    with pytest.raises(SetError, match="no item named 'nope'"):
        set_key(doc, "clusters[nope].node_pools[0].count", 1)
    assert parse_settings(["a.b=1,2m,true"]) == [("a.b", [1, "2m", True])]
    with pytest.raises(SetError):
        parse_settings(["novalue"])


# --- compare ----------------------------------------------------------------------------


def _jobs_scenario(tmp_path):
    doc = make_scenario(nodes=2, replicas=10)
    doc["workloads"].append(
        {
            "name": "etl",
            "kind": "job",
            "cluster": "aks1",
            "rate": "12/min",
            "lifetime": {"distribution": "exponential", "mean": "2m"},
        }
    )
    return _write(tmp_path, doc)


def test_compare_replays_the_same_pods_in_every_variant(tmp_path):
    path = _jobs_scenario(tmp_path)
    document = yaml.safe_load(path.read_text())
    arrivals = []
    for cni in ("traditional", "dynamic"):
        from simulator.scenario.variants import apply_settings

        doc = apply_settings(document, {}, cni)
        pods = run_spec(RunSpec(doc, 5, str(tmp_path), keep_frames=True)).pods
        jobs = pods[pods["pod"].str.startswith("etl-")]
        arrivals.append(jobs[["pod", "created_s"]].reset_index(drop=True))
    assert len(arrivals[0]) > 50
    pd.testing.assert_frame_equal(arrivals[0], arrivals[1])


def test_compare_table_and_chart(tmp_path):
    path = _write(tmp_path, make_scenario(nodes=3, replicas=60))
    result = compare(path, cnis=["traditional", "dynamic"])
    table = result.table.set_index(["variant", "subnet"])
    # Traditional: 3 × (1 + 30) in the node subnet; dynamic: 3 × 33 in the pod subnet.
    assert table.loc[("traditional", "nodesubnet"), "peak_allocated"] == 93
    assert table.loc[("dynamic", "podsubnet"), "peak_allocated"] == 99
    assert table.loc[("dynamic", "nodesubnet"), "peak_allocated"] == 3
    # One number per variant: every VNet subnet together.
    assert list(result.variants["vnet_peak_addresses"]) == [93, 102]
    out = result.save(tmp_path / "cmp")
    assert {p.name for p in out.iterdir()} == {
        "comparison.csv",
        "runs.csv",
        "comparison.png",
        ".ipsim-results.json",
        "variants.csv",
        "consumption.png",
    }


def test_compare_cli_with_set_and_replicas(tmp_path):
    path = _jobs_scenario(tmp_path)
    done = ipsim(
        "compare",
        path,
        "--cni",
        "dynamic",
        "--set",
        "clusters[0].ipam.batch_size=8,16",
        "--replicas",
        2,
        "-j",
        1,
        "-o",
        tmp_path / "c",
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "c" / "comparison.csv")
    # Only what varies names a variant: the CNI is the same in both.
    assert set(table["variant"]) == {"batch_size=8", "batch_size=16"}
    assert set(table["replicas"]) == {2}
    runs = pd.read_csv(tmp_path / "c" / "runs.csv")
    assert len(set(runs["seed"])) == 2  # the same two seeds in every variant
    again = ipsim("compare", path, "--cni", "dynamic", "-o", tmp_path / "c")
    assert again.returncode == 2 and "use --force" in again.stderr


def test_compare_refuses_dynamic_without_a_pod_subnet(tmp_path):
    path = _write(tmp_path, make_scenario(cni="traditional"))
    done = ipsim("compare", path, "--cni", "dynamic", "-o", tmp_path / "x")
    assert done.returncode == 2
    assert "--cni dynamic: clusters[0] has no pod subnet" in done.stderr


# --- plan -------------------------------------------------------------------------------


def test_plan_finds_the_smallest_pod_subnet(tmp_path):
    # 3 nodes with 20 pods settle at 3 × 33 = 99 addresses: a /25 (123 usable) passes;
    # a /26 (59) holds the first batches (3 × 17 = 51) but not the second ones, so 4 pods
    # on each node wait for an address: the run stops when the first has waited 60 s.
    doc = make_scenario(nodes=3, replicas=60, pod_cidr="10.241.0.0/22")
    totals, ticks = [], []
    result = plan(
        _write(tmp_path, doc), subnets=["podsubnet"], progress=ticks.append, on_total=totals.append
    )
    (answer,) = result.subnets
    assert answer.best == "10.241.0.0/25" and answer.usable == 123
    assert answer.peak_allocated == 99
    assert answer.first_failing == "10.241.0.0/26"
    assert answer.failure == "12 pods waited longer than 60 s for an address"
    # With room to spare (a /16) the peak is 99; 25 % more needs 124: a /24.
    assert (answer.peak_with_room, answer.recommended) == (99, "10.241.0.0/24")
    # The room-to-spare run, then the bracket: /25 (holds the peak) and /26.
    assert result.runs == 3 == sum(ticks)
    assert totals[0] >= result.runs and totals[-1] == result.runs
    table = result.table.set_index("prefix")
    assert list(table.index) == [16, 25, 26]
    assert table.at[26, "verdict"] == "FAIL" and table.at[26, "stopped_at_s"] < 600
    assert pd.isna(table.at[25, "stopped_at_s"])
    out = result.save(tmp_path / "plan")
    assert (out / "plan.png").exists() and "smallest passing" in (out / "plan.txt").read_text()
    assert "recommended 10.241.0.0/24" in (out / "plan.txt").read_text()


def test_plan_uses_the_scenario_checks(tmp_path):
    doc = make_scenario(nodes=3, replicas=60, pod_cidr="10.241.0.0/22")
    # Waiting is allowed: the /26 passes, the /27 (27 usable) cannot give a second
    # node its first batch (17 each).
    doc["checks"] = {"max_ip_wait": None, "max_pods_left_waiting": None}
    (answer,) = plan(_write(tmp_path, doc), subnets=["podsubnet"]).subnets
    assert answer.best == "10.241.0.0/26" and answer.first_failing == "10.241.0.0/27"
    assert answer.failure == (
        "1 node failed to get addresses (1 node refused a first batch of pod addresses)"
    )
    # --checks over the scenario's: back to the default wait limit.
    (answer,) = plan(
        _write(tmp_path, doc), subnets=["podsubnet"], checks={"max_ip_wait": 60}
    ).subnets
    assert answer.best == "10.241.0.0/25"


def test_plan_interrupted_keeps_finished_runs_and_the_answer_so_far(tmp_path, monkeypatch):
    from simulator.experiments import plan as planning
    from simulator.experiments.executors import RunsInterrupted

    real = planning.run_all
    calls = []

    def run_all(specs, executor, progress=None):
        calls.append(len(specs))
        if len(calls) == 2:  # Ctrl-C during the bracket: one of its runs had finished
            done = real(specs[:1], executor, progress)
            raise RunsInterrupted(done + [None] * (len(specs) - 1))
        return real(specs, executor, progress)

    monkeypatch.setattr(planning, "run_all", run_all)
    doc = make_scenario(nodes=3, replicas=60, pod_cidr="10.241.0.0/22")
    result = plan(_write(tmp_path, doc), subnets=["podsubnet"])
    assert result.interrupted and result.runs == 2
    (answer,) = result.subnets
    assert answer.best == "10.241.0.0/25"  # the largest known to pass
    assert answer.first_failing is None and "interrupted" in answer.note
    out = result.save(tmp_path / "p")
    assert len(pd.read_csv(out / "plan.csv")) == 2
    assert "interrupted: the answer so far" in (out / "plan.txt").read_text()


def test_plan_cli_prints_the_answer_so_far_on_ctrl_c(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from simulator.cli import cli
    from simulator.experiments import plan as planning

    real = planning.run_all
    calls = []

    def run_all(specs, executor, progress=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(specs, executor, progress)

    monkeypatch.setattr(planning, "run_all", run_all)
    path = _write(tmp_path, make_scenario(nodes=3, replicas=60, pod_cidr="10.241.0.0/22"))
    done = CliRunner().invoke(cli, ["plan", str(path), "--subnet", "podsubnet", "-j", "1",
                                    "-o", str(tmp_path / "p")])  # fmt: skip
    assert done.exit_code == 130, done.output
    assert "podsubnet: smallest passing 10.241.0.0/16" in done.output
    assert "interrupted: the answer so far; 1 runs written to" in done.output
    assert (tmp_path / "p" / "plan.csv").exists()


def test_plan_cli_unknown_subnet_is_one_line(tmp_path):
    path = _write(tmp_path, make_scenario())
    done = ipsim("plan", path, "--subnet", "podsubnett", "-o", tmp_path / "p")
    assert done.returncode == 2
    assert "did you mean 'podsubnet'?" in done.stderr


# --- sweep and executors ------------------------------------------------------------------


def test_sweep_rows_and_failed_runs(tmp_path):
    path = _write(tmp_path, make_scenario(nodes=2, replicas=30))
    result = sweep(
        path,
        parse_settings(["clusters[0].node_pools[0].max_pods=30,110,5"]),
        replicas=2,
    )
    table = result.table
    assert len(table) == 6
    bad = table[table["set:clusters[0].node_pools[0].max_pods"] == 5]
    assert bad["error"].str.contains("max_pods").all()
    good = table[table["error"].isna()]
    # max pods 30 caps each node at 30 + 1; max pods 110 lets it hold 32 + 1.
    assert set(good["podsubnet.peak_allocated"]) == {2 * 31, 2 * 33}
    out = result.save(tmp_path / "sw")
    assert (out / "sweep.csv").exists() and (out / "sweep.png").exists()


def test_local_processes_give_the_same_rows_as_one_process(tmp_path):
    path = _jobs_scenario(tmp_path)
    settings = parse_settings(["clusters[0].ipam.batch_size=8,16"])
    one = sweep(path, settings, replicas=2, executor=LocalExecutor(1)).table
    executor = LocalExecutor(2)
    try:
        two = sweep(path, settings, replicas=2, executor=executor).table
    finally:
        executor.close()
    pd.testing.assert_frame_equal(one, two)


def test_dask_cluster_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = _jobs_scenario(tmp_path)
    settings = parse_settings(["clusters[0].ipam.batch_size=8,16"])
    local = sweep(path, settings, replicas=2).table
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        from simulator.experiments.executors import DaskExecutor

        executor = DaskExecutor(cluster.scheduler_address)
        try:
            remote = sweep(path, settings, replicas=2, executor=executor).table
        finally:
            executor.close()
    pd.testing.assert_frame_equal(local, remote)


def test_replica_seeds_are_spawned_and_stable():
    seeds = replica_seeds(7, 4)
    assert seeds == replica_seeds(7, 4) and len(set(seeds)) == 4
    assert replica_seeds(8, 4) != seeds


def test_run_with_replicas_writes_each_and_the_spread(tmp_path):
    path = _jobs_scenario(tmp_path)
    done = ipsim("run", path, "--replicas", 3, "-j", 1, "-o", tmp_path / "r")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "r"
    assert {p.name for p in out.iterdir()} >= {
        "replica-000",
        "replica-001",
        "replica-002",
        "replicas.csv",
        "summary.json",
        "utilization.png",
    }
    summary = json.loads((out / "summary.json").read_text())
    spread = summary["spread"]["pods.created"]
    assert spread["min"] <= spread["median"] <= spread["max"]
    assert spread["min"] < spread["max"]  # Poisson arrivals differ between replicas


def test_variants_set_keys_before_switching_the_cni():
    """A key that only some modes take is set once for all variants; the others drop it."""
    from simulator.scenario.variants import apply_settings

    doc = make_scenario(nodes=2)  # dynamic, with a pod subnet
    settings = {"clusters[0].pod_cidr": "100.64.0.0/16"}
    overlay = load_scenario(apply_settings(doc, settings, "overlay"))
    assert overlay.clusters[0].pod_cidr == "100.64.0.0/16"
    assert overlay.clusters[0].node_pools[0].pod_subnet is None
    dynamic = load_scenario(apply_settings(doc, settings, "dynamic"))
    assert (dynamic.clusters[0].pod_cidr, dynamic.clusters[0].pod_subnet) == (None, "podsubnet")
    kubenet = load_scenario(apply_settings(doc, {}, "kubenet"))  # the default pod CIDR
    assert kubenet.clusters[0].pod_cidr == "10.244.0.0/16"
    # A traditional scenario gets a pod subnet for its dynamic variant the same way.
    traditional = make_scenario(cni="traditional")
    traditional["network"]["vnets"][0]["subnets"].append({"name": "pods", "cidr": "10.241.0.0/16"})
    moved = apply_settings(traditional, {"clusters[0].pod_subnet": "pods"}, "static-block")
    assert load_scenario(moved).clusters[0].node_pools[0].pod_ip_allocation == "static-block"


def test_calc_and_capacity_for_the_five_modes(tmp_path):
    """Each mode's documented examples through calc and chart capacity."""
    from click.testing import CliRunner

    from simulator.cli import cli

    def ipsim(*args):  # in process: the command line itself, without a new interpreter
        done = CliRunner().invoke(cli, [str(a) for a in args], prog_name="ipsim")
        done.returncode = done.exit_code
        return done

    # Static block, the docs' table: 30 -> 2 blocks, 31 -> 2, 32 -> 3 (/28s of 16).
    for max_pods, blocks in ((30, 2), (31, 2), (32, 3)):
        _, pod = calculate("static-block", 1, max_pods)
        assert (pod.blocks, pod.addresses) == (blocks, 16 * blocks)
    # Overlay: the default /16 pod CIDR holds 256 nodes' /24s; 257 need a /15.
    _, cidr = calculate("overlay", 256, 250)
    assert (cidr.addresses, cidr.blocks, cidr.prefix, cidr.usable) == (65536, 256, 16, 65536)
    assert calculate("overlay", 257, 250)[1].prefix == 15
    done = ipsim("calc", "--cni", "overlay", "--nodes", 256, "--max-pods", 250)
    assert "pod CIDR: 65,536 addresses (256 /24s) -> /16 (65,536 addresses)" in done.stdout
    # Kubenet's 400 nodes (its route table) and Overlay's 5,000 per cluster.
    done = ipsim("calc", "--cni", "kubenet", "--nodes", 400, "--max-pods", 110, "--surge", 1)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --nodes: 400 + surge 1 nodes; a kubenet cluster (an Azure route table holds "
        "400 routes) holds at most 400"
    )
    assert ipsim("calc", "--cni", "overlay", "--nodes", 5000, "--max-pods", 250).returncode == 0
    done = ipsim(
        "chart", "capacity", "--max-pods", 110, "--pods-per-node", 110,
        "--prefix-range", "24-15", "--pod-cidr-prefix", 15, "-o", tmp_path / "cap",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "cap" / "capacity.csv").set_index(["mode", "prefix"])
    # A /24 node subnet: 251 kubenet nodes (27,610 pods at 110); from a /23 on, the
    # kubenet cluster stops at 400 nodes and Overlay at the /15 pod CIDR's 512 /24s.
    assert tuple(table.loc[("kubenet", 24), ["nodes", "pods"]]) == (251, 27610)
    assert tuple(table.loc[("kubenet", 22), ["nodes", "limit"]]) == (400, "400 nodes per cluster")
    assert tuple(table.loc[("overlay", 22), ["nodes", "limit"]]) == (512, "pod CIDR /15")
    assert tuple(table.loc[("static-block", 24), ["subnet", "nodes"]]) == ("pod", 2)  # 14 // 7
    assert table.loc[("traditional", 24), "nodes"] == 2  # 251 // 111
