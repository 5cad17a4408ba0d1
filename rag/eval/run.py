"""The runner (:func:`evaluate`) and the ``rag eval`` entry point (:func:`run_eval_cli`).

:func:`evaluate` asks every question of one split through a pipeline and returns an
:class:`EvalRun` (records and metrics). :func:`run_eval` runs the dev split and, when given, the
frozen split and the paraphrases, gates each against its section of the baseline
(:mod:`rag.eval.baseline`), computes paraphrase consistency and checks the frozen targets:
an :class:`EvalResult`. :func:`run_eval_cli` prints it, writes ``results.jsonl`` and
``report.html``, and optionally rewrites the baseline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..types import GoldItem
from . import console as out
from .baseline import UPDATE_HINT, Baseline, SplitBaseline, dump_baseline, read_baseline
from .gate import (
    SPLIT_POLICY,
    Flip,
    GateResult,
    TargetResult,
    check_targets,
    compare_to_baseline,
    find_flips,
    settings_diff,
)
from .gold import DEFAULT_GOLD, file_sha256, paraphrase_items, read_gold, read_paraphrases
from .metrics import aggregate, cited_evidence_recall, consistency, evidence_ranks, key_facts_found, retrieval_scores
from .records import (
    AnswerRecord,
    Consistency,
    EvidenceRank,
    Metrics,
    QuestionRecord,
    QuestionSummary,
    RetrievedChunk,
    metric_names,
)
from .report import ReportInfo, render_report
from .support import judge_sentences

DEFAULT_BASELINE = Path("eval/baseline.json")
DEFAULT_REPORT_DIR = Path("eval/reports/latest")


@dataclass
class EvalRun:
    """One run over the items of one split: per-question records, their metrics, and how it ran."""

    records: list[QuestionRecord]
    metrics: Metrics
    mode: str
    answers: bool  # False when the answer stage could not be imported
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0
    split: str = "dev"

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
    split: str = "dev",
    paraphrase_of: Mapping[str, str] | None = None,
) -> EvalRun:
    """Run every gold item through ``pipeline.search`` (answerable items) and ``pipeline.ask``.

    Returns per-question records (marked with ``split``; ``paraphrase_of`` maps a paraphrase's id
    to its dev item) and the aggregate metrics. When the answer stage cannot be imported yet,
    answer metrics are skipped with a notice and retrieval is still measured.
    """
    paraphrase_of = paraphrase_of or {}
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
            id=item.id, split=split, paraphrase_of=paraphrase_of.get(item.id), question=item.question, tags=tuple(item.tags), answerable=item.answerable,
            docs=tuple(sorted({d for d, _ in ev if d})), key_facts=tuple(item.key_facts), evidence=ranked,
            retrieved=retrieved, retrieval=scores, search_ms=search_ms, answer=answer_rec,
        ))
        if progress:
            progress(i + 1, len(items))
    return EvalRun(records, aggregate(records), mode, answers_ok, notices, time.perf_counter() - t0, split)


def _answer_record(answer, item: GoldItem, ev: Sequence[tuple[str, str]], wall_ms: float, pipeline) -> AnswerRecord:
    by_n = {c.n: c for c in answer.citations}
    chunk_by_id = pipeline.index.chunk_by_id

    def doc_of(c) -> str:
        ch = chunk_by_id.get(c.chunk_id)
        return ch.doc_id if ch is not None else c.doc

    cited = [(doc_of(c), c.text) for c in answer.citations]
    sentences = [(s.text, [by_n[n].text for n in s.citations if n in by_n]) for s in answer.sentences]
    found = key_facts_found(answer.answer, item.key_facts)
    judged = judge_sentences(sentences)
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
        citation_support=sum(judged) / len(judged) if judged else None,
        unsupported_sentences=judged.count(False),
        self_reported_supported=sum(1 for s in answer.sentences if s.supported),
        latency_ms=round(float(answer.timings_ms.get("total", wall_ms)), 2),
    )


def write_results(records: Sequence[QuestionRecord], path: Path) -> None:
    """``results.jsonl``: one JSON line per question record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")


@dataclass
class SplitResult:
    """One split of a ``rag eval`` run: where it came from, the run, its baseline, gate and flips."""

    name: str
    path: Path
    run: EvalRun
    base: SplitBaseline | None = None
    gate: list[GateResult] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)


@dataclass
class EvalResult:
    """Everything ``rag eval`` found: the splits in order (dev first), paraphrase consistency,
    the frozen targets, and the notices and warnings to show."""

    splits: dict[str, SplitResult]
    consistency: Consistency | None = None
    targets: list[TargetResult] = field(default_factory=list)
    enforce_targets: bool = False
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def dev(self) -> SplitResult:
        """The dev split."""
        return self.splits["dev"]

    def records(self) -> list[QuestionRecord]:
        """All question records, split by split."""
        return [r for s in self.splits.values() for r in s.run.records]

    def flips(self) -> list[Flip]:
        """Flips of every split, worse first."""
        return sorted((f for s in self.splits.values() for f in s.flips), key=lambda f: f.direction != "worse")

    def failures(self) -> list[str]:
        """Why the gate fails: a failing metric per split, and unmet targets when they are enforced."""
        fails = [f"{s.name}: {g.message}" for s in self.splits.values() for g in s.gate if g.failed]
        if self.enforce_targets:
            fails += [f"frozen target {t.message()}" for t in self.targets if not t.met]
        return fails


def _split_baseline(name: str, path: Path, base: Baseline | None, explicit: bool, where: Path | None) -> tuple[SplitBaseline | None, list[str]]:
    """The baseline section for one split, or None with a notice saying why there is none."""
    if base is None:
        return None, []
    sb = base.splits.get(name)
    if sb is None:
        if base.migrated_from:
            return None, []  # one notice for the whole file
        return None, [f"{where} has no {name} split: {name} is not checked for regressions (write it with {UPDATE_HINT})"]
    if not explicit and Path(sb.file).resolve() != path.resolve():
        # The default baseline belongs to the default files; another file gets floors only.
        return None, [f"{where} was made for {sb.file}, not {path}: the {name} split is checked against floors only "
                      f"(pass --baseline {where} to compare anyway)"]
    return sb, []


def _warnings(base: Baseline, result: EvalResult, settings: Mapping[str, Any], corpus_hash: str) -> list[str]:
    warnings: list[str] = []
    if base.corpus_hash != corpus_hash:
        warnings.append("warning: the corpus changed since the baseline was made; differences may come from the documents, not the code")
    for s in result.splits.values():
        if s.base is not None and s.base.hash != file_sha256(s.path):
            warnings.append(f"warning: {s.path} differs from the file the baseline's {s.name} split was made with ({s.base.file}); "
                            f"new or edited questions can move the numbers — review, then {UPDATE_HINT}")
    if base.mode != result.dev.run.mode:
        warnings.append(f"warning: baseline was made with mode={base.mode}, this run uses mode={result.dev.run.mode}")
    diff = settings_diff(base.settings, settings)
    if diff:
        warnings.append("settings differ from the baseline: " + ", ".join(f"{k} {a!r} → {b!r}" for k, (a, b) in diff.items()))
    return warnings


def run_eval(
    pipeline,
    gold: Path,
    mode: str | None = None,
    base: Baseline | None = None,
    *,
    frozen: Path | None = None,
    paraphrases: Path | None = None,
    baseline_path: Path | None = None,
    explicit_baseline: bool = False,
    enforce_targets: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Run the dev split (``gold``) and, when given, the frozen split and the paraphrases; gate
    each split against its section of ``base`` (floors only without one) with
    :data:`~rag.eval.gate.SPLIT_POLICY`; compute paraphrase consistency; check the frozen targets.

    A split's baseline section made from another file than the one run is ignored with a
    notice unless ``explicit_baseline`` (the user named the baseline file).
    """
    dev_items = read_gold(gold)
    inputs: list[tuple[str, Path, list[tuple[int, GoldItem]], dict[str, str]]] = [("dev", gold, dev_items, {})]
    notices: list[str] = []
    if base is not None and base.migrated_from:
        notices.append(f"{baseline_path} is in baseline format {base.migrated_from} (dev split only): the other splits are "
                       f"not checked for regressions until it is rewritten with {UPDATE_HINT}")
    if frozen is not None:
        inputs.append(("frozen", frozen, read_gold(frozen), {}))
    if paraphrases is not None:
        items, of, notes = paraphrase_items(read_paraphrases(paraphrases), dev_items)
        notices += notes
        if items:
            inputs.append(("paraphrase", paraphrases, items, of))
    total, done = sum(len(items) for _, _, items, _ in inputs), 0
    splits: dict[str, SplitResult] = {}
    for name, path, items, of in inputs:
        step = None if progress is None else partial(_overall, progress, done, total)
        run = evaluate(pipeline, items, mode=mode, gold=path, split=name, paraphrase_of=of, progress=step)
        done += len(items)
        sb, notes = _split_baseline(name, path, base, explicit_baseline, baseline_path)
        notices += notes + run.notices
        splits[name] = SplitResult(name, path, run, sb)
    result = EvalResult(splits, enforce_targets=enforce_targets, notices=notices)
    if "paraphrase" in splits:
        para = splits["paraphrase"].run
        result.consistency = consistency({r.id: r for r in result.dev.run.records}, para.records)
        para.metrics = replace(para.metrics, paraphrase_consistency=result.consistency.rate)
    for s in splits.values():
        s.gate = compare_to_baseline(s.run.metrics, s.base.metrics if s.base else None, SPLIT_POLICY[s.name], metric_names(s.name))
        s.flips = find_flips(s.run.questions(), s.base.questions) if s.base else []
    if "frozen" in splits:
        result.targets = check_targets(splits["frozen"].run.metrics)
    return result


def _overall(progress: Callable[[int, int], None], offset: int, total: int, done: int, _split_total: int) -> None:
    """A split's progress ``done`` of its items as progress over all splits' ``total``."""
    progress(offset + done, total)


def run_eval_cli(
    pipeline,
    gold: Path,
    mode: str | None,
    baseline: Path | None,
    report_dir: Path | None,
    update_baseline: bool,
    frozen: Path | None = None,
    paraphrases: Path | None = None,
    enforce_targets: bool = False,
) -> int:
    """``rag eval``: run the splits, print the summary, write the report; 0 = gate passed.

    ``baseline`` defaults to eval/baseline.json when it exists (floors only otherwise);
    ``report_dir`` defaults to eval/reports/latest; ``frozen`` and ``paraphrases`` add those
    splits. ``update_baseline`` rewrites the baseline from this run (every split run, with the
    settings, corpus hash and file hashes) instead of gating against it; it still fails when a
    floor is broken. ``enforce_targets`` makes an unmet frozen target fail the gate.
    """
    console, err = out.consoles()
    baseline_path = baseline if baseline is not None else (DEFAULT_BASELINE if DEFAULT_BASELINE.is_file() else None)
    if update_baseline and baseline_path is None:
        baseline_path = DEFAULT_BASELINE
    base = read_baseline(baseline_path) if baseline_path is not None and not update_baseline else None
    report_dir = report_dir or DEFAULT_REPORT_DIR

    with out.evaluating(err) as progress:
        result = run_eval(pipeline, gold, mode, base, frozen=frozen, paraphrases=paraphrases, baseline_path=baseline_path,
                          explicit_baseline=baseline is not None, enforce_targets=enforce_targets, progress=progress)
    settings = pipeline.settings.public_dict()
    corpus_hash = pipeline.index.manifest.corpus.get("hash", "")
    if base is not None and any(s.base for s in result.splits.values()):
        result.warnings = _warnings(base, result, settings, corpus_hash)
    else:
        base = None
    out.print_result(console, result)

    write_results(result.records(), report_dir / "results.jsonl")
    info = ReportInfo(gold=str(gold), corpus_hash=corpus_hash, baseline=str(baseline_path) if base else None,
                      baseline_created=base.created if base else None, settings=settings)
    (report_dir / "report.html").write_text(render_report(result, info), encoding="utf-8")
    # Frozen-split questions are never shown one by one on the console: it is a test split, and
    # reading its items is the first step to tuning on them. The HTML report has them when a
    # regression must be diagnosed.
    frozen_ids = {f.id for f in result.splits["frozen"].flips} if "frozen" in result.splits else set()
    out.print_flips(console, [f for f in result.flips() if f.id not in frozen_ids])
    if frozen_ids:
        console.print(f"({len(frozen_ids)} frozen-split question(s) changed; per-question details are in the report only)")
    console.print(f"\nresults: {report_dir / 'results.jsonl'}\nreport:  {report_dir / 'report.html'}")

    if update_baseline:
        assert baseline_path is not None  # DEFAULT_BASELINE when none was given (above)
        dev = result.dev.run
        new = Baseline(time.strftime("%Y-%m-%dT%H:%M:%S%z"), corpus_hash, dev.mode, dev.answers, settings,
                       {s.name: SplitBaseline.of(s.path, s.run.metrics, s.run.questions()) for s in result.splits.values()})
        baseline_path.parent.mkdir(parents=True, exist_ok=True)
        baseline_path.write_text(dump_baseline(new.to_dict()), encoding="utf-8")
        console.print(f"[green]baseline written to {baseline_path} (splits: {', '.join(result.splits)})[/]")
    note = " (baseline rewritten: floors only)" if update_baseline else ("" if base else " (no baseline: floors only)")
    return out.print_verdict(console, result, note)
