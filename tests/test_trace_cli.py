"""``ipsim trace inspect`` and ``ipsim trace convert``."""

from __future__ import annotations

import json

from click.testing import CliRunner

from simulator.cli import cli

TRACE = """name,created,deleted,cpu,memory,node,group
a,0,100,1,1Gi,aks-user-12345678-vmss000000,web
b,10,,2,2Gi,aks-user-12345678-vmss000001,web
c,20,50,0.5,512Mi,aks-gpu-12345678-vmss000000,train
d,200,,1,1Gi,,
"""


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_inspect_prints_the_figures_of_a_trace(tmp_path):
    (tmp_path / "t.csv").write_text(TRACE)
    got = _invoke("trace", "inspect", str(tmp_path / "t.csv"))
    assert got.exit_code == 0, got.output
    lines = got.output.splitlines()
    assert lines[0] == "t.csv (pod-csv): 4 pods"
    assert lines[1] == "time span: 0s to 200s (200s)"
    assert lines[2] == "peak alive: 3 pods at 20s"
    assert "peak cpu requested: 3.5 cores at 20s" in lines
    assert "nodes named: 3 in pools gpu, user; groups: 2" in lines
    assert lines[-1].startswith("suggested window (99% of the changes): source: {window:")
    figures = json.loads(_invoke("trace", "inspect", str(tmp_path / "t.csv"), "--json").output)
    assert figures["format"] == "pod-csv" and figures["peak_alive"] == 3
    assert figures["alive_at_end"] == 2 and figures["pools"] == ["gpu", "user"]


def test_convert_writes_the_generic_table(tmp_path):
    doc = {
        "version": 2, "config": {"trackedObjects": {}}, "index": {}, "pod_lifecycles": {},
        "events": [{"ts": 1710892138, "applied_objs": [
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "web", "namespace": "dsb"}, "spec": {"replicas": 2}}],
            "deleted_objs": []}],
    }  # fmt: skip
    (tmp_path / "trace.json").write_text(json.dumps(doc))
    out = tmp_path / "pods.csv"
    got = _invoke("trace", "convert", str(tmp_path / "trace.json"), "-o", str(out))
    assert got.exit_code == 0, got.output
    assert got.output.strip() == f"2 pods of trace.json (simkube) written to {out}"
    assert out.read_text().splitlines() == [
        "name,created,deleted,cpu,memory,gpu,node,pool,group,host_network,max_per_node",
        "dsb/web-00001,2024-03-19T23:48:58Z,,,,,,,dsb/web,false,",
        "dsb/web-00002,2024-03-19T23:48:58Z,,,,,,,dsb/web,false,",
    ]
    # A CSV table carries no mark of ipsim's: it is never replaced, even with --force.
    for force in ((), ("--force",)):
        again = _invoke("trace", "convert", str(tmp_path / "trace.json"), "-o", str(out), *force)
        assert again.exit_code == 2 and "was not written by ipsim" in again.output
    parquet = tmp_path / "pods.parquet"
    assert _invoke("trace", "convert", str(out), "-o", str(parquet)).exit_code == 0
    again = _invoke("trace", "convert", str(out), "-o", str(parquet))
    assert again.exit_code == 2 and "exists already; use --force" in again.output
    assert _invoke("trace", "convert", str(out), "-o", str(parquet), "--force").exit_code == 0
    inspected = json.loads(_invoke("trace", "inspect", str(parquet), "--json").output)
    assert inspected["format"] == "pod-parquet" and inspected["pods"] == 2


def test_bad_traces_and_outputs_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "t.csv").write_text("name,created\na,later\n")
    got = _invoke("trace", "inspect", str(tmp_path / "t.csv"))
    assert got.exit_code == 2
    assert got.output.strip() == (
        "error: t.csv: row 1 (line 2), column 'created': not a time: seconds or an ISO 8601 "
        "timestamp (got 'later')"
    )
    dropped = _invoke("trace", "inspect", str(tmp_path / "t.csv"), "--drop-bad-rows")
    assert "not read: 1 (bad row: created: not a time" in dropped.output
    missing = _invoke("trace", "inspect", str(tmp_path / "none.csv"))
    assert missing.exit_code == 2 and missing.output.strip().endswith("none.csv: no such file")
    wrong = _invoke("trace", "convert", str(tmp_path / "t.csv"), "-o", str(tmp_path / "x.txt"))
    assert wrong.exit_code == 2 and "the output is .csv (pod-csv) or .parquet" in wrong.output
