"""Candidate answer sentences of the retrieved chunks, and the checks on them that do not depend on tuning.

:func:`chunk_views` splits the top retrieved chunks into candidate sentences (a table row or a
short list item is one unit; framing lines are marked, :mod:`rag.answer.lines`); :func:`coverage`
is how much of a question a passage covers; :func:`subject_cover` whether a sentence is about
the question's subject (for typed questions: a number, an amount, a date).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..text import match_key, split_sentences
from ..types import Chunk, DocumentInfo, ScoredChunk
from .lines import ALLOWED_FOR, frame_kind
from .question import (
    FOCUS_COVER,
    HAS_AMOUNT,
    HAS_DATE,
    HAS_DAY,
    HAS_NUMBER,
    HAS_PERCENT,
    QuestionInfo,
    credit,
    doc_names_of,
)

MAX_CHUNKS = 10  # how many retrieved chunks are read
HEAD_MIN = 0.0  # credit the subject's rarest noun needs in a value's sentence or its headings (0 = off; fitted: eval/fit.py)
UNIT_MAX = 80  # a list item up to this long is one unit; longer ones are split into sentences


@dataclass
class Candidate:
    """One candidate answer sentence (or clause, table row, list item) of a chunk, with its offsets and value types."""

    chunk: Chunk
    rank: int
    start: int
    end: int
    text: str
    key: str
    score: float = 0.0
    has_number: bool = False
    has_date: bool = False
    has_percent: bool = False
    has_day: bool = False
    has_amount: bool = False
    frame: str = ""  # a framing line (文号, signature, 施行 clause …; rag.answer.lines), "title", or ""
    sentence: int = 0  # which full sentence (ending at 。！？) of the chunk this clause belongs to
    label: str = ""  # shown before the sentence: the heading of the section item it opens (一、加强组织协调落实)


@dataclass
class ChunkView:
    """A retrieved chunk prepared for scoring: its keys and candidate sentences."""

    chunk: Chunk
    rank: int
    key: str
    context_key: str
    candidates: list[Candidate] = field(default_factory=list)
    table_key: str = ""  # a table row's caption and column headers: part of what the row says


def context_key(chunk: Chunk, doc: DocumentInfo | None) -> str:
    """Match key of what surrounds a chunk: title, part, headings, table context, issuer, date, document names."""
    parts = [doc.title if doc else chunk.title, chunk.part, chunk.part_issuer, " ".join(chunk.heading_path),
             chunk.context]
    if doc:
        parts += [doc.issuer, doc.date.replace("-", "年"), " ".join(doc_names_of(doc))]
    return match_key(" ".join(p for p in parts if p))


def chunk_views(retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> list[ChunkView]:
    """The top ``MAX_CHUNKS`` retrieved chunks with their candidate sentences (headings have none)."""
    views = []
    first: dict[str, ScoredChunk] = {}
    for sc in retrieved:  # a chunk listed twice counts once, at its first place
        first.setdefault(sc.chunk.id, sc)
    unique = list(first.values())
    read = unique[:MAX_CHUNKS] + [sc for sc in unique[MAX_CHUNKS:] if sc.for_part]  # and each part's own best
    for rank, sc in enumerate(read):
        c = sc.chunk
        view = ChunkView(c, rank, match_key(c.text), context_key(c, documents.get(c.doc_id)),
                         table_key=match_key(" ".join((c.heading_path[-1:] or ("",))[0:1]) + " " + c.context)
                         if c.kind == "table_row" else "")
        if c.kind == "heading":  # a title can state a count (附件1 泉州市50条县域重点产业链目录)
            spans = [(0, len(c.text), c.text)] if HAS_NUMBER.search(c.text) else []
        elif c.kind == "table_row" or (c.kind == "list_item" and len(c.text) <= UNIT_MAX):
            spans = [(0, len(c.text), c.text)]
        else:
            spans = _merge_item_heading(c, [(s.start, s.end, s.text) for s in split_sentences(c.text, clauses=True, min_chars=10)])
        sentence_ends = [s.end for s in split_sentences(c.text, min_chars=10)]
        for start, end, text in spans:
            view.candidates.append(
                Candidate(c, rank, start, end, text, match_key(text),
                          has_number=bool(HAS_NUMBER.search(text)), has_date=bool(HAS_DATE.search(text)),
                          has_percent=bool(HAS_PERCENT.search(text)), has_day=bool(HAS_DAY.search(text)),
                          has_amount=bool(HAS_AMOUNT.search(text)),
                          frame="title" if c.kind == "heading" else frame_kind(text),
                          sentence=sum(1 for e in sentence_ends if e <= start))
            )
        views.append(view)
    return views


def _merge_item_heading(chunk: Chunk, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """A passage that opens with its own heading (17.建设一批专精特新园区。…) keeps the heading with
    the sentence after it: a bare heading says what the item is about, not what it does."""
    if len(spans) < 2 or not chunk.heading_path:
        return spans
    (s0, _, t0), (_, e1, _) = spans[0], spans[1]
    if match_key(t0) != match_key(chunk.heading_path[-1]):
        return spans
    return [(s0, e1, chunk.text[s0:e1])] + spans[2:]


def coverage(q: QuestionInfo, key: str, context_key: str) -> tuple[float, bool]:
    """(weighted term coverage of key+context, all anchors present).

    Alternatives count once, at the weight of the heaviest: the documents a question names
    ("白皮书和新闻报道…分别") and, when ``any_anchor``, its anchors ("“小升规”和“个转企”").
    A focus term the passage lacks counts at ``FOCUS_COVER`` of its weight.
    """
    got = total = 0.0
    anchors_ok = True
    groups: dict[str, list[tuple[float, float]]] = {}
    for t in q.terms:
        c = max(credit(t, key), credit(t, context_key))
        if t.anchor and c < 1.0:
            anchors_ok = False
        group = "doc" if t.doc_ref else "anchor" if (t.anchor and q.any_anchor) else ""
        weight = t.weight * (FOCUS_COVER if t.focus and c < 1.0 else 1.0)
        if group:
            groups.setdefault(group, []).append((weight, c))
            continue
        got += weight * c
        total += weight
    for members in groups.values():
        got += max(w * c for w, c in members)
        total += max(w for w, _ in members)
    return got / (total or 1.0), anchors_ok


def prev_key(view: ChunkView, cand: Candidate) -> str:
    """The key of the candidate before ``cand`` in its chunk ("" for the first)."""
    i = view.candidates.index(cand)
    return view.candidates[i - 1].key if i else ""


def subject_cover(q: QuestionInfo, cand: Candidate, prev_key: str, view: ChunkView) -> float:
    """Share of the subject terms (not focus, cue or document names; weighted by corpus IDF) that the
    sentence, the one before it, or its headings and document contain."""
    got = total = 0.0
    around = cand.key + prev_key
    head, head_w, head_c = None, -1.0, 1.0
    for t in q.terms:
        if t.focus or t.doc_ref or t.cue or t.borrowed:
            continue
        w = t.corpus_idf if t.corpus_idf is not None else t.weight
        c = max(credit(t, around), credit(t, view.context_key))
        got += w * c
        total += w
        if t.noun and not (t.attribute or t.anchor) and w > head_w:
            head, head_w, head_c = t, w, c
    if HEAD_MIN and head is not None and head_c < HEAD_MIN:
        return -1.0  # below any SUBJECT_MIN: the subject's most specific word (链主 in 链主企业…多少奖励) is not there: another subject's value
    return got / total if total else 1.0


def states_attribute(q: QuestionInfo, cand: Candidate, prev: str, view: ChunkView) -> bool:
    """Is the value in this sentence a value of what the question asks about (贴息 in 贴息比例是多少)?

    True when the question has no such attribute term (it was unknown to the corpus, or the cue
    stands alone), or the sentence, the one before it or its headings and document contain one, as
    written or as a variant (市里 in 市里补多少 is met by a 市人民政府 document).
    """
    wanted = [t for t in q.terms if t.attribute and not (t.anchor or t.cue or t.soft)]
    around = cand.key + prev + view.context_key
    return not wanted or any(credit(t, around) >= 0.9 for t in wanted)


def typed(q: QuestionInfo) -> bool:
    """Does the question ask for a value of a type (number, amount, share, date)?"""
    return q.numeric or q.date or q.amount or q.percent or q.day


TYPE_NAMES = {"amount": "金额", "percent": "比例", "day": "日期", "date": "时间", "numeric": "数字"}


def type_of(q: QuestionInfo) -> str:
    """The asked answer type, most specific first: amount, percent, day, date, numeric."""
    return next(t for t in ("amount", "percent", "day", "date", "numeric") if getattr(q, t))


def without_frames(view: ChunkView, q: QuestionInfo) -> ChunkView:
    """The view without framing lines, except those the question asks for (施行 for "when", 责任单位 for
    "who"; a numbered title for a question asking for a number)."""
    keep = [c for c in view.candidates
            if not c.frame or ALLOWED_FOR.get(c.frame, "-") in q.asks or (c.frame == "title" and q.numeric)]
    return view if len(keep) == len(view.candidates) else replace(view, candidates=keep)
