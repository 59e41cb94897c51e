"""``ipsim report``: a results folder as one self-contained HTML page, readable offline.

The page carries everything inline (styles, the folder's charts as base64 PNG): it can be
mailed or attached to a design review as one file. A run's page has the verdict, the
scenario in brief, the key tables, the charts and the timeline of events; the folders of
``run --replicas``, ``compare``, ``plan``, ``sweep`` and ``chart capacity`` get views of
their own.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from simulator.charts.planning import varying_figures
from simulator.core.modes import MODES
from simulator.errors import IpsimError
from simulator.results.folders import check_file_target, write_file
from simulator.scenario.models import added_pool_documents
from simulator.version import VERSION

__all__ = [
    "MAX_EVENTS",
    "ReportError",
    "folder_kind",
    "is_ipsim_report",
    "render_report",
    "write_report",
]

#: Who wrote a page: its generator tag, which also lets ``--force`` replace it.
GENERATOR = f"ipsim {VERSION}"

#: Rows of events.csv the page lists; the rest are counted.
MAX_EVENTS = 400


class ReportError(IpsimError):
    """A folder that cannot be reported on."""


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1150px;
       color: #1d2330; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; font-size: 1.2em;
     border-bottom: 1px solid #d5d9e0; padding-bottom: 0.2em; }
.verdict { border-radius: 6px; padding: 0.7em 1em; margin: 1em 0; }
.verdict.PASS { background: #e6f4ea; border: 1px solid #34a853; }
.verdict.FAIL { background: #fce8e6; border: 1px solid #d93025; }
.verdict .word { font-weight: 700; font-size: 1.3em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 13px; }
th, td { border: 1px solid #d5d9e0; padding: 3px 8px; text-align: left; }
th { background: #f1f3f6; } td.num { text-align: right; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #e3e6ea; }
figcaption { color: #555; font-size: 12px; }
.muted { color: #666; } code { background: #f1f3f6; padding: 0 3px; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(frame: pd.DataFrame, *, max_rows: int | None = None) -> str:
    shown = frame if max_rows is None else frame.head(max_rows)
    text = shown.to_html(index=False, escape=True, na_rep="", border=0, float_format="{:,g}".format)
    if max_rows is not None and len(frame) > max_rows:
        text += f'<p class="muted">{len(frame) - max_rows:,} more rows in the folder.</p>'
    return text


def _pairs(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure class="chart"><img src="data:image/png;base64,{data}" alt="{_esc(caption)}">'
        f"<figcaption>{_esc(caption)} ({_esc(path.name)})</figcaption></figure>"
    )


def _charts(folder: Path, names: list[tuple[str, str]]) -> str:
    parts = [
        _figure(folder / name, caption) for name, caption in names if (folder / name).is_file()
    ]
    extra = sorted(folder.glob("nnc-*.png"))
    parts += [_figure(p, f"pool of node {p.stem.removeprefix('nnc-')}") for p in extra]
    return "<h2>Charts</h2>" + "".join(parts) if parts else ""


def _verdict_box(word: str, lines: list[str]) -> str:
    items = "".join(f"<li>{_esc(line)}</li>" for line in lines)
    return (
        f'<section id="verdict" class="verdict {_esc(word)}"><span class="word">{_esc(word)}</span>'
        f"<ul>{items}</ul></section>"
    )


def _page(title: str, body: str, folder: Path) -> str:
    made_by = GENERATOR
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="{GENERATOR}">'
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_esc(title)}</h1>{body}"
        f'<p class="muted">Written by {_esc(made_by)} from the folder {_esc(folder.name)}/.</p>'
        "</body></html>\n"
    )


# --- one run ------------------------------------------------------------------------


def _scenario_brief(scenario: dict[str, Any], summary: dict[str, Any]) -> str:
    head = [
        ("name", scenario.get("name")),
        ("description", scenario.get("description") or ""),
        ("simulated time", f"{summary['duration_s']:,g} s"),
        ("seed", summary.get("seed")),
        ("sample grid", scenario.get("sample_every")),
        ("pre-flight check", "on" if scenario.get("preflight_checks", True) else "off"),
    ]
    subnets = pd.DataFrame(
        [
            {"vnet": v["name"], "subnet": s["name"], "cidr": s["cidr"]}
            for v in scenario["network"]["vnets"]
            for s in v["subnets"]
        ]
    )
    # The timeline's pools (add_node_pool, replace_node_pool) follow their cluster's own,
    # their node count with the time they are added.
    later: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for name, pool, at in added_pool_documents(scenario):
        later.setdefault(name, []).append((pool, at))
    pools = []
    for cluster in scenario["clusters"]:
        mode = MODES.get(cluster.get("cni"))
        every = [(p, None) for p in cluster["node_pools"]] + later.get(cluster["name"], [])
        for pool, at in every:
            bounds = pool.get("autoscaler")
            pools.append(
                {
                    "cluster": cluster["name"],
                    "CNI": f"{cluster.get('cni')}" + (f": {mode.title}" if mode else ""),
                    "node pool": pool["name"],
                    "nodes": pool.get("count") if at is None else f"{pool.get('count')} from {at}",
                    "max pods": pool.get("max_pods"),
                    "node subnet": pool.get("node_subnet"),
                    "pod subnet": pool.get("pod_subnet") or "",
                    "autoscaler": f"{bounds['min']}..{bounds['max']}" if bounds else "",
                }
            )
    workloads = pd.DataFrame(
        [
            {
                "workload": w["name"],
                "kind": w.get("kind", "deployment"),
                "cluster": w.get("cluster"),
                "replicas": w.get("replicas") if w.get("replicas") is not None else "",
                "rate /s": w.get("rate") if w.get("rate") is not None else "",
            }
            for w in scenario.get("workloads") or []
        ]
    )
    actions = []
    for entry in scenario.get("timeline") or []:
        for key, value in entry.items():
            if key != "at" and value is not None:
                details = ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)
                actions.append({"at": entry["at"], "action": key, "details": details})
    parts = ["<h2>The scenario in brief</h2>", _pairs(head), "<h3>Subnets</h3>", _table(subnets)]
    parts += ["<h3>Clusters and node pools</h3>", _table(pd.DataFrame(pools))]
    if len(workloads):
        parts += ["<h3>Workloads</h3>", _table(workloads)]
    if actions:
        parts += ["<h3>Timeline</h3>", _table(pd.DataFrame(actions), max_rows=100)]
    return "".join(parts)


def _run_tables(summary: dict[str, Any]) -> str:
    subnets = pd.DataFrame(
        [
            {
                "subnet": name,
                "cidr": s["cidr"],
                "usable": s["capacity"],
                "peak allocated": s["peak_allocated"],
                "peak assigned": s["peak_assigned"],
                "fewest free": s["min_free"],
                "first refused at (s)": s["full_at_s"],
                "refused requests": s["refused_requests"],
                "marked exhausted (s)": s["exhausted_s"],
            }
            for name, s in summary["subnets"].items()
        ]
    )
    nodes, pods = summary["nodes"], summary["pods"]
    wait = pods["ip_wait_s"]
    figures = [
        ("nodes created / ready / failed / stuck",
         f"{nodes['created']} / {nodes['ready']} / {nodes['failed']} / {nodes['stuck']}"),
        ("nodes refused a first batch", nodes["first_batch_refused"]),
        ("operations refused by the pre-flight check or a scale set",
         summary.get("operations_refused", 0)),
        ("pods created", pods["created"]),
        ("pods at the end: running / pending / waiting for an address",
         f"{pods['running_at_end']} / {pods['pending_at_end']} / {pods['waiting_for_ip_at_end']}"),
        ("pods that waited for an address", pods["waited_for_ip"]),
        ("address wait p50 / p95 / max (s)", f"{wait['p50']} / {wait['p95']} / {wait['max']}"),
    ]  # fmt: skip
    return "<h2>Key figures</h2>" + _table(subnets) + _pairs(figures)


def _events(folder: Path) -> str:
    path = folder / "events.csv"
    if not path.is_file():
        return ""
    events = pd.read_csv(path, keep_default_na=False, nrows=MAX_EVENTS + 1)
    total = sum(1 for _ in path.open(encoding="utf-8")) - 1
    shown = events.head(MAX_EVENTS)
    text = "<h2>Timeline of events</h2>" + _table(shown)
    if total > len(shown):
        text += f'<p class="muted">{total - len(shown):,} more events in events.csv.</p>'
    return text


def _run_page(folder: Path) -> tuple[str, str]:
    summary = json.loads((folder / "summary.json").read_text())
    scenario = yaml.safe_load((folder / "scenario.resolved.yaml").read_text())
    from simulator.results.verdict import passed_criteria

    lines = summary.get("reasons") or passed_criteria(summary.get("checks") or {})
    if summary.get("stopped_at_s") is not None:
        lines = [*lines, f"the run was stopped at {summary['stopped_at_s']:,.0f} s"]
    body = (
        _verdict_box(summary.get("verdict", "?"), lines)
        + _scenario_brief(scenario, summary)
        + _run_tables(summary)
        + _charts(
            folder,
            [
                ("utilization.png", "subnet addresses over time, pods waiting and pending"),
                ("holders.png", "who holds each subnet's addresses"),
            ],
        )
        + _events(folder)
    )
    return f"{summary['scenario']}: run report (seed {summary['seed']})", body


# --- folders of many runs --------------------------------------------------------------


def _replicas_page(folder: Path) -> tuple[str, str]:
    summary = json.loads((folder / "summary.json").read_text())
    verdicts = summary.get("verdicts") or []
    fails = [i for i, v in enumerate(verdicts) if v == "FAIL"]
    lines = [f"{len(fails)} of {len(verdicts)} replicas fail" + (
        f": replicas {', '.join(map(str, fails))}" if fails else "")]  # fmt: skip
    spread = pd.DataFrame([{"figure": k, **v} for k, v in (summary.get("spread") or {}).items()])
    table = pd.read_csv(folder / "replicas.csv")
    body = (
        _verdict_box("FAIL" if fails else "PASS", lines)
        + "<h2>Spread across replicas</h2>"
        + _table(spread)
        + _charts(folder, [("utilization.png", "allocated over time: median and p5–p95 band")])
        + "<h2>Replicas</h2>"
        + _table(table, max_rows=200)
    )
    return f"{summary['scenario']}: {summary['replicas']} replicas", body


def _compare_page(folder: Path) -> tuple[str, str]:
    table = pd.read_csv(folder / "comparison.csv")
    verdicts = table.drop_duplicates("variant")[["variant", "verdict"]]
    lines = [f"{row.variant}: {row.verdict}" for row in verdicts.itertuples()]
    word = "FAIL" if (verdicts["verdict"] != "PASS").any() else "PASS"
    body = (
        _verdict_box(word, lines)
        + "<h2>Variants</h2>"
        + _table(table)
        + _charts(folder, [("comparison.png", "variants compared over time")])
    )
    return f"{folder.name}: variants compared", body


def _plan_page(folder: Path) -> tuple[str, str]:
    answer = pd.read_csv(folder / "answer.csv")
    sentences = (folder / "plan.txt").read_text().splitlines()
    word = "PASS" if answer["best"].notna().all() else "FAIL"
    body = (
        _verdict_box(word, sentences)
        + "<h2>Answer</h2>"
        + _table(answer)
        + _charts(folder, [("plan.png", "usable addresses and peak by prefix")])
        + "<h2>Every run</h2>"
        + _table(pd.read_csv(folder / "plan.csv"), max_rows=300)
    )
    return f"{folder.name}: plan", body


def _sweep_page(folder: Path) -> tuple[str, str]:
    table = pd.read_csv(folder / "sweep.csv")
    keys = [c for c in table.columns if c.startswith("set:")]
    shown = table[["variant", *keys, "replica", "verdict", "error", *varying_figures(table)]]
    failed = table["verdict"].eq("FAIL") | table["error"].notna()
    lines = [f"{int(failed.sum())} of {len(table)} runs fail or could not run"]
    body = (
        _verdict_box("FAIL" if failed.any() else "PASS", lines)
        + _charts(folder, [("sweep.png", "every figure that varies")])
        + "<h2>Runs</h2>"
        + _table(shown, max_rows=300)
    )
    return f"{folder.name}: sweep", body


def _capacity_page(folder: Path) -> tuple[str, str]:
    body = _charts(folder, [("capacity.png", "pods per prefix, per mode")]) + _table(
        pd.read_csv(folder / "capacity.csv")
    )
    return "capacity per prefix", body


#: Folder kinds by the file that tells them apart, in the order they are tried.
_KINDS: list[tuple[str, str, Callable[[Path], tuple[str, str]]]] = [
    ("replicas", "replicas.csv", _replicas_page),
    ("run", "scenario.resolved.yaml", _run_page),
    ("compare", "comparison.csv", _compare_page),
    ("plan", "answer.csv", _plan_page),
    ("sweep", "sweep.csv", _sweep_page),
    ("capacity", "capacity.csv", _capacity_page),
]


def folder_kind(folder: str | os.PathLike[str]) -> str:
    """``run``, ``replicas``, ``compare``, ``plan``, ``sweep`` or ``capacity``; a clear
    error for anything else (a scenario file among them)."""
    path = Path(folder)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        raise ReportError(
            f"{path}: is a scenario file, not a results folder; run it first "
            f"(ipsim run {path}) and report on the folder it writes"
        )
    if not path.is_dir():
        raise ReportError(f"{path}: no such results folder")
    for kind, marker, _ in _KINDS:
        if (path / marker).is_file():
            return kind
    raise ReportError(f"{path}: not a results folder of ipsim (no summary, table or plan in it)")


def render_report(folder: str | os.PathLike[str]) -> str:
    """The HTML page of a results folder."""
    path = Path(folder)
    kind = folder_kind(path)
    page = next(make for name, _, make in _KINDS if name == kind)
    title, body = page(path)
    return _page(title, body, path)


def is_ipsim_report(head: bytes) -> bool:
    """Whether a file's first bytes are a report page ipsim wrote (its generator tag)."""
    return head.startswith(b"<!DOCTYPE html>") and b'content="ipsim ' in head[:400]


def write_report(
    folder: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    force: bool = False,
) -> Path:
    """Write ``folder``'s page to ``output`` atomically; returns the path."""
    target = Path(output)
    check_file_target(target, force=force, ours=is_ipsim_report)
    text = render_report(folder)
    return write_file(
        target,
        lambda staging: Path(staging).write_text(text, "utf-8"),
        force=force,
        ours=is_ipsim_report,
    )
