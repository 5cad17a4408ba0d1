"""The runner (:func:`evaluate`), the baseline file, and the ``rag eval`` entry point.

:func:`evaluate` asks every gold question through a pipeline and returns an :class:`EvalRun`
(records and metrics). :class:`Baseline` is ``eval/baseline.json``: the metrics and
per-question summaries of an accepted run with what it was made with. :func:`run_eval_cli`
ties it together: run, gate against the baseline, print, write ``results.jsonl`` and
``report.html``, and optionally rewrite the baseline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..types import GoldItem
from . import console as out
from .gate import compare_to_baseline, find_flips, settings_diff
from .gold import DEFAULT_GOLD, file_sha256, read_gold
from .metrics import aggregate, breakdown, cited_evidence_recall, evidence_ranks, key_facts_found, retrieval_scores
from .records import AnswerRecord, EvidenceRank, Metrics, QuestionRecord, QuestionSummary, RetrievedChunk
from .report import ReportInfo, render_report
from .support import citation_support_rate

DEFAULT_BASELINE = Path("eval/baseline.json")
DEFAULT_REPORT_DIR = Path("eval/reports/latest")


@dataclass
class EvalRun:
    """One run over a gold file: per-question records, their metrics, and how it ran."""

    records: list[QuestionRecord]
    metrics: Metrics
    mode: str
    answers: bool  # False when the answer stage could not be imported
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def questions(self) -> dict[str, QuestionSummary]:
        """Per-question summaries by id, as a baseline keeps them."""
        return {r.id: QuestionSummary.of(r) for r in self.records}


def _resolve_evidence(pipeline, gold: Path, items: Sequence[tuple[int, GoldItem]]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for line, item in items:
        pairs = []
        for ev in item.evidence:
            doc = ""
            if ev.doc:
                try:
                    doc = pipeline.resolve_doc(ev.doc)
                except InputError as e:
                    raise InputError(f"{gold}:{line}: evidence doc — {e}") from None
            pairs.append((doc, ev.quote))
        out[item.id] = pairs
    return out


def evaluate(
    pipeline,
    items: Sequence[tuple[int, GoldItem]],
    mode: str | None = None,
    gold: Path = DEFAULT_GOLD,
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Run every gold item through ``pipeline.search`` (answerable items) and ``pipeline.ask``.

    Returns per-question records and the aggregate metrics. When the answer stage cannot be
    imported yet, answer metrics are skipped with a notice and retrieval is still measured.
    """
    t0 = time.perf_counter()
    mode = mode or pipeline.settings.answer_mode
    top_k = pipeline.settings.top_k
    evidence = _resolve_evidence(pipeline, gold, items)
    answers_ok = True
    notices: list[str] = []
    records: list[QuestionRecord] = []
    for i, (line, item) in enumerate(items):
        ev = evidence[item.id]
        ranked: tuple[EvidenceRank, ...] = ()
        retrieved: tuple[RetrievedChunk, ...] = ()
        scores, search_ms, answer_rec = None, None, None
        if item.answerable:
            ts = time.perf_counter()
            try:
                results = pipeline.search(item.question, top_k=top_k)
            except InputError as e:
                raise InputError(f"{gold}:{line}: {e}") from None
            search_ms = round((time.perf_counter() - ts) * 1000, 2)
            retrieved = tuple(RetrievedChunk(n, sc.chunk.id, sc.chunk.doc_id, len(sc.chunk.text), round(float(sc.score), 6),
                                             sc.chunk.text[:160]) for n, sc in enumerate(results, 1))
            ranks = evidence_ranks([(sc.chunk.doc_id, sc.chunk.text) for sc in results], ev)
            ranked = tuple(EvidenceRank(d, q, r) for (d, q), r in zip(ev, ranks))
            scores = retrieval_scores(ranks) if ev else None
        if answers_ok:
            try:
                ta = time.perf_counter()
                answer = pipeline.ask(item.question, mode=mode)
                wall = (time.perf_counter() - ta) * 1000
            except InputError as e:
                raise InputError(f"{gold}:{line}: {e}") from None
            except ImportError as e:
                if any(r.answer for r in records):
                    raise
                answers_ok = False
                notices.append(f"answer metrics skipped: the answer stage is not importable yet ({e})")
            else:
                answer_rec = _answer_record(answer, item, ev, wall, pipeline)
        records.append(QuestionRecord(
            id=item.id, question=item.question, tags=tuple(item.tags), answerable=item.answerable,
            docs=tuple(sorted({d for d, _ in ev if d})), key_facts=tuple(item.key_facts), evidence=ranked,
            retrieved=retrieved, retrieval=scores, search_ms=search_ms, answer=answer_rec,
        ))
        if progress:
            progress(i + 1, len(items))
    return EvalRun(records, aggregate(records), mode, answers_ok, notices, time.perf_counter() - t0)


def _answer_record(answer, item: GoldItem, ev: Sequence[tuple[str, str]], wall_ms: float, pipeline) -> AnswerRecord:
    by_n = {c.n: c for c in answer.citations}
    chunk_by_id = pipeline.index.chunk_by_id

    def doc_of(c) -> str:
        ch = chunk_by_id.get(c.chunk_id)
        return ch.doc_id if ch is not None else c.doc

    cited = [(doc_of(c), c.text) for c in answer.citations]
    sentences = [(s.text, [by_n[n].text for n in s.citations if n in by_n]) for s in answer.sentences]
    found = key_facts_found(answer.answer, item.key_facts)
    return AnswerRecord(
        text=answer.answer,
        abstained=bool(answer.abstained),
        chars=len(answer.answer),
        key_facts_found=tuple(f for f, ok in zip(item.key_facts, found) if ok),
        key_facts_missing=tuple(f for f, ok in zip(item.key_facts, found) if not ok),
        key_fact_recall=(sum(found) / len(found)) if found else None,
        all_facts=all(found) if found else None,
        cited=tuple(c.chunk_id for c in answer.citations),
        cited_evidence_recall=(0.0 if answer.abstained else cited_evidence_recall(cited, ev)) if ev else None,
        sentences=len(sentences),
        citation_support=citation_support_rate(sentences),
        self_reported_supported=sum(1 for s in answer.sentences if s.supported),
        latency_ms=round(float(answer.timings_ms.get("total", wall_ms)), 2),
    )


def write_results(records: Sequence[QuestionRecord], path: Path) -> None:
    """``results.jsonl``: one JSON line per question record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- the baseline file


@dataclass(frozen=True)
class Baseline:
    """``eval/baseline.json``: an accepted run's metrics and per-question summaries, and what it was made with."""

    created: str
    gold_file: str
    gold_hash: str
    corpus_hash: str
    mode: str
    answers: bool
    settings: Mapping[str, Any]
    metrics: Metrics
    questions: Mapping[str, QuestionSummary]

    @classmethod
    def of(cls, run: EvalRun, settings: Mapping[str, Any], corpus_hash: str, gold: Path) -> Baseline:
        """What ``--update-baseline`` writes for ``run``."""
        return cls(time.strftime("%Y-%m-%dT%H:%M:%S%z"), str(gold), file_sha256(gold), corpus_hash, run.mode, run.answers,
                   dict(settings), Metrics.from_dict(run.metrics.rounded()), run.questions())

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (metrics rounded to 6 places)."""
        return {"created": self.created, "gold_file": self.gold_file, "gold_hash": self.gold_hash,
                "corpus_hash": self.corpus_hash, "mode": self.mode, "answers": self.answers, "settings": dict(self.settings),
                "metrics": self.metrics.rounded(), "questions": {k: q.to_dict() for k, q in self.questions.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        """A parsed baseline file; fields it lacks are empty."""
        return cls(str(data.get("created", "")), str(data.get("gold_file", "")), str(data.get("gold_hash", "")),
                   str(data.get("corpus_hash", "")), str(data.get("mode", "")), bool(data.get("answers", True)),
                   dict(data.get("settings") or {}), Metrics.from_dict(data["metrics"]),
                   {k: QuestionSummary.from_dict(q) for k, q in (data.get("questions") or {}).items()})


def dump_baseline(payload: Mapping[str, Any]) -> str:
    """Baseline JSON with one line per question, so a rewrite shows up in git as per-question changes."""
    head = {k: v for k, v in payload.items() if k != "questions"}
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]  # drop the closing "\n}"
    rows = [f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in payload.get("questions", {}).items()]
    return text + ',\n "questions": {\n' + ",\n".join(rows) + "\n }\n}\n"


def read_baseline(path: Path) -> Baseline:
    """Read a baseline file; ``InputError`` when it is missing, not JSON or has no metrics."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such baseline file (create one with `rag eval --update-baseline`)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a valid baseline JSON file ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise InputError(f"{path}: not a baseline file (no \"metrics\"); rewrite it with `rag eval --update-baseline`")
    return Baseline.from_dict(data)


def _baseline_warnings(base: Baseline, run: EvalRun, gold: Path, settings: Mapping[str, Any], corpus_hash: str) -> list[str]:
    warnings: list[str] = []
    if base.corpus_hash != corpus_hash:
        warnings.append("warning: the corpus changed since the baseline was made; differences may come from the documents, not the code")
    if base.gold_hash != file_sha256(gold):
        warnings.append(f"warning: {gold} differs from the gold file the baseline was made with ({base.gold_file}); "
                        "new or edited questions can move the numbers — review, then `rag eval --update-baseline`")
    if base.mode != run.mode:
        warnings.append(f"warning: baseline was made with mode={base.mode}, this run uses mode={run.mode}")
    diff = settings_diff(base.settings, settings)
    if diff:
        warnings.append("settings differ from the baseline: " + ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in diff.items()))
    return warnings


def run_eval_cli(
    pipeline,
    gold: Path,
    mode: str | None,
    baseline: Path | None,
    report_dir: Path | None,
    update_baseline: bool,
) -> int:
    """``rag eval``: run the gold set, print the summary, write the report; 0 = gate passed.

    ``baseline`` defaults to eval/baseline.json when it exists (floors only otherwise);
    ``report_dir`` defaults to eval/reports/latest. ``update_baseline`` rewrites the baseline
    from this run (recording settings, corpus hash and gold hash) instead of gating against it;
    it still fails when a floor is broken.
    """
    console, err = out.consoles()
    items = read_gold(gold)
    baseline_path = baseline if baseline is not None else (DEFAULT_BASELINE if DEFAULT_BASELINE.is_file() else None)
    if update_baseline and baseline_path is None:
        baseline_path = DEFAULT_BASELINE
    base = read_baseline(baseline_path) if baseline_path is not None and not update_baseline else None
    notices: list[str] = []
    if base is not None and baseline is None and Path(base.gold_file).resolve() != gold.resolve():
        # The default baseline belongs to the default gold set; another gold file gets floors only.
        notices.append(f"{baseline_path} was made for {base.gold_file}, not {gold}: checking floors only "
                       f"(pass --baseline {baseline_path} to compare anyway)")
        base, baseline_path = None, None
    report_dir = report_dir or DEFAULT_REPORT_DIR

    with out.evaluating(err, len(items)) as progress:
        run = evaluate(pipeline, items, mode=mode, gold=gold, progress=progress)

    settings = pipeline.settings.public_dict()
    corpus_hash = pipeline.index.manifest.corpus.get("hash", "")
    warnings = _baseline_warnings(base, run, gold, settings, corpus_hash) if base is not None else []
    gate = compare_to_baseline(run.metrics, None if update_baseline or base is None else base.metrics)
    flips = find_flips(run.questions(), base.questions) if base else []
    splits, docs, tags = breakdown(run.records, "split"), breakdown(run.records, "doc"), breakdown(run.records, "tag")

    run.notices[:0] = notices
    for n in run.notices:
        console.print(f"[yellow]notice:[/] {n}")
    for w in warnings:
        console.print(f"[yellow]{w}[/]")
    out.print_summary(console, run, gate, splits, docs, tags)

    write_results(run.records, report_dir / "results.jsonl")
    info = ReportInfo(gold=str(gold), corpus_hash=corpus_hash, baseline=str(baseline_path) if base else None,
                      baseline_created=base.created if base else None, settings=settings, splits=splits, docs=docs, tags=tags)
    (report_dir / "report.html").write_text(render_report(run, gate, flips, info, warnings), encoding="utf-8")

    out.print_flips(console, flips)
    console.print(f"\nresults: {report_dir / 'results.jsonl'}\nreport:  {report_dir / 'report.html'}")

    if update_baseline:
        payload = Baseline.of(run, settings, corpus_hash, gold).to_dict()
        baseline_path.parent.mkdir(parents=True, exist_ok=True)
        baseline_path.write_text(dump_baseline(payload), encoding="utf-8")
        console.print(f"[green]baseline written to {baseline_path}[/]")
    note = " (baseline rewritten: floors only)" if update_baseline else ("" if base else " (no baseline: floors only)")
    return out.print_verdict(console, gate, note)
