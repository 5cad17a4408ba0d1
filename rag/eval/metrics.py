"""Metrics: pure functions over ranks and strings, and the aggregate over question records.

Every text comparison follows the gold matching rule (:func:`rag.text.match_key`: NFKC,
traditional -> simplified, letters/digits/CJK only). :func:`aggregate` turns any subset of
:class:`~rag.eval.records.QuestionRecord` into :class:`~rag.eval.records.Metrics`, so the
breakdowns per tag, per document and tuned/held-out (:func:`breakdown`) use the same code.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence

from ..text import match_key
from .gold import HELDOUT_TAG
from .records import Consistency, ConsistencyItem, GroupMetrics, Metrics, QuestionRecord, RetrievalScores

# Retrieved chunks repeat across questions; normalising (OpenCC is pure Python) once per text pays.
_key = functools.lru_cache(maxsize=8192)(match_key)


def evidence_ranks(retrieved: Sequence[tuple[str, str]], evidence: Sequence[tuple[str, str]]) -> list[int | None]:
    """1-based rank of the first retrieved chunk containing each evidence quote, or None.

    ``retrieved`` is ``(doc_id, text)`` in rank order; ``evidence`` is ``(doc_id, quote)`` where
    an empty doc id means "any document". Matching follows :func:`rag.text.match_key`.
    """
    keys = [(doc, _key(text)) for doc, text in retrieved]
    ranks: list[int | None] = []
    for ev_doc, quote in evidence:
        q = _key(quote)
        ranks.append(next((r for r, (doc, key) in enumerate(keys, 1) if q and q in key and (not ev_doc or doc == ev_doc)), None))
    return ranks


def hit_at_k(ranks: Sequence[int | None], k: int) -> float:
    """1.0 when some evidence quote is found in the top ``k``, else 0.0."""
    return 1.0 if any(r is not None and r <= k for r in ranks) else 0.0


def evidence_recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of an item's evidence quotes found in the top ``k`` (0.0 for no quotes)."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def reciprocal_rank_at_k(ranks: Sequence[int | None], k: int) -> float:
    """1 / rank of the best-ranked evidence quote within the top ``k``; 0.0 when none is there."""
    found = [r for r in ranks if r is not None and r <= k]
    return 1.0 / min(found) if found else 0.0


def mrr_at_k(rank_lists: Sequence[Sequence[int | None]], k: int) -> float | None:
    """Mean reciprocal rank over items; None for no items."""
    return _mean([reciprocal_rank_at_k(r, k) for r in rank_lists])


def retrieval_scores(ranks: Sequence[int | None]) -> RetrievalScores:
    """The per-question retrieval metrics of one item's evidence ranks."""
    return RetrievalScores(
        hit_at_1=hit_at_k(ranks, 1), hit_at_5=hit_at_k(ranks, 5), hit_at_10=hit_at_k(ranks, 10),
        recall_at_5=evidence_recall_at_k(ranks, 5), recall_at_10=evidence_recall_at_k(ranks, 10),
        rr_at_10=reciprocal_rank_at_k(ranks, 10),
    )


def key_facts_found(answer: str, facts: Sequence[str]) -> list[bool]:
    """For each key fact, whether the normalised answer contains it."""
    a = match_key(answer)
    return [bool(match_key(f)) and match_key(f) in a for f in facts]


def key_fact_recall(answer: str, facts: Sequence[str]) -> float | None:
    """Share of key facts contained in the answer; None when there are no key facts."""
    found = key_facts_found(answer, facts)
    return sum(found) / len(found) if found else None


def all_facts(answer: str, facts: Sequence[str]) -> bool | None:
    """Whether the answer contains every key fact; None when there are no key facts."""
    found = key_facts_found(answer, facts)
    return all(found) if found else None


def cited_evidence_recall(cited: Sequence[tuple[str, str]], evidence: Sequence[tuple[str, str]]) -> float | None:
    """Share of evidence quotes contained in the cited chunks (``(doc_id, text)``); None for no quotes."""
    if not evidence:
        return None
    ranks = evidence_ranks(cited, evidence)
    return sum(1 for r in ranks if r is not None) / len(ranks)


def percentile(values: Iterable[float], p: float) -> float | None:
    """Linear-interpolated percentile (``p`` in 0..100); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def aggregate(records: Sequence[QuestionRecord]) -> Metrics:
    """The metrics over per-question records.

    Retrieval metrics average over answerable items with evidence; key-fact metrics over
    answerable items with key facts; abstention over unanswerable items; false abstention over
    answerable items; citation support (a mean) and unsupported sentences (a total) over answers
    that were given. A metric with no qualifying item is None (shown as "–", never gated).
    ``paraphrase_consistency`` is left None: it compares two splits (see :func:`consistency`).
    """
    ret = [r.retrieval for r in records if r.retrieval]
    answered = [(r, r.answer) for r in records if r.answer]
    ans_ok = [a for r, a in answered if r.answerable]
    ans_no = [a for r, a in answered if not r.answerable]
    with_facts = [a for a in ans_ok if a.key_fact_recall is not None]
    given = [a for _, a in answered if not a.abstained]
    searched = [r.search_ms for r in records if r.search_ms is not None]
    latencies = [a.latency_ms for _, a in answered]
    return Metrics(
        hit_at_1=_mean(x.hit_at_1 for x in ret),
        hit_at_5=_mean(x.hit_at_5 for x in ret),
        hit_at_10=_mean(x.hit_at_10 for x in ret),
        evidence_recall_at_5=_mean(x.recall_at_5 for x in ret),
        evidence_recall_at_10=_mean(x.recall_at_10 for x in ret),
        mrr_at_10=_mean(x.rr_at_10 for x in ret),
        chunk_chars_mean=_mean(c.chars for r in records for c in r.retrieved),
        key_fact_recall=_mean(a.key_fact_recall for a in with_facts),
        all_facts_rate=_mean(float(a.all_facts) for a in with_facts if a.all_facts is not None),
        cited_evidence_recall=_mean(a.cited_evidence_recall for a in ans_ok),
        citation_support_rate=_mean(a.citation_support for a in given),
        unsupported_sentences=sum(counts) if (counts := [a.unsupported_sentences for a in given if a.unsupported_sentences is not None]) else None,
        abstention_rate=_mean(float(a.abstained) for a in ans_no),
        false_abstention_rate=_mean(float(a.abstained) for a in ans_ok),
        answer_chars_median=statistics.median(xs) if (xs := [a.chars for a in given]) else None,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        search_p50_ms=percentile(searched, 50),
        search_p95_ms=percentile(searched, 95),
    )


def breakdown(records: Sequence[QuestionRecord], by: str) -> dict[str, GroupMetrics]:
    """Metrics per group: ``by`` is "tag", "doc" (evidence documents) or "heldout" (tuned/heldout).

    An item counts in every group it belongs to (a cross-document item in both documents).
    Groups are sorted by name.
    """
    groups: dict[str, list[QuestionRecord]] = {}
    for r in records:
        if by == "tag":
            keys = list(r.tags) or ["(untagged)"]
        elif by == "doc":
            keys = list(r.docs) or ["(no evidence)"]
        elif by == "heldout":
            keys = [HELDOUT_TAG if HELDOUT_TAG in r.tags else "tuned"]
        else:
            raise ValueError(f"by={by!r}; choose tag, doc or heldout")
        for k in dict.fromkeys(keys):
            groups.setdefault(k, []).append(r)
    return {k: GroupMetrics(len(v), aggregate(v)) for k, v in sorted(groups.items())}


def consistency(originals: Mapping[str, QuestionRecord], paraphrases: Sequence[QuestionRecord]) -> Consistency:
    """Paraphrase consistency of the paraphrase records against their dev originals.

    A dev question is consistent when every one of its paraphrases recovers exactly the set of
    key facts its original question recovered (an abstention recovers none). Consistency is not
    correctness: an original and paraphrases that all miss the same fact are consistent; the
    key-fact recall of the paraphrase split measures correctness. Questions whose original or a
    paraphrase has no answer record are left out.
    """
    by_original: dict[str, list[QuestionRecord]] = {}
    for p in paraphrases:
        if p.paraphrase_of is not None and p.paraphrase_of in originals:
            by_original.setdefault(p.paraphrase_of, []).append(p)
    items = []
    recalls = []
    for qid, group in by_original.items():
        original = originals[qid].answer
        answers = [p.answer for p in group if p.answer is not None]
        if original is None or len(answers) < len(group):
            continue
        want = set(original.key_facts_found)
        found = tuple(a.key_facts_found for a in answers)
        items.append(ConsistencyItem(qid, original.key_facts_found, found, all(set(f) == want for f in found)))
        recalls.append(original.key_fact_recall)
    recall = _mean(recalls)
    return Consistency(tuple(items), recall)
