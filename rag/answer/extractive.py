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

import functools
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..text import match_key, search_form
from ..types import Answer, Chunk, DocumentInfo, ScoredChunk
from .base import BaseAnswerer, Draft, verify_draft
from ..text import split_sentences
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

# Question words the shared stopword list (rag.retrieval.tokenize.STOPWORDS) does not hold.
QUESTION_WORDS = frozenset(
    ["怎么办", "不够", "怎样", "谁", "多大", "多高", "多长", "哪天", "何时", "一共", "总共", "大概", "大约",
     "指", "提", "提了", "说", "说法", "提法", "表述", "到底", "情况"]
)
SOFT_FLAGS = {"v", "vd", "t"}  # verbs and time words (现在, 早年): soft terms
SOFT_UNSEEN = 0.3  # weight kept by a soft term that occurs in none of the retrieved passages
FOCUS_COVER = 0.5  # share of a focus term's weight that counts towards a chunk's coverage
_FOCUS_AFTER = re.compile(r"什么|哪些|哪几|哪类|哪种|何种")
# jieba POS of anchors: place and person names (organisation tags are left out: 经贸委 is written
# 经济贸易委员会 in the source, and abbreviations must not veto an answer).
ANCHOR_FLAGS = {"ns", "nr", "nrt", "nrfg"}
_NUMERIC_Q = re.compile(r"多少|多大|多高|多长|多快|比例|比重|占比|几(?![乎])|百分之")
_DATE_Q = re.compile(r"哪天|哪一天|何时|什么时候|日期|哪年|哪一年|截止|有效期")
_LIST_Q = re.compile(r"哪些|哪几|哪六|哪十|有什么|包括|包含|分别|各|列举|主要|怎么|如何|什么要求|什么政策|什么目标")
_CROSS_Q = re.compile(r"分别|各自|各提|对比|比较|异同|说法|和.{0,12}(?:对|在)")
_HAS_NUMBER = re.compile(r"[0-9０-９]|[一二两三四五六七八九十百千万亿]+\s*[个条家项年元倍名亩批类位%％]")
_PERCENT_Q = re.compile(r"比例|比重|占比|百分之|增长率")  # asks for a share: the answer needs a percentage
_DAY_Q = re.compile(r"哪天|哪一天|几号|日期")  # asks for a day: the answer needs 月…日
_HAS_PERCENT = re.compile(r"[%％]|百分|[一二三四五六七八九十]成")
_HAS_DAY = re.compile(r"[0-9０-９]{1,2}\s*月\s*[0-9０-９]{1,2}\s*日")
_HAS_DATE = re.compile(r"[0-9０-９]{4}\s*年|[0-9０-９]{1,2}\s*月|年底|月底")
_QUOTED = re.compile(r"[“\"「『‘]([^”\"」』’]{2,20})[”\"」』’]")
_ENUM = re.compile(r"[、；;]")
_SUBQ = re.compile(r"(?<=[？?])")
_DIGITS = re.compile(r"\d")


@functools.lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    import jieba.analyse

    from ..retrieval.tokenize import jieba_module

    jieba_module()  # initialise jieba once, quietly, thread-safely
    t = jieba.analyse.default_tfidf
    return t.idf_freq, t.median_idf


@dataclass(frozen=True)
class Term:
    key: str  # match_key form
    weight: float
    anchor: bool
    soft: bool = False  # a verb or time word: the asker's phrasing, which the source may word differently
    focus: bool = False  # names the kind of answer asked for (哪些补助, 什么扶持政策): instances need not repeat it
    doc_ref: bool = False  # names a document by its kind or alias (白皮书, 新闻报道)


@dataclass
class QuestionInfo:
    text: str
    terms: list[Term]
    numeric: bool
    date: bool
    is_list: bool
    cross: bool
    percent: bool = False
    day: bool = False
    any_anchor: bool = False  # anchors are alternatives ("分别", or “小升规”和“个转企”): one suffices

    @property
    def total(self) -> float:
        return sum(t.weight for t in self.terms) or 1.0


def analyse_question(question: str, doc_names: frozenset[tuple[str, bool]] = frozenset()) -> QuestionInfo:
    """Weighted key terms and the answer type of a (sub-)question.

    ``doc_names``: match keys of the documents' kinds and aliases (:func:`document_names`); a
    term among them names a document rather than a topic.
    """
    import jieba.posseg as pseg

    from ..retrieval.tokenize import STOPWORDS, jieba_module

    jieba_module()
    idf, median = _idf()
    q = search_form(question)
    terms: dict[str, Term] = {}
    for phrase in _QUOTED.findall(q):  # a quoted name (“六个一”, “5315”工程) must be matched whole
        key = match_key(phrase)
        if len(key) >= 2:
            terms[key] = Term(key, max(idf.get(phrase, median), median), True)
    words = _join_single_chars([(w.word.strip(), w.flag) for w in pseg.lcut(q)], STOPWORDS)
    focus_from = len(q)
    if m := _FOCUS_AFTER.search(q):
        focus_from = m.end()
    pos = 0
    for i, (word, flag) in enumerate(words):
        at = q.find(word, pos) if word else -1
        pos = at + len(word) if at >= 0 else pos
        # the words after 什么/哪些, up to the next punctuation, name the kind of answer
        focus = at >= focus_from and not re.search(r"[，,。？?；;！!]", q[focus_from:at])
        key = match_key(word)
        if not key or word in STOPWORDS or word in QUESTION_WORDS:
            continue
        if any(key in k for k in terms):  # part of a quoted phrase
            continue
        if key.isdigit():  # 2030 + 年 -> "2030年"; numbers are anchors
            nxt = words[i + 1][0] if i + 1 < len(words) else ""
            if nxt in ("年", "月", "日", "条", "个", "家", "项", "万", "亿", "强", "%"):
                key += nxt
            terms[key] = Term(key, median, True)
            continue
        if len(key) < 2:
            continue
        weight = idf.get(word, median)
        doc_ref = names_document(key, doc_names)
        anchor = flag in ANCHOR_FLAGS and not _DIGITS.search(key) and not doc_ref
        terms[key] = Term(key, weight, anchor, soft=flag in SOFT_FLAGS and not anchor, focus=focus and not anchor,
                          doc_ref=doc_ref)
    numeric = bool(_NUMERIC_Q.search(q)) and not re.search(r"哪几(?![年])", q)
    cross = bool(_CROSS_Q.search(q))
    coordinated = sum(t.anchor for t in terms.values()) >= 2 and bool(re.search(r"[和与及或、]", q))
    return QuestionInfo(
        text=question,
        terms=list(terms.values()),
        numeric=numeric,
        date=bool(_DATE_Q.search(q)),
        is_list=bool(_LIST_Q.search(q)),
        cross=cross,
        percent=bool(_PERCENT_Q.search(q)) and numeric,
        day=bool(_DAY_Q.search(q)),
        any_anchor=cross or coordinated,
    )


def _join_single_chars(words: list[tuple[str, str]], stop: frozenset[str]) -> list[tuple[str, str]]:
    """Join runs of single CJK characters jieba left apart (用/林/指标 -> 用林): they name one thing."""
    out: list[tuple[str, str]] = []
    run = ""
    for word, flag in words + [("", "x")]:
        # a classifier (多少个超千亿: 个) belongs to the number before it, not to the next word
        if (len(word) == 1 and "\u4e00" <= word <= "\u9fff" and word not in stop and word not in QUESTION_WORDS
                and flag not in ("m", "q")):
            run += word
            continue
        if len(run) >= 2:
            out.append((run, "n"))
        run = ""
        if word:
            out.append((word, flag))
    return out


@functools.lru_cache(maxsize=256)
def _number_pattern(key: str) -> re.Pattern:
    return re.compile(rf"(?<![0-9.]){re.escape(key)}" + (r"(?![0-9.])" if key[-1].isdigit() else ""))


def discount_unseen(q: QuestionInfo, views: Sequence[ChunkView]) -> QuestionInfo:
    """A soft term (verb, time word) that no retrieved passage uses keeps ``SOFT_UNSEEN`` of its weight.

    The source says the same thing in its own words (搬进园区 -> 入园, 现在 -> 目前); a missing
    name, place, year or topic noun still counts in full.
    """
    seen = " ".join(v.key + " " + v.context_key for v in views)
    terms = [replace(t, weight=t.weight * SOFT_UNSEEN) if t.soft and credit(t, seen) == 0.0 else t for t in q.terms]
    return replace(q, terms=terms)


def with_context(part: QuestionInfo, whole: QuestionInfo) -> QuestionInfo:
    """A sub-question ("覆盖多少个县域？") also weighs the rest of the question's terms, at half weight."""
    if part.text == whole.text:
        return part
    own = {t.key for t in part.terms}
    extra = [replace(t, weight=t.weight * 0.5, anchor=False) for t in whole.terms if t.key not in own]
    return replace(part, terms=part.terms + extra)


def credit(term: Term, key: str) -> float:
    """1 when the term occurs; for a long term, partial credit for most of its bigrams."""
    if term.key[0].isdigit():  # 5 must not match inside 2025
        return 1.0 if _number_pattern(term.key).search(key) else 0.0
    if term.key in key:
        return 1.0
    if term.anchor or len(term.key) < 3:
        return 0.0
    if _abbreviation(term.key).search(key):  # 经贸委 in 经济贸易委员会
        return 0.8
    grams = bigrams(term.key)
    share = sum(1 for g in grams if g in key) / len(grams)
    return 0.6 * share if share >= 0.5 else 0.0


@functools.lru_cache(maxsize=256)
def _abbreviation(key: str) -> re.Pattern:
    """A Chinese abbreviation keeps one character of each word: 经贸委 = 经(济)贸(易)委(员会)."""
    return re.compile(".{0,3}".join(map(re.escape, key)))


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
        parts += [doc.issuer, doc.date.replace("-", "年"), " ".join(_names(doc))]
    return match_key(" ".join(p for p in parts if p))


def _names(doc: DocumentInfo) -> list[str]:
    """A document's kind, then the aliases that are words (not file names or catalog numbers)."""
    return [doc.kind] + [n for n in doc.aliases if n and not re.search(r"[.0-9]", n)]


def document_names(documents: Mapping[str, DocumentInfo]) -> frozenset[tuple[str, bool]]:
    """(match key, is a kind) of the names a question can use for a document (白皮书, 新闻报道, 泉州行动方案)."""
    return frozenset((k, i == 0) for d in documents.values() for i, n in enumerate(_names(d))
                     if len(k := match_key(n)) >= 2)


def names_document(key: str, doc_names: frozenset[tuple[str, bool]]) -> bool:
    """Does a question term name a document: a name, its head word (规划, 方案) or the start of a kind (新闻)?"""
    return len(key) >= 2 and any(key == n or n.endswith(key) or (kind and n.startswith(key)) for n, kind in doc_names)


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
                          has_number=bool(_HAS_NUMBER.search(text)), has_date=bool(_HAS_DATE.search(text)),
                          has_percent=bool(_HAS_PERCENT.search(text)), has_day=bool(_HAS_DAY.search(text)),
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
    if q.is_list and not q.numeric and len(_ENUM.findall(cand.text)) < 2:
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


def split_question(question: str) -> list[str]:
    parts = [p.strip() for p in _SUBQ.split(question) if p.strip()]
    return parts if len(parts) > 1 else [question]


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
            return Draft(question, self.mode, [], {}, tuple(retrieved), abstained=True, abstain_reason=reason,
                         closest=closest, notices=notices, timings_ms=timings)
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
    return Draft(question, mode, sentences, sources, tuple(retrieved), spans=spans, notices=notices,
                 separators=seps, timings_ms=timings)
