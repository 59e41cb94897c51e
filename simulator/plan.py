"""``ipsim plan``: the smallest prefix for each subnet under which a scenario still runs.

A prefix passes when, in every replica, no node fails or waits for its first batch, no
operation is refused by AKS's pre-flight check, no more pods wait for an address at the
end than with the largest subnet, and no pod waits longer for its address than it does
with the largest subnet plus ``max_ip_wait`` (the largest subnet's waits are the normal
round trip). Bigger subnets never do worse, so the search bisects over prefix lengths,
keeping the subnet's base address, and reuses every run it has made.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .batch import Executor, LocalExecutor, Outcome, RunSpec, replica_seeds
from .errors import IpsimError
from .folders import write_folder
from .loader import load_scenario, read_document
from .scenario_rules import MAX_PREFIX, MIN_PREFIX
from .variants import apply_settings

__all__ = ["Plan", "SubnetPlan", "plan"]


@dataclass
class SubnetPlan:
    """The answer for one subnet."""

    subnet: str
    original: str
    best: str | None  # the smallest CIDR that passes
    usable: int | None
    peak_allocated: int | None
    first_failing: str | None
    failure: str  # what failed at the first failing prefix
    note: str = ""

    def sentence(self) -> str:
        if self.best is None:
            return f"{self.subnet}: no prefix from {self.original}'s base works: {self.failure}"
        share = f"{self.peak_allocated / self.usable:.0%}" if self.usable else "-"
        text = (
            f"{self.subnet}: smallest passing {self.best} ({self.usable:,} usable, peak "
            f"{self.peak_allocated:,} allocated = {share}; was {self.original})"
        )
        if self.first_failing:
            text += f"; {self.first_failing} fails: {self.failure}"
        return text


@dataclass
class Plan:
    """Every run made and the answer per subnet."""

    name: str
    subnets: list[SubnetPlan]
    table: pd.DataFrame
    runs: int = 0
    notes: list[str] = field(default_factory=list)

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        from .planning_charts import plot_plan

        def fill(folder: Path) -> None:
            self.table.to_csv(folder / "plan.csv", index=False)
            answer = pd.DataFrame([vars(s) for s in self.subnets])
            answer.to_csv(folder / "answer.csv", index=False)
            (folder / "plan.txt").write_text("\n".join(s.sentence() for s in self.subnets) + "\n")
            plot_plan(self.table, f"{self.name}: subnet headroom by prefix", folder / "plan.png")

        return write_folder(directory, fill, force=force)


def _locate(document: dict[str, Any], name: str) -> str:
    for v, vnet in enumerate(document["network"]["vnets"]):
        for s, subnet in enumerate(vnet["subnets"]):
            if subnet["name"] == name:
                return f"network.vnets[{v}].subnets[{s}].cidr"
    raise IpsimError(f"no subnet named {name!r}")


def _candidates(cidr: str) -> list[int]:
    """Prefix lengths that keep the subnet's base address."""
    base = ipaddress.IPv4Network(cidr).network_address
    out = []
    for prefix in range(MIN_PREFIX, MAX_PREFIX + 1):
        try:
            ipaddress.IPv4Network(f"{base}/{prefix}")  # strict: base must be aligned
        except ValueError:
            continue
        out.append(prefix)
    return out


def _reasons(outcome: Outcome, normal: Outcome | None, max_ip_wait: float) -> list[str]:
    if outcome.error is not None or outcome.summary is None:
        return [f"invalid: {outcome.error}"]
    s = outcome.summary
    reasons = []
    if s["nodes"]["failed"]:
        reasons.append(f"{s['nodes']['failed']} node(s) failed (subnet full)")
    if s["nodes"]["first_batch_refused"]:
        reasons.append(f"{s['nodes']['first_batch_refused']} node(s) waited for a first batch")
    if s.get("operations_refused"):
        reasons.append(f"{s['operations_refused']} operation(s) refused by the pre-flight check")
    if normal is not None and normal.summary is not None:
        base_pods = normal.summary["pods"]
        waiting = s["pods"]["waiting_for_ip_at_end"]
        if waiting > base_pods["waiting_for_ip_at_end"]:
            reasons.append(f"{waiting} pod(s) still waiting for an address at the end")
        longest = s["pods"]["ip_wait_s"]["max"] or 0.0
        normal_wait = base_pods["ip_wait_s"]["max"] or 0.0
        if longest > normal_wait + max_ip_wait + 1e-9:
            reasons.append(
                f"a pod waited {longest:g} s for an address (normal {normal_wait:g} s"
                + (f" + {max_ip_wait:g} s allowed" if max_ip_wait else "")
                + ")"
            )
    return reasons


def plan(
    path: str | os.PathLike[str],
    *,
    subnets: list[str] | None = None,
    replicas: int = 1,
    seed: int | None = None,
    max_ip_wait: float = 0.0,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """Find the smallest passing prefix for each subnet (others keep their size)."""
    document = read_document(path)
    base = str(Path(path).resolve().parent)
    scenario = load_scenario(path)
    used: list[str] = []
    for cluster in scenario.clusters:
        for pool in cluster.node_pools:
            for name in (pool.node_subnet, pool.pod_subnet):
                if name and name not in used:
                    used.append(name)
    targets = subnets or used
    for name in targets:
        if name not in used:
            close = difflib.get_close_matches(name, used, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; used: {', '.join(used)}"
            raise IpsimError(f"--subnet: no subnet named {name!r} is used by {path}{hint}")
    first = seed if seed is not None else scenario.seed
    seeds = replica_seeds(first, replicas) if replicas > 1 else [first]
    executor = executor or LocalExecutor(1)
    rows: list[dict[str, Any]] = []
    answers = []
    runs = 0
    for name in targets:
        original = next(s.cidr for v in scenario.network.vnets for s in v.subnets if s.name == name)
        search = _Search(document, base, name, original, seeds, executor, max_ip_wait, progress)
        answers.append(search.run(str(path)))
        rows += search.rows()
        runs += sum(map(len, search.cache.values()))
    return Plan(str(document.get("name")), answers, pd.DataFrame(rows), runs=runs)


class _Search:
    """The bisection for one subnet, with every run it made."""

    def __init__(
        self,
        document: dict[str, Any],
        base: str,
        name: str,
        original: str,
        seeds: list[int],
        executor: Executor,
        max_ip_wait: float,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.document, self.base, self.name, self.original = document, base, name, original
        self.seeds, self.executor, self.max_ip_wait = seeds, executor, max_ip_wait
        self.progress = progress
        self.key_path = _locate(document, name)
        self.network_base = ipaddress.IPv4Network(original).network_address
        self.cache: dict[int, list[Outcome]] = {}
        self.normal: list[Outcome] = []

    def cidr(self, prefix: int) -> str:
        return f"{self.network_base}/{prefix}"

    def evaluate(self, prefix: int) -> list[Outcome]:
        if prefix not in self.cache:
            doc = apply_settings(self.document, {self.key_path: self.cidr(prefix)})
            specs = [
                RunSpec(doc, s, self.base, {"subnet": self.name, "prefix": prefix}, replica=r)
                for r, s in enumerate(self.seeds)
            ]
            outcomes = self.executor.map(specs, self.progress)
            gone = next((o for o in outcomes if o.lost), None)
            if gone is not None:
                # A lost run says nothing about the prefix: a verdict without it could
                # be a wrong answer, so the plan stops.
                raise IpsimError(
                    f"subnet {self.name!r}: a run at /{prefix} was {gone.error}; "
                    "no plan was written: run it again"
                )
            self.cache[prefix] = outcomes
        return self.cache[prefix]

    def passes(self, prefix: int) -> tuple[bool, list[str]]:
        reasons: list[str] = []
        for outcome, normal in zip(self.evaluate(prefix), self.normal, strict=True):
            reasons += _reasons(outcome, normal, self.max_ip_wait)
        return not reasons, sorted(set(reasons), key=reasons.index)

    def run(self, path: str) -> SubnetPlan:
        # The largest subnet that validates (inside the VNet, no overlap) is the normal.
        candidates = _candidates(self.original)
        while candidates:
            outcomes = self.evaluate(candidates[0])
            if all(o.error is None for o in outcomes):
                self.normal = outcomes
                break
            candidates.pop(0)
        if not self.normal:
            raise IpsimError(f"{path}: subnet {self.name!r}: no prefix from its base is valid")
        ok, why = self.passes(candidates[0])
        if not ok:
            return SubnetPlan(self.name, self.original, None, None, None, None, "; ".join(why))
        # Candidates ascend (index 0 is the largest subnet); find the last that passes.
        lo, hi = 0, len(candidates) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.passes(candidates[mid])[0]:
                lo = mid
            else:
                hi = mid - 1
        best = candidates[lo]
        peak = max(
            o.summary["subnets"][self.name]["peak_allocated"]
            for o in self.evaluate(best)
            if o.summary
        )
        failing = candidates[lo + 1] if lo + 1 < len(candidates) else None
        why_text = "; ".join(self.passes(failing)[1]) if failing is not None else ""
        return SubnetPlan(
            self.name,
            self.original,
            self.cidr(best),
            2 ** (32 - best) - 5,
            peak,
            self.cidr(failing) if failing is not None else None,
            why_text or ("/29 is the smallest Azure subnet" if failing is None else ""),
        )

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for prefix, outcomes in sorted(self.cache.items()):
            ok, _ = self.passes(prefix) if self.normal else (False, [])
            usable = 2 ** (32 - prefix) - 5
            for o in outcomes:
                s = o.summary
                sub = s["subnets"].get(self.name) if s else None
                normal = self.normal[o.replica] if self.normal else None
                out.append(
                    {
                        "subnet": self.name,
                        "prefix": prefix,
                        "cidr": self.cidr(prefix),
                        "usable": usable,
                        "replica": o.replica,
                        "seed": o.seed,
                        "passed": ok,
                        "peak_allocated": sub["peak_allocated"] if sub else None,
                        "headroom": usable - sub["peak_allocated"] if sub else None,
                        "nodes_failed": s["nodes"]["failed"] if s else None,
                        "max_ip_wait_s": s["pods"]["ip_wait_s"]["max"] if s else None,
                        "reasons": "; ".join(_reasons(o, normal, self.max_ip_wait)),
                    }
                )
        return out
