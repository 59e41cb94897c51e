"""``ipsim plan``: the smallest prefix for each subnet under which a scenario passes its
checks, and a size with headroom beside it.

A prefix passes when every replica's verdict is PASS: the scenario's ``checks:`` (or
``--checks``), the one definition of :mod:`simulator.scenario.checks`. The search, per
subnet, keeping its base address and the other subnets' sizes:

1. **Room to spare.** A first run with the largest valid prefix (from /8, aligned,
   inside the VNet, overlapping no other subnet) gives the peak the scenario needs.
2. **A bracket.** The smallest prefix that still holds that peak, and the next smaller
   one, run together: usually the first passes and the second fails, and that is the
   answer.
3. **Bisection** over the prefixes on the side where the bracket was wrong (a bigger
   subnet never does worse), reusing every run made.

Every candidate run stops the instant it fails a check, so a prefix that is too small
costs its first failure, not the whole scenario. Ctrl-C keeps the runs that finished and
the answer so far.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.core.addressing import MAX_PREFIX, MIN_PREFIX, smallest_prefix, usable_addresses
from simulator.errors import IpsimError
from simulator.experiments.executors import Executor, RunsInterrupted, run_all
from simulator.experiments.runs import Outcome, RunSpec, run_seeds
from simulator.results.folders import write_folder
from simulator.scenario.checks import with_checks
from simulator.scenario.loader import load_scenario, read_document
from simulator.scenario.variants import apply_settings

__all__ = ["DEFAULT_HEADROOM", "Plan", "SubnetPlan", "plan"]

#: Free share of the recommended size at the peak with room to spare, in percent.
DEFAULT_HEADROOM = 25.0


@dataclass
class SubnetPlan:
    """The answer for one subnet."""

    subnet: str
    original: str
    best: str | None  # the smallest CIDR that passes
    usable: int | None
    peak_allocated: int | None  # at ``best``
    first_failing: str | None
    failure: str  # why the first failing prefix fails (or why none works)
    recommended: str | None = None  # a size with headroom, never smaller than ``best``
    recommended_usable: int | None = None
    peak_with_room: int | None = None  # the peak with the largest prefix
    headroom_percent: float = DEFAULT_HEADROOM
    note: str = ""

    def sentence(self) -> str:
        if self.best is None:
            return f"{self.subnet}: no prefix from {self.original}'s base passes: {self.failure}"
        share = f"{self.peak_allocated / self.usable:.0%}" if self.usable else "-"
        text = (
            f"{self.subnet}: smallest passing {self.best} ({self.usable:,} usable, peak "
            f"{self.peak_allocated:,} allocated = {share}; was {self.original})"
        )
        if self.recommended and self.recommended_usable:
            text += (
                f"; recommended {self.recommended} ({self.recommended_usable:,} usable: "
                f"{self.headroom_percent:g}% above the peak of {self.peak_with_room:,})"
            )
        if self.first_failing:
            text += f"; {self.first_failing} fails: {self.failure}"
        elif self.failure:
            text += f"; {self.failure}"
        if self.note:
            text += f" ({self.note})"
        return text


@dataclass
class Plan:
    """Every run made and the answer per subnet."""

    name: str
    subnets: list[SubnetPlan]
    table: pd.DataFrame
    runs: int = 0
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        from simulator.charts.planning import plot_plan

        answer = pd.DataFrame([vars(s) for s in self.subnets])

        def fill(folder: Path) -> None:
            self.table.to_csv(folder / "plan.csv", index=False)
            answer.to_csv(folder / "answer.csv", index=False)
            lines = [s.sentence() for s in self.subnets]
            if self.interrupted:
                lines.append("interrupted: the answer so far, from the runs that finished")
            (folder / "plan.txt").write_text("\n".join(lines) + "\n")
            if len(self.table):
                plot_plan(self.table, answer, f"{self.name}: plan", folder / "plan.png")

        return write_folder(directory, fill, force=force)


def _locate(document: dict[str, Any], name: str) -> str:
    for v, vnet in enumerate(document["network"]["vnets"]):
        for s, subnet in enumerate(vnet["subnets"]):
            if subnet["name"] == name:
                return f"network.vnets[{v}].subnets[{s}].cidr"
    raise IpsimError(f"no subnet named {name!r}")


def _aligned(cidr: str) -> list[int]:
    """Prefix lengths that keep the subnet's base address, largest subnet first."""
    base = ipaddress.IPv4Network(cidr).network_address
    out = []
    for prefix in range(MIN_PREFIX, MAX_PREFIX + 1):
        try:
            ipaddress.IPv4Network(f"{base}/{prefix}")  # strict: base must be aligned
        except ValueError:
            continue
        out.append(prefix)
    return out


def _bisection_runs(unknown: int) -> int:
    """The most runs a bisection over ``unknown`` untried prefixes takes."""
    return math.ceil(math.log2(unknown + 1)) if unknown > 0 else 0


def plan(
    path: str | os.PathLike[str],
    *,
    subnets: list[str] | None = None,
    replicas: int = 1,
    seed: int | None = None,
    checks: dict[str, Any] | None = None,
    headroom: float = DEFAULT_HEADROOM,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Plan:
    """Find the smallest passing prefix of each subnet (the others keep their size).

    ``checks``: the command line's ``--checks`` over the scenario's. ``progress`` is
    called with 1 per finished run; ``on_total`` with the most runs the plan can still
    take, whenever that number changes (it ends equal to the runs made)."""
    document = read_document(path)
    if checks:
        document = with_checks(document, checks)
    base = str(Path(path).resolve().parent)
    try:
        scenario = load_scenario(document, base=base)
    except IpsimError as exc:
        raise IpsimError(f"{path}: {exc}") from None
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
    seeds = run_seeds(document, seed, replicas)
    searches = []
    for name in targets:
        original = next(s.cidr for v in scenario.network.vnets for s in v.subnets if s.name == name)
        searches.append(_Search(document, base, name, original, seeds, executor, str(path)))
    tally = _Tally(searches, len(seeds), progress, on_total)
    answers: list[SubnetPlan] = []
    interrupted = False
    for search in searches:
        try:
            answers.append(search.run(headroom, tally))
        except KeyboardInterrupt:
            interrupted = True
            partial = search.so_far(headroom)
            if partial is not None:
                answers.append(partial)
            break
    rows = [row for search in searches for row in search.rows()]
    runs = sum(search.runs for search in searches)
    tally.finish(runs)
    return Plan(str(document.get("name")), answers, pd.DataFrame(rows), runs, interrupted)


class _Tally:
    """The plan's total: runs made plus the most each search can still take."""

    def __init__(self, searches, replicas, progress, on_total) -> None:
        self.searches, self.replicas = searches, replicas
        self.progress, self.on_total = progress, on_total
        self.last: int | None = None
        self.update()

    def update(self) -> None:
        total = sum(s.runs + s.still_to_run() * self.replicas for s in self.searches)
        if self.on_total is not None and total != self.last:
            self.on_total(total)
        self.last = total

    def finish(self, runs: int) -> None:
        if self.on_total is not None and runs != self.last:
            self.on_total(runs)


class _Search:
    """The search for one subnet, with every run it made."""

    def __init__(self, document, base, name, original, seeds, executor, path) -> None:
        self.document, self.base, self.name, self.original = document, base, name, original
        self.seeds, self.executor, self.path = seeds, executor, path
        self.key_path = _locate(document, name)
        self.network_base = ipaddress.IPv4Network(original).network_address
        self.cache: dict[int, list[Outcome]] = {}
        self.partial: dict[int, list[Outcome]] = {}  # prefixes whose runs were interrupted
        self.candidates: list[int] = self._valid(_aligned(original))
        # What is known: ``lo`` passes, ``hi`` fails (indices into candidates; hi may be
        # one past the end). None until the first run and the bracket have told.
        self.lo: int | None = None
        self.hi: int | None = None
        self.peak: int | None = None
        self.stage = "first"

    @property
    def runs(self) -> int:
        return sum(map(len, self.cache.values())) + sum(
            sum(o is not None for o in outcomes) for outcomes in self.partial.values()
        )

    def cidr(self, prefix: int) -> str:
        return f"{self.network_base}/{prefix}"

    def _document(self, prefix: int) -> dict[str, Any]:
        return apply_settings(self.document, {self.key_path: self.cidr(prefix)})

    def _valid(self, prefixes: list[int]) -> list[int]:
        """From the first prefix whose scenario validates on (a smaller subnet at the same
        base stays inside the VNet and overlaps nothing the bigger one did not)."""
        for i, prefix in enumerate(prefixes):
            try:
                load_scenario(self._document(prefix), base=self.base)
            except IpsimError:
                continue
            return prefixes[i:]
        raise IpsimError(f"{self.path}: subnet {self.name!r}: no prefix from its base is valid")

    def still_to_run(self) -> int:
        """The most candidates the search may still run (each × replicas)."""
        n = len(self.candidates)
        if self.stage == "first":
            # The first run, the bracket, then a bisection on its wrong side.
            return 1 + min(2, n - 1) + _bisection_runs(max(n - 3, 0))
        if self.stage == "bracket":
            return min(2, n - 1) + _bisection_runs(max(n - 3, 0))
        if self.stage == "bisect":
            assert self.lo is not None and self.hi is not None
            return _bisection_runs(self.hi - self.lo - 1)
        return 0

    def evaluate(self, indices: list[int], tally: _Tally) -> None:
        """Run the candidates at ``indices`` (every replica of each) in one batch."""
        todo = [self.candidates[i] for i in indices if self.candidates[i] not in self.cache]
        specs = [
            RunSpec(
                self._document(prefix),
                s,
                self.base,
                {"subnet": self.name, "prefix": prefix},
                replica=r,
                stop_on_fail=True,
            )
            for prefix in todo
            for r, s in enumerate(self.seeds)
        ]
        if not specs:
            return

        def tick(n: int) -> None:
            if tally.progress is not None:
                tally.progress(n)

        try:
            outcomes = run_all(specs, self.executor, tick)
        except RunsInterrupted as exc:
            size = len(self.seeds)
            for k, prefix in enumerate(todo):
                done = exc.done[k * size : (k + 1) * size]
                if all(o is not None for o in done):
                    self.cache[prefix] = done  # type: ignore[assignment]
                elif any(o is not None for o in done):
                    self.partial[prefix] = done  # type: ignore[assignment]
            raise
        gone = next((o for o in outcomes if o.lost), None)
        if gone is not None:
            # A lost run says nothing about the prefix: a verdict without it could be a
            # wrong answer, so the plan stops.
            raise IpsimError(
                f"subnet {self.name!r}: a run at /{todo[0]} or a later prefix was "
                f"{gone.error}; no plan was written: run it again"
            )
        size = len(self.seeds)
        for k, prefix in enumerate(todo):
            self.cache[prefix] = outcomes[k * size : (k + 1) * size]

    def passes(self, index: int) -> bool:
        return all(_passed(o) for o in self.cache[self.candidates[index]])

    def reasons(self, index: int) -> list[str]:
        out: list[str] = []
        for outcome in self.cache[self.candidates[index]]:
            out += _reasons(outcome)
        return list(dict.fromkeys(out))

    def run(self, headroom: float, tally: _Tally) -> SubnetPlan:
        n = len(self.candidates)
        self.evaluate([0], tally)
        first = self.cache[self.candidates[0]]
        errors = [o.error for o in first if o.error]
        if errors:
            raise IpsimError(f"{self.path}: subnet {self.name!r}: {errors[0]}")
        self.peak = max(o.summary["subnets"][self.name]["peak_allocated"] for o in first)
        if not self.passes(0):
            self.stage = "done"
            tally.update()
            return SubnetPlan(
                self.name, self.original, None, None, None, None, "; ".join(self.reasons(0))
            )
        # The bracket: the smallest prefix that holds the peak, and the next smaller one.
        fits = smallest_prefix(self.peak) if self.peak > 0 else MAX_PREFIX
        guess = max((i for i, p in enumerate(self.candidates) if p <= fits), default=0)
        bracket = [i for i in (guess, guess + 1) if 0 < i < n]
        self.stage = "bracket"
        tally.update()
        self.evaluate(bracket, tally)
        self.lo, self.hi = 0, n  # 0 passes; n stands for "past /29"
        if guess == 0 or self.passes(guess):
            self.lo = guess
            if guess + 1 in bracket:
                if self.passes(guess + 1):
                    self.lo = guess + 1
                else:
                    self.hi = guess + 1
        else:
            self.hi = guess  # the peak's own size fails: search the bigger ones
        self.stage = "bisect"
        tally.update()
        while self.hi - self.lo > 1:
            mid = (self.lo + self.hi) // 2
            self.evaluate([mid], tally)
            if self.passes(mid):
                self.lo = mid
            else:
                self.hi = mid
            tally.update()
        self.stage = "done"
        tally.update()
        return self._answer(headroom)

    def _answer(self, headroom: float, note: str = "") -> SubnetPlan:
        assert self.lo is not None and self.peak is not None
        best = self.candidates[self.lo]
        peak = max(
            o.summary["subnets"][self.name]["peak_allocated"] for o in self.cache[best] if o.summary
        )
        failing = self.hi if self.hi is not None and self.hi < len(self.candidates) else None
        if failing is not None and self.candidates[failing] in self.cache:
            failure = "; ".join(self.reasons(failing))
        elif failing is None:
            failure = "/29 is the smallest Azure subnet"
        else:
            failure = ""
        # The recommendation: the smallest candidate, no smaller than ``best``, whose
        # usable addresses leave ``headroom`` % above the peak with room to spare.
        want = self.peak * (1 + headroom / 100)
        roomy = [i for i in range(self.lo + 1) if usable_addresses(self.candidates[i]) >= want]
        pick = max(roomy) if roomy else 0
        return SubnetPlan(
            self.name,
            self.original,
            self.cidr(best),
            usable_addresses(best),
            peak,
            self.cidr(self.candidates[failing]) if failing is not None else None,
            failure,
            recommended=self.cidr(self.candidates[pick]),
            recommended_usable=usable_addresses(self.candidates[pick]),
            peak_with_room=self.peak,
            headroom_percent=headroom,
            note=note,
        )

    def so_far(self, headroom: float) -> SubnetPlan | None:
        """The answer from the runs that finished (after Ctrl-C), or None if none did."""
        if not self.cache or self.candidates[0] not in self.cache or not self.passes(0):
            return None
        if self.peak is None:
            first = self.cache[self.candidates[0]]
            self.peak = max(o.summary["subnets"][self.name]["peak_allocated"] for o in first)
        known = [i for i in range(len(self.candidates)) if self.candidates[i] in self.cache]
        passing = [i for i in known if self.passes(i)]
        self.lo = max(passing)
        self.hi = min((i for i in known if i > self.lo and not self.passes(i)), default=None)
        if self.hi is None:
            self.hi = len(self.candidates) + 1  # nothing known to fail
        note = "interrupted: smaller prefixes were not all tried"
        answer = self._answer(headroom, note)
        if self.hi > len(self.candidates):
            answer.first_failing, answer.failure = None, ""
        return answer

    def rows(self) -> list[dict[str, Any]]:
        out = []
        results = {**self.partial, **self.cache}
        for prefix, outcomes in sorted(results.items()):
            complete = prefix in self.cache
            ok = complete and all(_passed(o) for o in outcomes)
            usable = usable_addresses(prefix)
            for o in outcomes:
                if o is None:
                    continue
                s = o.summary
                sub = s["subnets"].get(self.name) if s else None
                out.append(
                    {
                        "subnet": self.name,
                        "prefix": prefix,
                        "cidr": self.cidr(prefix),
                        "usable": usable,
                        "original": self.cidr(prefix) == self.original,
                        "replica": o.replica,
                        "seed": o.seed,
                        "passed": ok,
                        "verdict": s["verdict"] if s else "FAIL",
                        "stopped_at_s": s["stopped_at_s"] if s else None,
                        "peak_allocated": sub["peak_allocated"] if sub else None,
                        "headroom": usable - sub["peak_allocated"] if sub else None,
                        "nodes_failed": s["nodes"]["failed"] if s else None,
                        "max_ip_wait_s": s["pods"]["ip_wait_s"]["max"] if s else None,
                        "reasons": "; ".join(_reasons(o)),
                    }
                )
        return out


def _passed(outcome: Outcome) -> bool:
    return outcome.summary is not None and outcome.summary["verdict"] == "PASS"


def _reasons(outcome: Outcome) -> list[str]:
    if outcome.error is not None or outcome.summary is None:
        return [f"invalid: {outcome.error}"]
    return list(outcome.summary["reasons"])
