"""The self-contained HTML report of ``rag eval`` (inline SVG bars, CSS from ``report.css``, no scripts).

Sections: verdict banner, the splits side by side, the frozen targets, paraphrase consistency,
each split against its baseline, breakdowns (dev: tuned vs held-out, per document, per tag;
frozen: per tag), flipped questions, all questions (with their split), settings.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from .console import split_rows
from .gate import Flip, GateResult
from .metrics import breakdown
from .records import METRICS, GroupMetrics, QuestionRecord, QuestionSummary, format_metric, format_rank

if TYPE_CHECKING:
    from .run import EvalResult

e = html.escape


@cache
def report_css() -> str:
    """The report's style sheet (``rag/eval/report.css``, shipped as package data)."""
    return resources.files("rag.eval").joinpath("report.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ReportInfo:
    """What the report shows besides the run: the dev gold file, corpus, baseline and settings."""

    gold: str
    corpus_hash: str = ""
    baseline: str | None = None
    baseline_created: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


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
    return (f"<tr class='{'pass' if ok else 'bad'}'><td>{e(r.split)}</td><td class='q'>{e(r.id)}</td><td>{e(r.question)}</td>"
            f"<td>{e(', '.join(r.tags))}</td><td>{e(ranks)}</td><td class='num'>{facts}</td>"
            f"<td>{'' if not ans else ('abstained' if ans.abstained else e(ans.text[:120]))}</td></tr>")


def _split_section(result: EvalResult) -> list[str]:
    names = list(result.splits)
    colours = {"dev": "#1e88e5", "frozen": "#8e24aa", "paraphrase": "#fb8c00"}
    series = [(n, colours.get(n, "#607d8b")) for n in names]
    rates = [m for m in METRICS if METRICS[m][1] == "rate"]
    values = {n: s.run.metrics for n, s in result.splits.items()}
    bars = [(METRICS[m][0], [values[n].get(m) for n in names]) for m in rates if any(values[n].get(m) is not None for n in names)]
    head = "".join(f"<th>{e(n)} (n={len(s.run.records)})</th>" for n, s in result.splits.items())
    body = "".join("<tr><td>" + e(row[0]) + "</td>" + "".join(f"<td class='num{' fail' if c.endswith('✗') else ''}'>{e(c)}</td>" for c in row[1:])
                   + "</tr>" for row in split_rows(result))
    return ["<h2>Splits side by side</h2>", legend(series), svg_bars(bars, series),
            f"<table><tr><th>metric</th>{head}</tr>{body}</table><div class='dim'>✗ fails that split's gate</div>"]


def _targets_section(result: EvalResult) -> list[str]:
    if not result.targets:
        return []
    how = "enforced" if result.enforce_targets else "reported, not enforced (<code>rag eval --enforce-targets</code> fails on them)"
    rows = "".join(f"<tr><td>{e(METRICS[t.target.metric][0])}</td><td>{e(t.target.text())}</td>"
                   f"<td class='num'>{format_metric(t.target.metric, t.value)}</td>"
                   f"<td class='{'ok' if t.met else ('fail' if result.enforce_targets else 'warn')}'>{e(t.status)}</td></tr>" for t in result.targets)
    return [f"<h2>Frozen split targets (issue #15)</h2><p>{how}</p>",
            f"<table><tr><th>metric</th><th>target</th><th>frozen</th><th>status</th></tr>{rows}</table>"]


def _consistency_section(result: EvalResult) -> list[str]:
    c = result.consistency
    if c is None:
        return []
    para = result.splits["paraphrase"]
    questions = {r.id: r.question for r in result.dev.run.records}
    texts = {r.id: r.question for r in para.run.records}
    rows = []
    for it in c.items:
        found = "".join(f"<td>{e(texts.get(f'{it.id}/p{i}', ''))}<br><span class='dim'>{e(', '.join(f) or '–')}</span></td>"
                        for i, f in enumerate(it.paraphrases_found, 1))
        rows.append(f"<tr class='{'pass' if it.consistent else 'bad'}'><td class='q'>{e(it.id)}</td><td>{e(questions.get(it.id, ''))}<br>"
                    f"<span class='dim'>{e(', '.join(it.original_found) or '–')}</span></td>{found}"
                    f"<td>{'yes' if it.consistent else 'no'}</td></tr>")
    width = max((len(it.paraphrases_found) for it in c.items), default=0)
    heads = "".join(f"<th>paraphrase {i} (key facts found)</th>" for i in range(1, width + 1))
    return [f"<h2>Paraphrase consistency: {format_metric('paraphrase_consistency', c.rate)} ({c.consistent} of {len(c.items)})</h2>",
            "<p>A dev question is consistent when every paraphrase recovers exactly the key facts its original recovers. "
            f"Key-fact recall on the paraphrases {format_metric('key_fact_recall', para.run.metrics.key_fact_recall)}, "
            f"on their originals {format_metric('key_fact_recall', c.original_key_fact_recall)}.</p>",
            f"<details><summary>per question</summary><table><tr><th>id</th><th>original (key facts found)</th>{heads}"
            f"<th>consistent</th></tr>{''.join(rows)}</table></details>"]


def render_report(result: EvalResult, info: ReportInfo) -> str:
    """The self-contained HTML report: verdict, splits side by side, targets, paraphrase
    consistency, each split against its baseline, breakdowns, flips, all questions."""
    failures, flips = result.failures(), result.flips()
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>rag eval report</title><style>{report_css()}</style></head><body>"]
    parts.append("<h1>政策问答助手 — evaluation report</h1>")
    verdict = "GATE FAILED" if failures else "GATE PASSED"
    parts.append(f"<div class='banner {'fail' if failures else 'ok'}'>{verdict}: {len(failures)} failure(s), "
                 f"{sum(f.direction == 'worse' for f in flips)} question(s) got worse, "
                 f"{sum(f.direction == 'better' for f in flips)} got better.</div>")
    parts += [f"<div class='fail'>✗ {e(f)}</div>" for f in failures]
    parts += [f"<div class='warn'>{e(w)}</div>" for w in result.warnings + result.notices]
    meta = [(f"{n} split", f"{s.path} ({len(s.run.records)} questions)") for n, s in result.splits.items()]
    meta += [("mode", result.dev.run.mode), ("run time", f"{sum(s.run.seconds for s in result.splits.values()):.1f}s"),
             ("corpus hash", info.corpus_hash[:16]), ("baseline", info.baseline or "none (floors only)"),
             ("baseline made", info.baseline_created or "–")]
    parts.append("<table>" + "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in meta) + "</table>")
    parts += _split_section(result) + _targets_section(result) + _consistency_section(result)
    for s in result.splits.values():
        parts.append(f"<h2>{e(s.name)} split against the baseline</h2>")
        parts += _gate_section(s.gate if s.name == "dev" else [g for g in s.gate if g.tolerance is not None])
    dev = result.dev.run.records
    groups = [("dev: tuned vs held-out", breakdown(dev, "heldout")), ("dev: per document", breakdown(dev, "doc")),
              ("dev: per tag", breakdown(dev, "tag"))]
    if "frozen" in result.splits:
        groups.append(("frozen: per tag", breakdown(result.splits["frozen"].run.records, "tag")))
    for title, g in groups:
        parts += _breakdown_section(title, g)

    parts.append(f"<h2>Questions that flipped ({len(flips)})</h2>")
    if info.baseline is None:
        parts.append("<p class='dim'>No baseline: nothing to compare against.</p>")
    elif not flips:
        parts.append("<p>No question changed outcome against the baseline.</p>")
    parts += [flip_html(f) for f in flips]

    parts.append("<h2>All questions</h2>")
    parts.append("<details open><summary>per-question results (evidence ranks, key-fact recall, answer)</summary><table>"
                 "<tr><th>split</th><th>id</th><th>question</th><th>tags</th><th>evidence rank</th><th>facts</th><th>answer</th></tr>"
                 + "".join(_question_row(r) for r in result.records()) + "</table></details>")
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
