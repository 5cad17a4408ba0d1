"""Terminal output of ``rag eval`` (Rich): progress, summary table, breakdowns, flips, verdict.

Rich is imported inside the functions, so importing :mod:`rag.eval` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .gate import Flip, GateResult
from .records import METRICS, TOP_SHOWN, GroupMetrics, format_metric, format_rank

if TYPE_CHECKING:
    from .run import EvalRun

FLIPS_SHOWN = 20


def consoles():
    """``(stdout console, stderr console)``; a non-terminal stdout gets 120 columns."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console.width = 120  # CI logs and pipes: do not squeeze the tables into 80 columns
    return console, Console(stderr=True)


@contextmanager
def evaluating(err, total: int) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on ``err``; yields the ``progress(done, total)`` callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("evaluating"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("eval", total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def print_summary(console, run: EvalRun, gate: Sequence[GateResult], splits: Mapping[str, GroupMetrics],
                  docs: Mapping[str, GroupMetrics], tags: Mapping[str, GroupMetrics]) -> None:
    """Summary table (metric, now, baseline, Δ, tolerance, floor, status) and breakdowns."""
    from rich import box
    from rich.table import Table

    t = Table(title=f"rag eval — {len(run.records)} questions, mode={run.mode}", title_justify="left")
    for col in ("metric", "now", "baseline", "Δ", "tol", "floor", "status"):
        t.add_column(col, justify="left" if col in ("metric", "status") else "right")
    colour = {"ok": "green", "regressed": "red", "below-floor": "red", "missing": "red", "n/a": "dim", "info": "dim"}
    for g in gate:
        t.add_row(METRICS[g.metric][0], format_metric(g.metric, g.value), format_metric(g.metric, g.baseline), g.delta_text(),
                  "" if g.tolerance is None else f"{g.tolerance:.2f}", "" if g.floor is None else f"{g.floor:.2f}",
                  f"[{colour[g.status]}]{g.status}[/]")
    console.print(t)
    # Short headers (explained in the caption) keep the breakdowns narrow.
    cols = {"hit@1": "h@1", "hit@5": "h@5", "hit@10": "h@10", "evidence_recall@10": "rec@10", "mrr@10": "MRR",
            "key_fact_recall": "facts", "all_facts_rate": "all", "abstention_rate": "abst"}
    for title, groups in (("tuned vs held-out", splits), ("per document", docs), ("per tag", tags)):
        bt = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, caption_justify="left",
                   caption=", ".join(f"{v}={METRICS[k][0]}" for k, v in cols.items()) if title == "per tag" else None)
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
        for rank, (x, y) in enumerate(flip.top_pairs(), 1):
            out.append(f"      {rank}. {x:<34} {y}")
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


def print_verdict(console, gate: Sequence[GateResult], note: str) -> int:
    """Print "gate FAILED" with each failing metric, or "gate passed" + ``note``; return the exit code."""
    failed = [g for g in gate if g.failed]
    if failed:
        console.print("[bold red]gate FAILED:[/]")
        for g in failed:
            console.print(f"  [red]✗[/] {g.message}")
        return 1
    console.print("[bold green]gate passed[/]" + note)
    return 0
