"""The package's structure: no import cycles, and the tables of modes and workload kinds
name code that exists and runs.

The layer contract itself (which layer may import which) is import-linter's, in
pyproject.toml; ``make test`` runs it.
"""

from __future__ import annotations

import typing

import grimp
import pytest
from test_mode_contract import world_doc

from simulator.core.modes import simulated_modes
from simulator.model.invariants import check, check_drained
from simulator.model.workloads import Controller, controller_for
from simulator.model.world import World
from simulator.scenario.loader import load_scenario
from simulator.scenario.models import Cluster
from simulator.scenario.workloads import KINDS, Workload


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_module_imports_itself_back_through_others():
    graph = grimp.build_graph("simulator")
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b"]]


def test_scenarios_accept_exactly_the_simulated_modes_and_the_registered_kinds():
    assert set(typing.get_args(Cluster.model_fields["cni"].annotation)) == set(simulated_modes())
    assert set(typing.get_args(Workload.model_fields["kind"].annotation)) == set(KINDS)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_names_its_controller(kind):
    controller = controller_for(kind)
    assert issubclass(controller, Controller)
    assert controller.kind == kind
    for key in KINDS[kind].keys:
        assert key in Workload.model_fields, f"{kind}: {key} is no key of workloads[]"


@pytest.mark.parametrize("mode", simulated_modes())
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_runs_under_each_mode(kind, mode, tmp_path):
    """A kind's example workload runs with the invariants holding at every change, and
    every address comes back once its nodes are gone."""
    doc = world_doc(mode, nodes=2, replicas=0, duration="10m")
    doc["workloads"] = [{"name": "sample", "kind": kind, "cluster": "aks1", **KINDS[kind].example}]
    doc["timeline"] = [
        {"at": "9m", "scale_node_pool": {"cluster": "aks1", "node_pool": "user", "count": 0}}
    ]
    for name, text in KINDS[kind].files.items():  # the files its example names
        (tmp_path / name).write_text(text)
    world = World(load_scenario(doc, base=tmp_path), 0)
    world.run(check=check)
    check_drained(world)
    pods = [p for c in world.clusters.values() for p in c.pods if p.workload == "sample"]
    assert any(p.ip is not None for p in pods), "no pod of the kind ever got an address"
