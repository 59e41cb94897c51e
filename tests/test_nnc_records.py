"""nnc.csv from the recorder's two kinds of rows: pool states and assigned counts.

The frame is built with array operations; here it is checked against a plain replay of
the records, against the model's live pools and on the case that once repeated rows."""

from pathlib import Path

import numpy as np
import pytest
from test_conservation import _random_scenario

import simulator
from simulator.model.world import World
from simulator.results.nnc_frame import NNC_COLUMNS, nnc_frame
from simulator.results.result import build_result

ROOT = Path(__file__).resolve().parent.parent


def _replayed(rows: list) -> list[tuple]:
    """nnc.csv rows by the definition: per node and instant the state after its last
    change, at the place of its first change; a row equal to the node's previous goes."""
    pools: dict = {}
    assigned: dict = {}
    out: list[list] = []
    last_at: dict = {}
    for when, node, value in rows:
        if isinstance(value, tuple):
            pools[node] = value
        else:
            assigned[node] = value
        (requested, held, primary, releasing, programming, *rest) = pools[node]
        count = assigned.get(node, 0)
        available = held - count - releasing - programming
        state = (requested, held, primary, count, available, releasing, programming, *rest)
        at = last_at.get(node)
        if at is not None and out[at][0] == when:
            out[at][2] = state
        else:
            last_at[node] = len(out)
            out.append([when, node, state])
    previous: dict = {}
    kept = []
    for when, node, state in out:
        if previous.get(node) != state:
            subnet = (node.pod_subnet or node.node_subnet).name
            kept.append((when, node.cluster, node.pool, node.name, subnet, *state))
        previous[node] = state
    return kept


def _world(doc) -> World:
    scenario = simulator.load_scenario(doc)
    world = World(scenario, scenario.seed)
    world.run()
    return world


@pytest.mark.parametrize("seed", range(12))
def test_frame_equals_a_plain_replay_of_the_records(seed):
    world = _world(_random_scenario(np.random.default_rng(1000 + seed)))
    frame = nnc_frame(world.recorder.nnc)
    assert list(frame.columns) == NNC_COLUMNS
    expected = _replayed(world.recorder.nnc)
    got = [tuple(row) for row in frame.itertuples(index=False)]
    assert got == expected
    assert (frame["available_ips"] >= 0).all()


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")))
def test_frame_equals_a_plain_replay_for_every_shipped_scenario(name):
    # Identical nodes starting together: a node's first row must not be taken for a
    # repeat of another node's last one.
    world = _world(ROOT / "scenarios" / f"{name}.yaml")
    got = [tuple(row) for row in nnc_frame(world.recorder.nnc).itertuples(index=False)]
    assert got == _replayed(world.recorder.nnc)


def test_last_rows_match_the_live_pools():
    doc = simulator.load_scenario(ROOT / "scenarios" / "quickstart.yaml")
    world = World(doc, doc.seed)
    world.run()
    frame = build_result(world).nnc
    last = frame.groupby("node").tail(1).set_index("node")
    nodes = [n for c in world.clusters.values() for n in c.nodes if n.alive and n.ready]
    assert nodes
    for node in nodes:
        row = last.loc[node.name]
        ips = node.ips
        assert row["assigned_ips"] == len(ips.assigned)
        assert row["available_ips"] == len(ips.available)
        assert row["pending_release_ips"] == len(ips.pending_release)
        assert row["pending_programming_ips"] == len(ips.pending_programming)
        assert row["secondary_ips"] == ips.held == len(ips.all_addresses())


def test_an_address_handed_straight_on_leaves_no_row():
    # Job pods end and the next waiting pod takes the freed address at the same instant:
    # the pool is unchanged, so no row may repeat the node's previous one.
    result = simulator.run(ROOT / "scenarios" / "autoscaler-batch-jobs.yaml")
    state = [c for c in NNC_COLUMNS if c not in ("time_s", "cluster", "node_pool", "subnet")]
    for _, rows in result.nnc[state].groupby("node", sort=False):
        values = rows.drop(columns="node").to_numpy()
        assert not (values[1:] == values[:-1]).all(axis=1).any()
