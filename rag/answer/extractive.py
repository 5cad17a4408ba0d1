"""Extractive answers: verbatim sentences of the retrieved chunks, each cited. No model, no network.

How an answer is composed (per sub-question; "A？B？" is answered part by part):

1. Question terms: jieba words of the question minus function/question words, each weighted by
   jieba's general-Chinese IDF (so 试点县 outweighs 支持). Place and person names, organisations
   and numbers/years are *anchors*: a passage that lacks one does not answer the question.
   Verbs and time words are *soft*: one that no retrieved passage uses (搬进, 拿到, 现在) is the
   asker's wording and keeps little weight. Words after 什么/哪些 are the *focus* (哪些补助): the
   passage lists instances and need not repeat them. Words naming a document by its kind or
   alias (白皮书, 新闻报道) are *document references*, matched against the document, not the text.
2. Answer type: 多少/几/多大/比例 ... asks for a number, 何时/哪天/日期 for a date; a sentence that
   lacks one cannot be the whole answer.
3. Candidates: the sentences (clauses at ；) of the top retrieved chunks; a table row or list item
   is one unit. Score = weighted share of question terms in the sentence, plus a little for terms
   only in its heading path, title or table header, times a mild retrieval-rank prior.
4. Abstention: a chunk *qualifies* when it holds every anchor, covers at least ``COVER_MIN`` of the
   question's term weight (text + headings + document kind/aliases + a compilation part's issuer;
   an abbreviation like 经贸委 matches 经济贸易委员会) and, for number/date questions, has such a
   sentence. Alternatives count once: the documents named in "白皮书和新闻报道…分别" and the
   anchors of "“小升规”和“个转企”".
   No qualifying chunk -> "文件中未找到……" with the closest passages.
5. Selection: the best sentences of qualifying chunks above a share of the best score, near-duplicates
   removed (character-bigram overlap, across simplified/traditional, unless one has a number the
   other lacks), within a length budget that list questions get more of; "分别/各/对比" questions
   take the best sentence of each document. For list questions a lead-in ("……如下：") brings the
   items after it, and a clause of an enumeration ("要坚持……；要坚持……；") its sibling clauses.
6. Order: grouped by document, in document order within each group.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ..text import match_key, split_sentences
from ..types import Answer, Chunk, DocumentInfo, ScoredChunk
from .base import BaseAnswerer, Draft, verify_draft
from .question import (
    ENUM_SEP,
    FOCUS_COVER,
    HAS_DATE,
    HAS_DAY,
    HAS_NUMBER,
    HAS_PERCENT,
    QuestionInfo,
    analyse_question,
    credit,
    discount_unseen,
    doc_names_of,
    document_names,
    split_question,
    with_context,
)
from .verify import CitedSentence, bigrams, facts

# Tunables (see module docstring). Tuned on the non-heldout part of eval/gold.jsonl.
MAX_CHUNKS = 10  # how many retrieved chunks are read
COVER_MIN = 0.6  # share of question-term weight a chunk must cover to count as answering
KEEP_RATIO = 0.7  # a sentence is kept if its score is at least this share of the best score
KEEP_RATIO_LIST = 0.5
CROSS_RATIO = 0.5  # "分别/各" questions: each document whose best sentence reaches this share of the best
BUDGET = 200  # answer characters for a plain question ...
BUDGET_LIST = 400  # ... and for a list / multi-part question
REDUNDANT = 0.6  # bigram overlap (of the shorter sentence) that marks a near-duplicate
CONTEXT_WEIGHT = 0.3  # credit for a term found only in headings/title/table header
RANK_DECAY = 0.03  # score x (1 - RANK_DECAY * rank)
LEAD_IN_MAX = 25  # list questions: a picked sentence this short is a lead-in; its followers come too
UNIT_MAX = 80  # a list item up to this long is one unit; longer ones are split into sentences

@dataclass
class Candidate:
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
    sentence: int = 0  # which full sentence (ending at 。！？) of the chunk this clause belongs to


@dataclass
class ChunkView:
    """A retrieved chunk prepared for scoring: its keys and candidate sentences."""

    chunk: Chunk
    rank: int
    key: str
    context_key: str
    candidates: list[Candidate] = field(default_factory=list)


def _context(chunk: Chunk, doc: DocumentInfo | None) -> str:
    parts = [doc.title if doc else chunk.title, chunk.part, chunk.part_issuer, " ".join(chunk.heading_path),
             chunk.context]
    if doc:
        parts += [doc.issuer, doc.date.replace("-", "年"), " ".join(doc_names_of(doc))]
    return match_key(" ".join(p for p in parts if p))


def chunk_views(retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> list[ChunkView]:
    views = []
    for rank, sc in enumerate(retrieved[:MAX_CHUNKS]):
        c = sc.chunk
        view = ChunkView(c, rank, match_key(c.text), _context(c, documents.get(c.doc_id)))
        if c.kind == "heading":
            spans = []
        elif c.kind == "table_row" or (c.kind == "list_item" and len(c.text) <= UNIT_MAX):
            spans = [(0, len(c.text), c.text)]
        else:
            spans = [(s.start, s.end, s.text) for s in split_sentences(c.text, clauses=True, min_chars=10)]
        sentence_ends = [s.end for s in split_sentences(c.text, min_chars=10)]
        for start, end, text in spans:
            view.candidates.append(
                Candidate(c, rank, start, end, text, match_key(text),
                          has_number=bool(HAS_NUMBER.search(text)), has_date=bool(HAS_DATE.search(text)),
                          has_percent=bool(HAS_PERCENT.search(text)), has_day=bool(HAS_DAY.search(text)),
                          sentence=sum(1 for e in sentence_ends if e <= start))
            )
        views.append(view)
    return views


def _coverage(q: QuestionInfo, key: str, context_key: str) -> tuple[float, bool]:
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


def _score(q: QuestionInfo, cand: Candidate, view: ChunkView) -> float:
    got = 0.0
    for t in q.terms:
        c = credit(t, cand.key)
        if c < 1.0:
            c = max(c, CONTEXT_WEIGHT * credit(t, view.context_key))
        got += t.weight * c
    score = got / q.total * (1 - RANK_DECAY * view.rank)
    if q.numeric and not cand.has_number:
        score *= 0.6
    if q.date and not cand.has_date:
        score *= 0.6
    # a list question wants an enumeration; "分别是多少" wants numbers, not a list
    if q.is_list and not q.numeric and len(ENUM_SEP.findall(cand.text)) < 2:
        score *= 0.85
    return score


def _eligible(q: QuestionInfo, cand: Candidate, prev_key: str, view: ChunkView) -> bool:
    """Can this sentence carry the answer: right type, and every anchor in it, just before it or in its headings?"""
    if (q.numeric and not cand.has_number) or (q.date and not cand.has_date):
        return False
    if (q.percent and not cand.has_percent) or (q.day and not cand.has_day):
        return False
    around = cand.key + prev_key + view.context_key
    anchors = [credit(t, around) == 1.0 for t in q.terms if t.anchor]
    return (any(anchors) if q.any_anchor else all(anchors)) if anchors else True


@dataclass
class SubAnswer:
    question: QuestionInfo
    picked: list[Candidate]
    missing: list[str]  # term keys not found anywhere (for the abstention message)


def answer_part(q: QuestionInfo, views: list[ChunkView]) -> SubAnswer:
    """Pick the sentences that answer one sub-question, or none (abstain)."""
    if not q.terms:
        return SubAnswer(q, [], [])
    qualified: list[ChunkView] = []
    for v in views:
        cov, anchors_ok = _coverage(q, v.key, v.context_key)
        eligible = any(
            _eligible(q, c, v.candidates[i - 1].key if i else "", v) for i, c in enumerate(v.candidates)
        )
        if (anchors_ok or q.any_anchor) and eligible and cov >= COVER_MIN:
            qualified.append(v)
    if not qualified:
        everywhere = " ".join(v.key + v.context_key for v in views)
        missing = [t.key for t in q.terms if credit(t, everywhere) < 1.0]
        return SubAnswer(q, [], missing)
    for v in qualified:
        for c in v.candidates:
            c.score = _score(q, c, v)
    best = max((c.score for v in qualified for c in v.candidates), default=0.0)
    if best <= 0:
        return SubAnswer(q, [], [])
    # Chunks best-first; within a chunk, its strongest (then shortest) sentences first. A chunk is
    # read to the end before the next one, so the answer stays with the passage that answers best.
    qualified.sort(key=lambda v: -max((c.score for c in v.candidates), default=0.0))
    floor = (KEEP_RATIO_LIST if q.is_list else KEEP_RATIO) * best
    budget = BUDGET_LIST if (q.is_list or q.cross) else BUDGET
    picked: list[Candidate] = []
    if q.cross:  # the best sentence of each document first
        seen_docs: set[str] = set()
        for v in qualified:
            top = max(v.candidates, key=lambda c: c.score, default=None)
            if top and v.chunk.doc_id not in seen_docs and top.score >= CROSS_RATIO * best:
                seen_docs.add(v.chunk.doc_id)
                picked.append(top)
    used = sum(len(c.text) for c in picked)
    for v in qualified:
        for c in sorted(v.candidates, key=lambda c: (-c.score, len(c.text))):
            if c.score < floor or c in picked:
                continue
            if picked and used + len(c.text) > budget:
                continue
            if any(_redundant(c, p) for p in picked):
                continue
            picked.append(c)
            used += len(c.text)
    if q.is_list:
        by_chunk = {v.chunk.id: v for v in qualified}
        for c in list(picked):
            following = by_chunk[c.chunk.id].candidates
            following = following[following.index(c) + 1 :]
            if not (c.text.rstrip()[-1:] in "：:" or len(c.text) < LEAD_IN_MAX):
                # a clause of an enumeration ("要坚持因地制宜……；要坚持龙头带动……；") brings its siblings
                following = [n for n in following if n.sentence == c.sentence]
            # a lead-in ("培育规模超5000亿产业集群。", "……如下：") is followed by its items
            for nxt in following:
                if nxt in picked:
                    continue
                if used + len(nxt.text) > budget:
                    break
                picked.append(nxt)
                used += len(nxt.text)
    return SubAnswer(q, picked, [])


def _redundant(a: Candidate, b: Candidate) -> bool:
    """Near-duplicates: mostly the same bigrams and no number of ``a`` that ``b`` lacks (28.8% vs 近30%)."""
    ga, gb = bigrams(a.key), bigrams(b.key)
    if not ga or not gb:
        return False
    if len(ga & gb) / min(len(ga), len(gb)) < REDUNDANT:
        return False
    return not set(facts(a.text)) - set(facts(b.text))


class ExtractiveAnswerer(BaseAnswerer):
    """Verbatim, cited sentences from the retrieved chunks (see module docstring)."""

    mode = "extractive"

    def compose(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> Draft:
        t0 = time.perf_counter()
        views = chunk_views(retrieved, documents)
        names = document_names(documents)
        whole = discount_unseen(analyse_question(question, names), views)
        parts = [with_context(discount_unseen(analyse_question(p, names), views), whole)
                 for p in split_question(question)]
        subs = [answer_part(q, views) for q in parts]
        notices: list[str] = []
        if len(subs) > 1:
            answered = [s for s in subs if s.picked]
            for s in subs:
                if not s.picked:
                    notices.append(f"文件中未找到“{s.question.text}”的答案。")
            if not answered:
                subs = [answer_part(whole, views)]
        picked: list[Candidate] = []
        for s in subs:
            for c in s.picked:
                if not any(_redundant(c, p) for p in picked):
                    picked.append(c)
        timings = {"compose": (time.perf_counter() - t0) * 1000}
        if not picked:
            missing = [m for s in subs for m in s.missing]
            anchors = [t.key for s in subs for t in s.question.terms if t.anchor and t.key in missing]
            shown = anchors or missing[:3]
            reason = f"关于{'、'.join(f'“{m}”' for m in shown)}的内容" if shown else ""
            closest = [v.chunk for v in views[:3]]
            return Draft(question, self.mode, (), {}, tuple(retrieved), abstained=True, abstain_reason=reason,
                         closest=tuple(closest), notices=tuple(notices), timings_ms=timings)
        return _draft_from(question, self.mode, picked, retrieved, notices, timings)

    def stream(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> Iterator[str | Answer]:
        answer = verify_draft(self.compose(question, retrieved, documents), documents)
        yield answer.answer
        yield answer


def _draft_from(question, mode, picked: list[Candidate], retrieved, notices, timings) -> Draft:
    """Order picked sentences (by document, then position) and number their chunks."""
    doc_order: dict[str, int] = {}
    for c in picked:  # picked is best-first: documents appear in order of their best sentence
        doc_order.setdefault(c.chunk.doc_id, len(doc_order))
    ordered = sorted(picked, key=lambda c: (doc_order[c.chunk.doc_id], c.chunk.start, c.start))
    ids: dict[str, int] = {}
    sources: dict[int, Chunk] = {}
    sentences, spans, seps = [], {}, []
    prev_doc = None
    for i, c in enumerate(ordered):
        n = ids.setdefault(c.chunk.id, len(ids) + 1)
        sources[n] = c.chunk
        sentences.append(CitedSentence(c.text, (n,)))
        spans[i] = {n: (c.start, c.end)}
        seps.append("\n" if prev_doc is not None and c.chunk.doc_id != prev_doc else "")
        prev_doc = c.chunk.doc_id
    return Draft(question, mode, tuple(sentences), sources, tuple(retrieved), spans=spans, notices=tuple(notices),
                 separators=tuple(seps), timings_ms=timings)
