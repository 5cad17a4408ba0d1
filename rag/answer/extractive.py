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

Staff phrasing (issue #15): filler (stopwordsiso + rag/data/policy_terms.toml) is dropped; a
word found nowhere in the corpus is ignored, never blamed (:func:`~rag.answer.question.drop_unknown`);
everyday words match the documents' terms (:mod:`rag.vocab`). A question asking for a value
(amount, share, date, number) needs a sentence stating one that carries ``SUBJECT_MIN`` of the
subject's corpus-IDF weight, else it abstains naming what is missing. Framing lines (施行 clause,
signature …) are never candidates (:mod:`rag.answer.lines`); a question about a section is answered
by its items (:mod:`rag.answer.sections`). ``COVER_MIN`` and ``SUBJECT_MIN`` are fitted by
eval/fit.py on the dev split.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from ..text import match_key
from ..types import Answer, Chunk, DocumentInfo, ScoredChunk
from ..vocab import Vocabulary
from .base import BaseAnswerer, Draft, verify_draft
from .candidates import (
    TYPE_NAMES,
    Candidate,
    ChunkView,
    chunk_views,
    coverage,
    prev_key,
    states_attribute,
    subject_cover,
    type_of,
    typed,
    without_frames,
)
from .display import display_text
from .question import (
    ENUM_SEP,
    QuestionInfo,
    analyse_question,
    credit,
    discount_unseen,
    document_names,
    drop_unknown,
    named_documents,
    places,
    split_question_groups,
    with_context,
)
from .sections import section_answer
from .verify import CitedSentence, bigrams, facts

# Tunables (see module docstring). Tuned on the non-heldout part of eval/gold.jsonl.
COVER_MIN = 0.6  # share of question-term weight a chunk must cover to count as answering (fitted: eval/fit.py)
KEEP_RATIO = 0.7  # a sentence is kept if its score is at least this share of the best score
KEEP_RATIO_LIST = 0.5
CROSS_RATIO = 0.5  # "分别/各" questions: each document whose best sentence reaches this share of the best
BUDGET = 200  # answer characters for a plain question ...
BUDGET_LIST = 400  # ... and for a list / multi-part question
REDUNDANT = 0.6  # bigram overlap (of the shorter sentence) that marks a near-duplicate
UNIT_MATCH = 1.3  # (fitted: eval/fit.py) count questions: score x this when the sentence counts in the asked classifier, / it otherwise
CONTEXT_WEIGHT = 0.3  # credit for a term found only in headings/title/table header
TABLE_WEIGHT = 1.0  # credit for a term found in a table row's own caption or column headers
RANK_DECAY = 0.03  # score x (1 - RANK_DECAY * rank)
SUBJECT_MIN = 0.4  # (fitted: eval/fit.py) typed questions: share of subject-term weight the value's sentence must carry
LEAD_IN_MAX = 25  # list questions: a picked sentence this short is a lead-in; its followers come too

def _score(q: QuestionInfo, cand: Candidate, view: ChunkView) -> float:
    got = 0.0
    for t in q.terms:
        c = credit(t, cand.key)
        if c < 1.0 and view.table_key:  # a row means "caption: header = cell": its caption's words are its own
            c = max(c, TABLE_WEIGHT * credit(t, view.table_key))
        if c < 1.0:
            c = max(c, CONTEXT_WEIGHT * credit(t, view.context_key))
        got += t.weight * c
    score = got / q.total * (1 - RANK_DECAY * view.rank)
    if q.numeric and not cand.has_number:
        score *= 0.6
    if q.date and not cand.has_date:
        score *= 0.6
    if q.unit and cand.has_number:  # 几条 is answered by "50条", not by "13个"
        score *= UNIT_MATCH if _counts_in(q.unit, cand.key) else 1.0 / UNIT_MATCH  # key: simplified (個 -> 个)
    # a list question wants an enumeration; "分别是多少" wants numbers, not a list
    if q.is_list and not q.numeric and len(ENUM_SEP.findall(cand.text)) < 2:
        score *= 0.85
    return score


def _counts_in(unit: str, text: str) -> bool:
    """Does ``text`` (a match key: simplified, no spaces) state a count in ``unit`` (50条, 五十条, 3764家)?"""
    return bool(re.search(rf"(?:[0-9０-９]+|[一二两三四五六七八九十百千万]+)\s*{re.escape(unit)}", text))


def _has_type(q: QuestionInfo, cand: Candidate) -> bool:
    """Does the sentence hold a value of the asked type (a number, date, share, day, sum of money)?"""
    if (q.numeric and not cand.has_number) or (q.date and not cand.has_date):
        return False
    if q.place and not any(p not in q.text for p in places(cand.text)):
        return False
    return not ((q.percent and not cand.has_percent) or (q.day and not cand.has_day) or (q.amount and not cand.has_amount))


def _eligible(q: QuestionInfo, cand: Candidate, prev_key: str, view: ChunkView) -> bool:
    """Can this sentence carry the answer: right type, and every anchor in it, just before it or in its headings?"""
    if not _has_type(q, cand):
        return False
    around = cand.key + prev_key + view.context_key
    anchors = [credit(t, around) == 1.0 for t in q.terms if t.anchor]
    return (any(anchors) if q.any_anchor else all(anchors)) if anchors else True


@dataclass
class SubAnswer:
    """What one (sub-)question got: the picked sentences, or why it abstains (missing terms, a lacking value type)."""

    question: QuestionInfo
    picked: list[Candidate]
    missing: list[str]  # term keys not found anywhere (for the abstention message)
    lacks: str = ""  # the passages cover the subject but state no value of the asked type (金额, 日期 …)


def answer_part(q: QuestionInfo, views: list[ChunkView]) -> SubAnswer:
    """Pick the sentences that answer one sub-question, or none (abstain)."""
    if q.absent:  # the asked attribute occurs nowhere in the documents
        return SubAnswer(q, [], list(q.absent), lacks="")
    if not q.terms:
        return SubAnswer(q, [], [])
    views = [without_frames(v, q) for v in views]
    qualified: list[ChunkView] = []
    carriers: list[Candidate] = []  # typed questions: sentences that state the asked value about the subject
    for v in views:
        cov, anchors_ok = coverage(q, v.key, v.context_key)
        eligible = [c for i, c in enumerate(v.candidates) if _eligible(q, c, v.candidates[i - 1].key if i else "", v)]
        if (anchors_ok or q.any_anchor) and eligible and cov >= COVER_MIN:
            qualified.append(v)
            if typed(q):
                carriers += [c for c in eligible if subject_cover(q, c, prev_key(v, c), v) >= SUBJECT_MIN
                             and states_attribute(q, c, prev_key(v, c), v)]
    if qualified and typed(q) and not carriers:
        return SubAnswer(q, [], [], lacks=TYPE_NAMES[type_of(q)])
    if not qualified:
        everywhere = " ".join(v.key + v.context_key for v in views)
        missing = [t.key for t in q.terms if credit(t, everywhere) < 1.0]
        return SubAnswer(q, [], missing, lacks=TYPE_NAMES[type_of(q)] if typed(q) else "地点" if q.place else "")
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
            if top and v.chunk.doc_id not in seen_docs and top.score >= CROSS_RATIO * best and top not in picked:
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
    if carriers and not any(_has_type(q, c) for c in picked):
        # none of the best sentences states a value of the asked type: the best one that does, about the subject, leads
        lead = max(carriers, key=lambda c: c.score)
        picked.insert(0, lead)
        used += len(lead.text)
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
    if q.is_list and (listed := _continued_list(q, picked, qualified, budget)):
        picked = listed
    if q.is_list and not typed(q) and _only_counted(q, picked):
        return SubAnswer(q, [], [], lacks="名单")
    return SubAnswer(q, picked, [])


_COUNT_BEFORE = r"(?:[0-9０-９]+|[一二两三四五六七八九十百]+)\s*[个条项家批类种所座]"


def _only_counted(q: QuestionInfo, picked: list[Candidate]) -> bool:
    """A list question whose answer only counts the asked set ("推介发布13个……典型案例", "围绕24条……产业链")
    and nowhere enumerates its members: the documents state how many, not which (the list is missing)."""
    focus = [t for t in q.terms if t.focus]
    if not focus or not picked:
        return False
    counted = [c for c in picked if any(re.search(_COUNT_BEFORE + r".{0,12}?" + re.escape(k), c.key)
                                        for t in focus for k in (t.key, *t.variants))]
    if not counted or max(picked, key=lambda c: c.score) not in counted:
        return False
    enumerates = [c for c in picked if (c.chunk.kind in ("table_row", "list_item") or len(ENUM_SEP.findall(c.text)) >= 2)
                  and any(credit(t, c.key + " " + c.chunk.context) > 0 for t in focus)]
    return not any(c for c in enumerates if c not in counted) and not any(len(re.findall("、", c.text)) >= 2 for c in counted)


def _continued_list(q: QuestionInfo, picked: list[Candidate], qualified: list[ChunkView], budget: int) -> list[Candidate]:
    """A list question whose picked sentence names the asked kind and ends its paragraph ("……一批先进县域
    迅速崛起。") is answered by that sentence and the paragraphs after it in the same section, one item
    each (their first sentence), as far as they were retrieved and the budget allows; [] when none does."""
    focus = [t for t in q.terms if t.focus]
    for c in picked:
        view = next(v for v in qualified if v.chunk.id == c.chunk.id)
        if c is not view.candidates[-1] or not any(credit(t, c.key) == 1.0 for t in focus):
            continue
        siblings = sorted((v for v in qualified if v.chunk.doc_id == c.chunk.doc_id and v.chunk.start > c.chunk.start
                           and v.chunk.heading_path == c.chunk.heading_path and v.candidates), key=lambda v: v.chunk.start)
        out, used = [c], len(c.text)
        for v in siblings:
            first = v.candidates[0]
            if used + len(first.text) > budget:
                break
            out.append(first)
            used += len(first.text)
        if len(out) >= 3:  # a lead-in and at least two of its items
            return out
    return []


def _asked_words(s: SubAnswer) -> str:
    """What a refusal names: the listed kind for a missing list (“典型案例”的具体名单), else the subject."""
    focus = [t.key for t in s.question.terms if t.focus] if s.lacks == "名单" else []
    return "".join(f"“{k}”" for k in focus) or _subject_words(s.question)


def _subject_words(q: QuestionInfo) -> str:
    """The heaviest subject terms, in question order, quoted: “试点县”“奖补资金”."""
    subject = [t for t in q.terms if not (t.focus or t.soft or t.doc_ref)] or list(q.terms)
    top = {t.key for t in sorted(subject, key=lambda t: -t.weight)[:3]}
    return "".join(f"“{t.key}”" for t in subject if t.key in top)


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

    def __init__(self, corpus=None, vocabulary: Vocabulary | None = None):
        """``corpus``: :class:`~rag.answer.corpus.CorpusTerms` (words found nowhere are ignored);
        ``vocabulary``: filler, variants and answer-type cues (default: the packaged vocabulary)."""
        self.corpus = corpus
        self.vocabulary = vocabulary

    def _analyse(self, text: str, names, views, documents: Mapping[str, DocumentInfo]) -> QuestionInfo:
        q = drop_unknown(discount_unseen(analyse_question(text, names, self.vocabulary), views), self.corpus)
        named = named_documents(q, documents)
        if len(named) >= 2:
            # "省里十四五规划和泉州方案各定的多少": two documents named, each answers for itself; a place in
            # one's title (泉州) names that document, it is not a word every passage must hold
            titles = [match_key(documents[d].title) for d in named]
            terms = [replace(t, anchor=False, doc_ref=True) if t.anchor and any(t.key in k for k in titles) else t
                     for t in q.terms]
            q = replace(q, terms=terms, cross=True)
        return q

    def _parts(self, question: str, whole: QuestionInfo, names, views, documents) -> list[QuestionInfo]:
        """The analysed sub-questions, each with the rest of the question as context, except that a
        per-subject part (冶金 of 冶金、建材分别…) does not borrow its siblings' subjects."""
        groups = split_question_groups(question)
        if sum(len(g) for g in groups) <= 1:
            return [whole]
        parts = []
        for group in groups:
            analysed = [self._analyse(p, names, views, documents) for p in group]
            for q in analysed:
                own = {t.key for t in q.terms}
                rivals = frozenset(t.key for o in analysed if o is not q for t in o.terms if t.key not in own)
                parts.append(with_context(q, whole, rivals))
        return parts

    def compose(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> Draft:
        """The Draft (picked verbatim sentences and their sources, or an abstention) before verification."""
        t0 = time.perf_counter()
        views = chunk_views(retrieved, documents)
        names = document_names(documents)
        whole = self._analyse(question, names, views, documents)
        parts = self._parts(question, whole, names, views, documents)
        if self.corpus is not None and (section := section_answer(whole, views, self.corpus, COVER_MIN, BUDGET_LIST)) is not None:
            section_picked, notice = section
            timings = {"compose": (time.perf_counter() - t0) * 1000}
            return _draft_from(question, self.mode, section_picked, retrieved, [notice] if notice else [], timings)
        subs = [answer_part(q, _in_named(views, q, documents)) for q in parts]
        notices: list[str] = []
        if len(subs) > 1:
            answered = [s for s in subs if s.picked]
            for s in subs:
                if not s.picked:
                    notices.append(f"文件中未找到“{s.question.text}”的答案。")
            if not answered:
                subs = [answer_part(whole, _in_named(views, whole, documents))]
        picked: list[Candidate] = []
        for s in subs:
            for c in s.picked:
                if not any(_redundant(c, p) for p in picked):
                    picked.append(c)
        timings = {"compose": (time.perf_counter() - t0) * 1000}
        if not picked:
            missing = [m for s in subs for m in s.missing]
            anchors = [t.key for s in subs for t in s.question.terms if t.anchor and t.key in missing]
            anchors += [a for s in subs for a in s.question.absent]
            shown = anchors or missing[:3]
            reason = f"关于{'、'.join(f'“{m}”' for m in shown)}的内容" if shown else ""
            lacking = [s for s in subs if s.lacks]
            if lacking and not anchors:
                reason = "；".join(f"{_asked_words(s)}的具体{s.lacks}" for s in lacking)
            closest = [v.chunk for v in views[:3]]
            return Draft(question, self.mode, (), {}, tuple(retrieved), abstained=True, abstain_reason=reason,
                         closest=tuple(closest), notices=tuple(notices), timings_ms=timings)
        return _draft_from(question, self.mode, picked, retrieved, notices, timings)

    def stream(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> Iterator[str | Answer]:
        """The answer text in one piece, then the verified Answer (nothing to stream without a model)."""
        answer = verify_draft(self.compose(question, retrieved, documents), documents)
        yield answer.answer
        yield answer


def _in_named(views: list[ChunkView], q: QuestionInfo, documents: Mapping[str, DocumentInfo]) -> list[ChunkView]:
    """Only the passages of the documents the question names (报道里说…), when it names any that were retrieved."""
    named = named_documents(q, documents)
    inside = [v for v in views if v.chunk.doc_id in named]
    return inside or views


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
        shown = display_text(c.text, c.chunk)
        if c.label:  # a section item under its heading: "一、…：its first clause。"
            shown = f"{c.label}：{shown or c.text}" + ("" if (shown or c.text)[-1:] in "。；;！？" else "。")
        sentences.append(CitedSentence(c.text, (n,), shown))
        spans[i] = {n: (c.start, c.end)}
        seps.append("\n" if prev_doc is not None and c.chunk.doc_id != prev_doc else "")
        prev_doc = c.chunk.doc_id
    return Draft(question, mode, tuple(sentences), sources, tuple(retrieved), spans=spans, notices=tuple(notices),
                 separators=tuple(seps), timings_ms=timings)
