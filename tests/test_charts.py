"""Charts that show the harm: what each chart draws, read back from its figure."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.charts.planning import plot_capacity, plot_comparison, plot_plan, plot_sweep
from simulator.charts.run import plot_nnc, plot_utilization
from simulator.experiments.capacity_table import capacity_table
from simulator.experiments.compare import compare
from simulator.experiments.sweep import sweep
from simulator.results.node_chart import pool_thresholds
from simulator.results.pod_series import pods_over_time
from simulator.scenario.variants import parse_settings

from conftest import make_scenario


def test_no_backend_is_chosen_at_import():
    code = (
        "import matplotlib, simulator.charts.run, simulator.charts.planning, simulator.cli;"
        "print(matplotlib.rcParams._get_backend_or_none())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "None", done.stderr


@pytest.fixture(scope="module")
def harmed():
    # A /26 pod subnet for 3 nodes and 70 pods: second batches refused, pods waiting.
    doc = make_scenario(nodes=3, replicas=60, pod_cidr="10.241.0.0/26")
    doc["timeline"] = [{"at": "2m", "scale_workload": {"workload": "web", "replicas": 70}}]
    return simulator.run(doc)


def test_pods_over_time_matches_counting_pod_by_pod(harmed):
    pods = harmed.pods
    end = harmed.summary["duration_s"]
    grid = harmed.subnets["time_s"].drop_duplicates().to_numpy()
    series = pods_over_time(pods, grid, end)
    # Pod by pod, at every instant anything changed: the most waiting in each interval.
    start = pods["scheduled_s"].to_numpy()
    stop = start + pods["ip_wait_s"].to_numpy()
    stop = np.where(stop >= end, np.inf, stop)
    instants = np.unique(np.concatenate([grid, start[~np.isnan(start)], stop[np.isfinite(stop)]]))
    counts = np.array([int(((start <= t) & (t < stop)).sum()) for t in instants])
    for i, t in enumerate(grid):
        upper = grid[i + 1] if i + 1 < len(grid) else np.inf
        inside = (instants >= t) & (instants < upper) if i + 1 < len(grid) else instants == t
        assert series["waiting"].iloc[i] == counts[inside].max()
    assert series.attrs["most_waiting"] == counts.max() > 0
    assert series["waiting"].iloc[-1] == harmed.summary["pods"]["waiting_for_ip_at_end"]


def test_utilization_shows_the_harm(harmed, tmp_path):
    fig = plot_utilization(harmed.subnets, harmed.events, "t", tmp_path / "u.png",
                           pods=harmed.pods_over_time(), verdict=harmed.summary)  # fmt: skip
    node_ax, pod_ax, pods_ax = fig.axes
    assert fig._suptitle.get_text().startswith("t: FAIL\n• ")
    # The node subnet has no pod addresses: no always-zero line; its capacity is far
    # above the data and the chart says how far.
    assert "assigned to pods" not in [line.get_label() for line in node_ax.get_lines()]
    assert any("above the top" in text.get_text() for text in node_ax.texts)
    # The small pod subnet is drawn whole, with its headroom and the refusals marked.
    labels = pod_ax.get_legend_handles_labels()[1]
    assert {"assigned to pods", "headroom (free)", "refused"} <= set(labels)
    assert "usable capacity 59" in labels and pod_ax.get_ylim()[1] > 59
    assert "action (scale, rollout, upgrade, node pool)" in labels
    # The harm panel, with whole-number ticks; every legend right of its axes.
    assert pods_ax.get_title(loc="left").startswith("pods waiting for an address (at most")
    for ax in fig.axes:
        ticks = ax.get_yticks()
        assert np.allclose(ticks, np.round(ticks))
        legend = ax.get_legend()
        assert legend is not None and legend.get_bbox_to_anchor().x0 > ax.bbox.x1 - 1


def test_nnc_chart_shows_the_thresholds_without_squashing_the_data(harmed, tmp_path):
    node = harmed.nodes["node"].iloc[0]
    rows = harmed.nnc[harmed.nnc["node"] == node]
    cluster = harmed.scenario.to_document()["clusters"][0]
    assert pool_thresholds(cluster, 250) == (8, 24)  # batch 16: 50 % and 150 %
    fig = plot_nnc(rows, node, 600, tmp_path / "n.png", thresholds=(8, 24))
    (ax,) = fig.axes
    labels = ax.get_legend_handles_labels()[1]
    assert "scale up when assigned is above (requested − 8)" in labels
    assert "release when assigned is at most (requested − 24)" in labels
    assert ax.get_ylim()[1] < 100  # max IPs 250 is not drawn over the data
    assert any(t.get_text() == "max IPs 250: above the chart" for t in ax.texts)
    assert pool_thresholds({**cluster, "cni": "traditional"}, 30) is None


def test_plan_chart_is_logarithmic_and_marks_the_answer(tmp_path):
    table = pd.DataFrame(
        {"subnet": "pods", "prefix": [16, 25, 26], "usable": [65531, 123, 59],
         "passed": [True, True, False], "peak_allocated": [99, 99, 51],
         "stopped_at_s": [None, None, 65.0]}
    )  # fmt: skip
    answer = pd.DataFrame([{"subnet": "pods", "original": "10.0.0.0/22", "best": "10.0.0.0/25",
                            "recommended": "10.0.0.0/24"}])  # fmt: skip
    (ax,) = plot_plan(table, answer, "p", tmp_path / "p.png").axes
    assert ax.get_yscale() == "log"
    texts = {t.get_text().strip() for t in ax.texts}
    assert {"smallest passing /25", "recommended /24", "scenario's own /22"} <= texts
    # Every prefix from the largest tried to the smallest, failing ones visible.
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"/{p}" for p in range(16, 27)]
    labels = ax.get_legend_handles_labels()[1] + [t.get_text() for t in ax.get_legend().texts]
    assert "usable: fails" in labels and "peak until the run was stopped" in labels


def test_sweep_charts_every_figure_that_varies(tmp_path):
    path = tmp_path / "s.yaml"
    import yaml

    path.write_text(yaml.safe_dump(make_scenario(nodes=2, replicas=30)))
    result = sweep(path, parse_settings(["clusters[0].node_pools[0].max_pods=30,110"]))
    assert "podsubnet.peak_allocated" in result.varying()
    assert "nodesubnet.peak_allocated" not in result.varying()  # the same in every run
    fig = plot_sweep(result.table, "s", tmp_path / "s.png")
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
    assert titles == result.varying()
    table = result.summary_table()
    assert list(table["verdict"]) == ["PASS", "PASS"]
    assert table["podsubnet.peak_allocated"].tolist() == [62, 66]


def test_compare_draws_the_vnet_total_per_variant(tmp_path):
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(make_scenario(nodes=3, replicas=60)))
    result = compare(path, cnis=["traditional", "dynamic"])
    fig = plot_comparison(result.series, "c", tmp_path / "c.png")
    total = fig.axes[0]
    assert total.get_title(loc="left") == "VNet addresses allocated, all subnets together"
    assert total.get_legend_handles_labels()[1] == ["traditional (peak 93)", "dynamic (peak 102)"]


def test_capacity_chart_tells_the_modes_apart(tmp_path):
    table = capacity_table(30, 30, range(26, 23, -1))
    (ax,) = plot_capacity(table, "c", tmp_path / "c.png").axes
    lines = ax.get_lines()
    assert len({line.get_marker() for line in lines}) == len(lines)
    assert len({line.get_linestyle() for line in lines}) >= min(len(lines), 4)
    assert "dynamic (same as traditional)" in [line.get_label() for line in lines]


def test_pool_actions_are_marked_as_actions(tmp_path):
    # Only pool actions on the timeline: an add at 1 min, a replacement at 2 min, a
    # deletion at 3 min; each is an action marker on every panel.
    doc = make_scenario(cni="traditional", nodes=2, max_pods=30, replicas=10)
    doc["network"]["vnets"][0]["subnets"].append({"name": "nodes2", "cidr": "10.242.0.0/24"})
    pool = {"name": "extra", "count": 1, "max_pods": 30, "node_subnet": "nodes2"}
    new = {"name": "user2", "count": 2, "max_pods": 50, "node_subnet": "nodes2"}
    doc["timeline"] = [
        {"at": "1m", "add_node_pool": {"cluster": "aks1", "node_pool": pool}},
        {"at": "2m", "replace_node_pool": {"cluster": "aks1", "node_pool": "user", "with": new}},
        {"at": "3m", "delete_node_pool": {"cluster": "aks1", "node_pool": "extra"}},
    ]
    result = simulator.run(doc)
    fig = plot_utilization(result.subnets, result.events, "t", tmp_path / "u.png")
    for ax in fig.axes:
        (marks,) = [line for line in ax.get_lines() if line.get_label().startswith("action (")]
        assert list(marks.get_xdata()) == [1.0, 2.0, 3.0]  # minutes
