"""The self-contained HTML report of ``rag eval`` (inline SVG bars, CSS from ``report.css``, no scripts).

Sections: verdict banner, metrics against the baseline, breakdowns (tuned vs held-out, per
document, per tag), flipped questions, all questions, settings.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from .gate import Flip, GateResult
from .records import METRICS, GroupMetrics, QuestionRecord, QuestionSummary, format_metric, format_rank

if TYPE_CHECKING:
    from .run import EvalRun

e = html.escape


@cache
def report_css() -> str:
    """The report's style sheet (``rag/eval/report.css``, shipped as package data)."""
    return resources.files("rag.eval").joinpath("report.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ReportInfo:
    """What the report shows besides the run: inputs, baseline, settings and the breakdowns."""

    gold: str
    corpus_hash: str = ""
    baseline: str | None = None
    baseline_created: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    splits: Mapping[str, GroupMetrics] = field(default_factory=dict)
    docs: Mapping[str, GroupMetrics] = field(default_factory=dict)
    tags: Mapping[str, GroupMetrics] = field(default_factory=dict)


def svg_bars(rows: Sequence[tuple[str, list[float | None]]], series: Sequence[tuple[str, str]], marks: Sequence[float | None] = ()) -> str:
    """Horizontal grouped bar chart (values 0..1) as inline SVG.

    ``rows``: (label, one value per series); ``series``: (name, colour); ``marks``: optional
    per-row tick (e.g. a floor) drawn as a dark line.
    """
    label_w, bar_w, bar_h, gap = 230, 520, 12, 8
    group_h = bar_h * len(series) + gap
    height = group_h * len(rows) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 70}" height="{height}" role="img" font-size="12">']
    for x in (0, 0.25, 0.5, 0.75, 1.0):
        px = label_w + x * bar_w
        out.append(f'<line x1="{px:.1f}" y1="0" x2="{px:.1f}" y2="{height - 18}" stroke="#eee"/>')
        out.append(f'<text x="{px:.1f}" y="{height - 4}" text-anchor="middle" fill="#888">{x:.2f}</text>')
    for i, (label, values) in enumerate(rows):
        y0 = i * group_h + 4
        out.append(f'<text x="{label_w - 8}" y="{y0 + group_h / 2}" text-anchor="end" dominant-baseline="middle">{e(label)}</text>')
        for j, ((_, colour), v) in enumerate(zip(series, values)):
            y = y0 + j * bar_h
            if v is None:
                out.append(f'<text x="{label_w + 4}" y="{y + bar_h - 2}" fill="#aaa">–</text>')
                continue
            w = max(0.0, min(1.0, v)) * bar_w
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colour}"/>')
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" fill="#444">{v:.3f}</text>')
        mark = marks[i] if i < len(marks) else None
        if mark is not None:
            px = label_w + mark * bar_w
            out.append(f'<line x1="{px:.1f}" y1="{y0 - 2}" x2="{px:.1f}" y2="{y0 + group_h - gap + 2}" stroke="#222" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)


def legend(series: Sequence[tuple[str, str]], extra: str = "") -> str:
    """Colour legend for :func:`svg_bars`."""
    items = "".join(f'<span style="background:{c}"></span>{e(n)}' for n, c in series)
    return f'<div class="legend">{items}{extra}</div>'


def _gate_section(gate: Sequence[GateResult]) -> list[str]:
    parts = []
    rate_gate = [g for g in gate if METRICS[g.metric][1] == "rate"]
    series = [("baseline", "#b0bec5"), ("now", "#1e88e5")]
    parts.append(legend(series, '<span style="background:#222;width:3px"></span>floor (ceiling for false abstention)'))
    parts.append(svg_bars([(METRICS[g.metric][0], [g.baseline, g.value]) for g in rate_gate], series, [g.floor for g in rate_gate]))
    rows = []
    for g in gate:
        cls = "fail" if g.failed else ("ok" if g.status == "ok" else "dim")
        rows.append(f"<tr><td>{e(METRICS[g.metric][0])}</td><td class='num'>{format_metric(g.metric, g.value)}</td>"
                    f"<td class='num'>{format_metric(g.metric, g.baseline)}</td><td class='num'>{g.delta_text()}</td>"
                    f"<td class='num'>{'' if g.tolerance is None else f'{g.tolerance:.2f}'}</td>"
                    f"<td class='num'>{'' if g.floor is None else f'{g.floor:.2f}'}</td><td class='{cls}'>{e(g.status)}</td></tr>")
    parts.append("<table><tr><th>metric</th><th>now</th><th>baseline</th><th>Δ</th><th>tolerance</th><th>floor</th><th>status</th></tr>"
                 + "".join(rows) + "</table>")
    return parts


def _breakdown_section(title: str, groups: Mapping[str, GroupMetrics]) -> list[str]:
    bseries = [("hit@5", "#1e88e5"), ("evidence recall@10", "#43a047"), ("key-fact recall", "#fb8c00")]
    parts = [f"<h2>{e(title)}</h2>", legend(bseries)]
    parts.append(svg_bars([(f"{k} (n={g.n})", [g.metrics.hit_at_5, g.metrics.evidence_recall_at_10, g.metrics.key_fact_recall])
                           for k, g in groups.items()], bseries))
    cols = ("hit@1", "hit@5", "hit@10", "evidence_recall@10", "mrr@10", "key_fact_recall", "all_facts_rate",
            "abstention_rate", "false_abstention_rate")
    head = "".join(f"<th>{e(METRICS[c][0])}</th>" for c in cols)
    body = "".join(f"<tr><td>{e(k)}</td><td class='num'>{g.n}</td>" + "".join(f"<td class='num'>{format_metric(c, g.metrics.get(c))}</td>" for c in cols)
                   + "</tr>" for k, g in groups.items())
    parts.append(f"<details><summary>table</summary><table><tr><th>group</th><th>n</th>{head}</tr>{body}</table></details>")
    return parts


def _question_row(r: QuestionRecord) -> str:
    ret, ans = r.retrieval, r.answer
    ranks = ", ".join(format_rank(x.rank) for x in r.evidence) or "–"
    ok = (ret is None or ret.hit_at_5 >= 1.0) and (ans is None or ans.all_facts is not False) and (ans is None or ans.abstained != r.answerable)
    facts = ("–" if ans.key_fact_recall is None else f"{ans.key_fact_recall:.2f}") if ans else "–"
    return (f"<tr class='{'pass' if ok else 'bad'}'><td class='q'>{e(r.id)}</td><td>{e(r.question)}</td>"
            f"<td>{e(', '.join(r.tags))}</td><td>{e(ranks)}</td><td class='num'>{facts}</td>"
            f"<td>{'' if not ans else ('abstained' if ans.abstained else e(ans.text[:120]))}</td></tr>")


def render_report(run: EvalRun, gate: Sequence[GateResult], flips: Sequence[Flip], info: ReportInfo, warnings: Sequence[str]) -> str:
    """The self-contained HTML report: verdict, metrics vs baseline, breakdowns, flips, all questions."""
    failed = [g for g in gate if g.failed]
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>rag eval report</title><style>{report_css()}</style></head><body>"]
    parts.append("<h1>政策问答助手 — evaluation report</h1>")
    verdict = "GATE FAILED" if failed else "GATE PASSED"
    parts.append(f"<div class='banner {'fail' if failed else 'ok'}'>{verdict}: {len(failed)} failing metric(s), "
                 f"{sum(f.direction == 'worse' for f in flips)} question(s) got worse, "
                 f"{sum(f.direction == 'better' for f in flips)} got better.</div>")
    for g in failed:
        parts.append(f"<div class='fail'>✗ {e(g.message)}</div>")
    for w in list(warnings) + run.notices:
        parts.append(f"<div class='warn'>{e(w)}</div>")
    meta = [("gold file", info.gold), ("items", len(run.records)), ("mode", run.mode), ("run time", f"{run.seconds:.1f}s"),
            ("corpus hash", info.corpus_hash[:16]), ("baseline", info.baseline or "none (floors only)"),
            ("baseline made", info.baseline_created or "–")]
    parts.append("<table>" + "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in meta) + "</table>")

    parts.append("<h2>Metrics against the baseline</h2>")
    parts += _gate_section(gate)
    for title, groups in (("Tuned vs held-out", info.splits), ("Per document", info.docs), ("Per tag", info.tags)):
        parts += _breakdown_section(title, groups)

    parts.append(f"<h2>Questions that flipped ({len(flips)})</h2>")
    if info.baseline is None:
        parts.append("<p class='dim'>No baseline: nothing to compare against.</p>")
    elif not flips:
        parts.append("<p>No question changed outcome against the baseline.</p>")
    parts += [flip_html(f) for f in flips]

    parts.append("<h2>All questions</h2>")
    parts.append("<details open><summary>per-question results (evidence ranks, key-fact recall, answer)</summary><table>"
                 "<tr><th>id</th><th>question</th><th>tags</th><th>evidence rank</th><th>facts</th><th>answer</th></tr>"
                 + "".join(_question_row(r) for r in run.records) + "</table></details>")
    parts.append("<h2>Settings</h2><table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in info.settings.items()) + "</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def flip_html(f: Flip) -> str:
    """One flipped question: aspects, evidence ranks, key facts, top chunks and answers before/now."""
    b, n = f.before, f.now
    changes = "".join(f"<li>{e(k)}: <b>{'pass' if x else 'fail'}</b> → <b class='{'ok' if y else 'fail'}'>{'pass' if y else 'fail'}</b></li>"
                      for k, (x, y) in f.changes.items())
    old = {(x.doc, x.quote): x.rank for x in b.evidence}
    ev_rows = "".join(f"<tr><td>{e(x.quote)}</td><td>{e(x.doc or 'any')}</td><td>{format_rank(old.get((x.doc, x.quote)))}</td>"
                      f"<td class='{'ok' if x.rank else 'fail'}'>{format_rank(x.rank)}</td></tr>" for x in n.evidence)
    ev = f"<table><tr><th>evidence quote</th><th>doc</th><th>rank before</th><th>rank now</th></tr>{ev_rows}</table>" if ev_rows else ""
    facts = ""
    if b.facts_found is not None or n.facts_found is not None:
        facts = (f"<div>key facts found before: {e(', '.join(b.facts_found or []) or '–')}<br>"
                 f"key facts found now: {e(', '.join(n.facts_found or []) or '–')}</div>")
    pairs = f.top_pairs()

    def cell(label: str, q: QuestionSummary, i: int) -> str:
        texts = q.top_text or ()
        snippet = f"<br><span class='dim'>{e(texts[i])}…</span>" if i < len(texts) else ""
        return f"<td class='{'ok' if label.endswith('*') else ''}'>{e(label)}{snippet}</td>"

    tops = ("<table><tr><th>rank</th><th>retrieved before</th><th>retrieved now</th></tr>"
            + "".join(f"<tr><td class='num'>{i + 1}</td>{cell(x, b, i)}{cell(y, n, i)}</tr>" for i, (x, y) in enumerate(pairs))
            + "</table><div class='dim'>* the chunk holds an evidence quote</div>") if pairs else ""
    answers = ""
    if b.answer is not None or n.answer is not None:
        answers = (f"<details><summary>answers</summary><div>before: {e(str(b.answer or '–'))}</div>"
                   f"<div>now: {e(str(n.answer or '–'))}</div></details>")
    return (f"<div class='flip {f.direction}'><b class='q'>{e(f.id)}</b> {e(n.question)} "
            f"<span class='{'fail' if f.direction == 'worse' else 'ok'}'>({f.direction})</span><ul>{changes}</ul>{ev}{facts}{tops}{answers}</div>")
