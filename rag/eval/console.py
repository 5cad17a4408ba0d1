"""Terminal output of ``rag eval`` (Rich): progress, the split table, gates, targets, paraphrase
consistency, breakdowns, flips, verdict.

Rich is imported inside the functions, so importing :mod:`rag.eval` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .gate import Flip, GateResult, TargetResult
from .metrics import breakdown
from .records import METRICS, TOP_SHOWN, GroupMetrics, format_metric, format_rank

if TYPE_CHECKING:
    from .run import EvalResult

FLIPS_SHOWN = 20


def consoles():
    """``(stdout console, stderr console)``; a non-terminal stdout gets 120 columns."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console.width = 120  # CI logs and pipes: do not squeeze the tables into 80 columns
    return console, Console(stderr=True)


@contextmanager
def evaluating(err) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on ``err``; yields the ``progress(done, total)`` callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("evaluating"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("eval", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


_COLOUR = {"ok": "green", "regressed": "red", "below-floor": "red", "missing": "red", "n/a": "dim", "info": "dim"}


def split_rows(result: EvalResult) -> list[list[str]]:
    """The rows of the side-by-side table: metric label, then one value per split run
    (``✗`` marks a metric that fails that split's gate)."""
    gates = {name: {g.metric: g for g in s.gate} for name, s in result.splits.items()}
    rows = []
    for m in METRICS:
        cells = []
        for name in result.splits:
            g = gates[name].get(m)
            cells.append("–" if g is None else format_metric(m, g.value) + (" ✗" if g.failed else ""))
        if any(c != "–" for c in cells):
            rows.append([METRICS[m][0], *cells])
    return rows


def print_result(console, result: EvalResult) -> None:
    """Notices and warnings, the side-by-side split table, each split's gate, the frozen targets,
    paraphrase consistency and the dev breakdowns."""
    from rich.table import Table

    for n in result.notices:
        console.print(f"[yellow]notice:[/] {n}")
    for w in result.warnings:
        console.print(f"[yellow]{w}[/]")
    t = Table(title=f"rag eval — mode={result.dev.run.mode}", title_justify="left")
    t.add_column("metric")
    for name, s in result.splits.items():
        t.add_column(f"{name} ({len(s.run.records)})", justify="right")
    for row in split_rows(result):
        t.add_row(row[0], *(f"[red]{c}[/]" if c.endswith("✗") else c for c in row[1:]))
    console.print(t)
    for s in result.splits.values():
        print_gate(console, s.name, s.gate, all_rows=s.name == "dev")
    if result.targets:
        print_targets(console, result.targets, result.enforce_targets)
    if result.consistency is not None:
        print_consistency(console, result)
    d = result.dev.run.records
    print_breakdowns(console, breakdown(d, "heldout"), breakdown(d, "doc"), breakdown(d, "tag"))


def print_gate(console, split: str, gate: Sequence[GateResult], all_rows: bool = True) -> None:
    """One split against its baseline: metric, now, baseline, Δ, tolerance, floor, status
    (``all_rows=False``: only the gated metrics)."""
    from rich.table import Table

    t = Table(title=f"{split} split vs baseline", title_justify="left")
    for col in ("metric", "now", "baseline", "Δ", "tol", "floor", "status"):
        t.add_column(col, justify="left" if col in ("metric", "status") else "right")
    for g in gate:
        if not all_rows and g.tolerance is None:
            continue
        t.add_row(METRICS[g.metric][0], format_metric(g.metric, g.value), format_metric(g.metric, g.baseline), g.delta_text(),
                  "" if g.tolerance is None else f"{g.tolerance:.2f}", "" if g.floor is None else f"{g.floor:.2f}",
                  f"[{_COLOUR[g.status]}]{g.status}[/]")
    console.print(t)


def print_targets(console, targets: Sequence[TargetResult], enforced: bool) -> None:
    """The frozen split's absolute targets: met / not met and the value."""
    from rich.table import Table

    how = "enforced (--enforce-targets)" if enforced else "reported, not enforced (rag eval --enforce-targets fails on them)"
    t = Table(title=f"frozen split targets (issue #15) — {how}", title_justify="left")
    for col in ("metric", "target", "frozen", "status"):
        t.add_column(col, justify="right" if col == "frozen" else "left")
    for r in targets:
        colour = "green" if r.met else ("red" if enforced else "yellow")
        t.add_row(METRICS[r.target.metric][0], r.target.text(), format_metric(r.target.metric, r.value), f"[{colour}]{r.status}[/]")
    console.print(t)


def print_consistency(console, result: EvalResult) -> None:
    """Paraphrase consistency and key-fact recall on the paraphrases vs their originals."""
    c = result.consistency
    if c is None:  # no paraphrase split in this run
        return
    para = result.splits["paraphrase"].run.metrics
    inconsistent = [it.id for it in c.items if not it.consistent]
    console.print(f"paraphrase consistency: {format_metric('paraphrase_consistency', c.rate)} "
                  f"({c.consistent} of {len(c.items)} dev questions: every paraphrase recovers the key facts the original does); "
                  f"key-fact recall on the paraphrases {format_metric('key_fact_recall', para.key_fact_recall)} "
                  f"vs {format_metric('key_fact_recall', c.original_key_fact_recall)} on their originals", highlight=False)
    if inconsistent:
        console.print("  inconsistent: " + ", ".join(inconsistent), highlight=False)


def print_breakdowns(console, heldout: Mapping[str, GroupMetrics], docs: Mapping[str, GroupMetrics],
                     tags: Mapping[str, GroupMetrics]) -> None:
    """The dev split per group: tuned vs held-out, per document, per tag."""
    from rich import box
    from rich.table import Table

    # Short headers (explained in the caption) keep the breakdowns narrow.
    cols = {"hit@1": "h@1", "hit@5": "h@5", "hit@10": "h@10", "evidence_recall@10": "rec@10", "mrr@10": "MRR",
            "key_fact_recall": "facts", "all_facts_rate": "all", "abstention_rate": "abst"}
    for title, groups in (("dev: tuned vs held-out", heldout), ("dev: per document", docs), ("dev: per tag", tags)):
        bt = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, caption_justify="left",
                   caption=", ".join(f"{v}={METRICS[k][0]}" for k, v in cols.items()) if title == "dev: per tag" else None)
        bt.add_column("group", no_wrap=True, max_width=22, overflow="ellipsis")
        bt.add_column("n", justify="right", min_width=2)
        for header in cols.values():
            bt.add_column(header, justify="right", no_wrap=True, min_width=max(4, len(header)))
        for name, g in groups.items():
            bt.add_row(name, str(g.n), *("–" if (v := g.metrics.get(c)) is None else f"{v:.2f}" for c in cols))
        console.print(bt)


def flip_lines(flip: Flip) -> list[str]:
    """A readable, plain-text diff of one flipped question."""
    b, n = flip.before, flip.now
    mark = "✗" if flip.direction == "worse" else "✓"
    out = [f"{mark} {flip.id}  {n.question}"]
    for aspect, (x, y) in flip.changes.items():
        out.append(f"    {aspect}: {'pass' if x else 'fail'} → {'pass' if y else 'fail'}")
    old_ranks = {(e.doc, e.quote): e.rank for e in b.evidence}
    for e in n.evidence:
        before = old_ranks.get((e.doc, e.quote))
        out.append(f"    evidence “{e.quote}” [{e.doc or 'any'}]: {format_rank(before)} → {format_rank(e.rank)}")
    if b.facts_found is not None and n.facts_found is not None:
        lost = [f for f in b.facts_found if f not in n.facts_found]
        gained = [f for f in n.facts_found if f not in b.facts_found]
        if lost:
            out.append(f"    key facts lost: {', '.join(lost)}")
        if gained:
            out.append(f"    key facts gained: {', '.join(gained)}")
    if b.top != n.top:
        out.append(f"    top {TOP_SHOWN} (* = holds evidence)   before → now")
        for rank, (was, now) in enumerate(flip.top_pairs(), 1):
            out.append(f"      {rank}. {was:<34} {now}")
    if b.abstained != n.abstained and n.abstained is not None:
        out.append(f"    abstained: {b.abstained} → {n.abstained}")
    return out


def print_flips(console, flips: Sequence[Flip]) -> None:
    """How many questions got worse or better, and the diff of the first :data:`FLIPS_SHOWN`."""
    if not flips:
        return
    worse = [f for f in flips if f.direction == "worse"]
    console.print(f"\n[bold]{len(worse)} question(s) got worse, {len(flips) - len(worse)} got better against the baseline:[/]")
    for f in flips[:FLIPS_SHOWN]:
        console.print("\n".join(flip_lines(f)), markup=False, highlight=False)
    if len(flips) > FLIPS_SHOWN:
        console.print(f"… {len(flips) - FLIPS_SHOWN} more in the report")


def print_verdict(console, result: EvalResult, note: str) -> int:
    """Print "gate FAILED" with each failure, or "gate passed" + ``note``; return the exit code."""
    failures = result.failures()
    if failures:
        console.print("[bold red]gate FAILED:[/]")
        for f in failures:
            console.print(f"  [red]✗[/] {f}", highlight=False)
        return 1
    console.print("[bold green]gate passed[/]" + note)
    return 0
