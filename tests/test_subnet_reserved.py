"""A subnet's ``reserved`` addresses: held by other consumers from t = 0, counted as
allocated in every figure (subnets.csv, holders.csv, the summary, the chart), never
handed to nodes or pods, and refused when the subnet cannot hold them."""

from __future__ import annotations

import pytest

import simulator
from simulator.model.invariants import check, check_drained
from simulator.model.subnets import RESERVED_HOLDER
from simulator.model.world import World

from conftest import make_scenario


def _doc(cni: str, reserved: int, *, nodes: int = 2, node_cidr: str = "10.240.0.0/24"):
    doc = make_scenario(cni=cni, nodes=nodes, max_pods=30, node_cidr=node_cidr, replicas=10,
                        duration="5m")  # fmt: skip
    doc["network"]["vnets"][0]["subnets"][0]["reserved"] = reserved
    doc["sample_every"] = "1m"
    return doc


@pytest.mark.parametrize("cni", ["traditional", "dynamic"])
def test_reserved_addresses_count_as_allocated_everywhere(cni):
    result = simulator.run(_doc(cni, 40))
    nodes = result.subnets[result.subnets["subnet"] == "nodesubnet"]
    # Traditional: 2 nodes × (1 + 30) = 62 besides the 40; dynamic: 1 per node.
    held = 62 if cni == "traditional" else 2
    assert set(nodes["reserved"]) == {40}
    assert set(nodes["allocated"]) == {40 + held}
    assert set(nodes["free"]) == {251 - 40 - held}
    summary = result.summary["subnets"]["nodesubnet"]
    assert summary["reserved"] == 40
    assert summary["peak_allocated"] == summary["final_allocated"] == 40 + held
    assert summary["min_free"] == 251 - 40 - held
    assert summary["holders"][RESERVED_HOLDER] == 40
    others = result.holders[result.holders["cluster"] == "(others)"]
    assert set(others["node_pool"]) == {"reserved"} and set(others["allocated"]) == {40}
    summed = result.holders.groupby(["subnet", "time_s"])["allocated"].sum()
    grid = result.subnets.set_index(["subnet", "time_s"])["allocated"]
    assert (summed == grid.loc[summed.index]).all()


def test_reserved_addresses_are_the_lowest_and_never_go_to_nodes():
    world = World(simulator.load_scenario(_doc("dynamic", 3)), 0)
    world.run(check=check)  # the invariants account for them at every change
    subnet = world.subnets["nodesubnet"]
    # The first usable address is .4 (.0 to .3 are Azure's): .4, .5, .6 are taken.
    assert [subnet.pool.text(a) for a in subnet.reserved] == [
        "10.240.0.4", "10.240.0.5", "10.240.0.6",
    ]  # fmt: skip
    ips = {n.node_ip for c in world.clusters.values() for n in c.nodes}
    assert not ips & set(subnet.reserved)
    for node in world.clusters["aks1"].nodes:
        world.clusters["aks1"].remove_node(node)
    check_drained(world)  # everything back but what the others hold
    assert subnet.allocated == 3


def test_reserved_addresses_leave_less_room_for_nodes():
    """A /26 has 59 usable addresses: two traditional nodes of 1 + 15 fit, but with 30
    reserved the scale set creates neither (all or nothing)."""

    def created(reserved: int) -> int:
        doc = _doc("traditional", reserved, nodes=2, node_cidr="10.240.0.0/26")
        doc["clusters"][0]["node_pools"][0]["max_pods"] = 15
        doc["preflight_checks"] = False
        return simulator.run(doc).summary["nodes"]["created"]

    assert created(0) == 2
    assert created(30) == 0


def test_more_reserved_than_usable_is_refused():
    with pytest.raises(simulator.ScenarioError) as err:
        simulator.load_scenario(_doc("dynamic", 252))
    assert str(err.value) == (
        "network.vnets[0].subnets[0].reserved: is more than the 251 usable addresses of "
        "10.240.0.0/24 (got 252)"
    )
    assert simulator.load_scenario(_doc("dynamic", 251))


def test_the_chart_shows_the_reserved_band(tmp_path):
    result = simulator.run(_doc("dynamic", 40))
    from simulator.charts.run import plot_utilization

    fig = plot_utilization(result.subnets, result.events, "t")
    labels = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert "reserved: held by other consumers (40)" in labels
