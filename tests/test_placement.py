"""Placement beyond one node pool: GPUs (the nvidia.com/gpu extended resource), a set of
pools, the one node a pod must run on, and a cap on a group's pods per node."""

from __future__ import annotations

import pytest

import simulator
from simulator.model.entities import Node, Pod
from simulator.model.pending import PendingPods
from simulator.model.scheduler import NodeIndex, schedule

from conftest import make_scenario


def _nodes(pools: dict[str, int], max_pods: int = 10) -> tuple[NodeIndex, list[Node]]:
    index = NodeIndex(list(pools))
    nodes = []
    for pool, count in pools.items():
        for _ in range(count):
            node = Node(f"n{len(nodes)}", "c", pool, len(nodes), max_pods, None, None, 0.0)  # type: ignore[arg-type]
            node.ready_s, node.schedulable = 0.0, True
            nodes.append(node)
            index.update(node)
    return index, nodes


def _pod(name: str, **kw) -> Pod:
    return Pod(name=name, workload="w", cluster="c", pool=kw.pop("pool", None), system=False,
               seq=0, created_s=0.0, **kw)  # fmt: skip


def _place(index: NodeIndex, pods: list[Pod]) -> dict[str, str]:
    return {pod.name: node.name for pod, node in schedule(pods, index)}


def test_a_pod_with_a_set_of_pools_takes_the_best_node_among_them():
    index, _ = _nodes({"a": 2, "b": 2, "c": 1})
    for _ in range(3):  # fill n0 and n1 a little: b's nodes are the emptiest of a and b
        _place(index, [_pod("x", pool="a")])
    got = _place(index, [_pod("p", pools=("a", "b")), _pod("q", pools=("a", "b"))])
    assert got == {"p": "n2", "q": "n3"}


def test_a_pinned_pod_waits_for_its_node_and_falls_back_to_its_pool_when_the_node_goes():
    index, nodes = _nodes({"a": 2}, max_pods=1)
    assert _place(index, [_pod("first", pin=nodes[1])]) == {"first": "n1"}
    second = _pod("second", pin=nodes[1], pool="a")
    assert _place(index, [second]) == {}  # n1 is full: n0's room is no help
    nodes[1].deleted_s = 5.0  # the node is gone: the pool's scheduler decides
    assert _place(index, [second]) == {"second": "n0"}


def test_a_group_cap_limits_its_pods_per_node():
    index, _ = _nodes({"a": 2})
    pods = [_pod(f"p{i}", group="app", cap=2) for i in range(5)]
    got = _place(index, pods)
    assert sorted(got.values()) == ["n0", "n0", "n1", "n1"]  # the fifth waits
    other = _place(index, [_pod("q", group="other", cap=2)])
    assert other == {"q": "n0"}  # another group's cap is its own


def _gpu_doc(gpus_per_node: int | None, replicas: int, gpu: int = 1):
    doc = make_scenario(nodes=3, max_pods=30, duration="2m")
    pool = doc["clusters"][0]["node_pools"][0]
    if gpus_per_node is not None:
        pool["allocatable"] = {"cpu": 32, "memory": "128Gi", "gpu": gpus_per_node}
    doc["workloads"] = [
        {"name": "train", "cluster": "aks1", "replicas": replicas,
         "requests": {"cpu": "1", "memory": "1Gi", "gpu": gpu}}
    ]  # fmt: skip
    return doc


def test_gpu_requests_fill_the_nodes_gpus_and_then_wait():
    result = simulator.run(_gpu_doc(2, 8))
    assert result.summary["pods"]["running_at_end"] == 6  # 3 nodes × 2 GPUs
    assert result.summary["pods"]["pending_at_end"] == 2
    assert result.pods.groupby("node").size().max() == 2


def test_a_gpu_request_no_pool_offers_is_refused():
    with pytest.raises(
        simulator.ScenarioError, match=r"workloads\[train\]\.requests: requests more"
    ):
        simulator.load_scenario(_gpu_doc(2, 1, gpu=4))
    # A pool without vm_size or allocatable has no limits, GPUs included.
    assert simulator.run(_gpu_doc(None, 4)).summary["pods"]["running_at_end"] == 4


def test_the_pending_index_follows_a_pinned_pod_to_its_pool_when_its_node_goes():
    index, nodes = _nodes({"a": 2}, max_pods=1)
    queue = PendingPods()
    first, second = _pod("first", pin=nodes[1]), _pod("second", pin=nodes[1], pool="a")
    for pod in (first, second):
        queue.add(pod)
    assert [(p.name, n.name) for p, n in queue.bindings(index)] == [("first", "n1")]
    assert queue.bindings(index) == []  # n1 is full: n0's room is no help
    nodes[1].deleted_s = 5.0
    queue.node_gone(nodes[1])  # the node is gone: the pool's scheduler decides
    assert [(p.name, n.name) for p, n in queue.bindings(index)] == [("second", "n0")]
    assert len(queue) == 0
