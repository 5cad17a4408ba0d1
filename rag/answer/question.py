"""Question analysis for the extractive answerer: weighted terms and the answer type.

Terms are jieba words of the question minus function/question words, weighted by jieba's
general-Chinese IDF. Place and person names, organisations and numbers/years are *anchors*;
verbs and time words are *soft*; words after 什么/哪些 are the *focus*; words naming a document by
its kind or alias are *document references* (see :mod:`rag.answer.extractive` for how each is used).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..text import match_key, search_form
from ..types import DocumentInfo
from ..vocab import Vocabulary, normalise_question, vocabulary_for
from .verify import bigrams

# Question words the shared stopword list (rag.retrieval.tokenize.STOPWORDS) does not hold.
QUESTION_WORDS = frozenset(
    ["怎么办", "不够", "怎样", "谁", "多大", "多高", "多长", "哪天", "何时", "一共", "总共", "大概", "大约",
     "指", "提", "提了", "说", "说法", "提法", "表述", "到底", "情况"]
)
SOFT_FLAGS = {"v", "vd", "t"}  # verbs and time words (现在, 早年): soft terms
SOFT_UNSEEN = 0.3  # weight kept by a soft term that occurs in none of the retrieved passages
CORPUS_WEIGHT = 0.5  # (fitted: eval/fit.py) term weight = general IDF^(1-w) x corpus IDF^w: how rare a word is in *these* documents
BORROWED_WEIGHT = 0.25  # (fitted: eval/fit.py) a multi-part question's other terms, as context of one part
FOCUS_COVER = 0.5  # share of a focus term's weight that counts towards a chunk's coverage
_FOCUS_AFTER = re.compile(r"什么|啥|哪[些几类种样项条家个一二三四五六七八九十]+|何种")
# jieba POS of anchors: place and person names (organisation tags are left out: 经贸委 is written
# 经济贸易委员会 in the source, and abbreviations must not veto an answer).
ANCHOR_FLAGS = {"ns", "nr", "nrt", "nrfg"}
_NUMERIC_Q = re.compile(r"多少|多大|多高|多长|多快|比例|比重|占比|几(?![乎])|百分之")
_DATE_Q = re.compile(r"哪天|哪一天|何时|什么时候|日期|哪年|哪一年|截止|有效期")
_LIST_Q = re.compile(r"哪些|哪几|哪六|哪十|有什么|包括|包含|分别|各|列举|主要|怎么|如何|什么要求|什么政策|什么目标")
_CROSS_Q = re.compile(r"分别|各自|各提|对比|比较|异同|说法|和.{0,12}(?:对|在)")
HAS_NUMBER = re.compile(r"[0-9０-９]|[一二两三四五六七八九十百千万亿]+\s*[个条家项年元倍名亩批类位%％]")
_PERCENT_Q = re.compile(r"比例|比重|占比|百分之|增长率")  # asks for a share: the answer needs a percentage
_PLACE_Q = re.compile(r"(?:哪些|哪个|哪几个|哪几|什么)\s*(?:县区|县市|县|市|区|地方|地区|乡镇|省份)"
                      r"|(?:建|设|放|布局|落)在哪|哪里|哪儿")  # asks *where*: the answer must name a place
_DAY_Q = re.compile(r"哪天|哪一天|几号|日期")  # asks for a day: the answer needs 月…日
_AMOUNT_Q = re.compile(r"多少钱|几个亿|多少万|多少亿|多少元|金额|额度|奖多少|补多少|给多少")
_UNIT_Q = re.compile(r"(?:几|多少)\s*([条家个项批类种户名所座])")  # the classifier of an asked count
_SHARE_Q = re.compile(r"占.{0,15}(?:多少|几成|百分之)")
# a sum of money: 元, or 万/亿 not followed by another unit (100万平方米 is an area, 5万人 a headcount)
HAS_AMOUNT = re.compile(r"[0-9０-９][0-9０-９.．,，]*\s*(?:[万亿千百]\s*)?元"
                        r"|[0-9０-９.．]+\s*[万亿](?![人户家个条项平亩吨千瓦米辆台套件份张次只头股])")
HAS_PERCENT = re.compile(r"[%％]|百分|[一二三四五六七八九十]成")
HAS_DAY = re.compile(r"[0-9０-９]{1,2}\s*月\s*[0-9０-９]{1,2}\s*日")
HAS_DATE = re.compile(r"[0-9０-９]{4}\s*年|[0-9０-９]{1,2}\s*月|年底|月底"  # a point in time, or
                      r"|(?:[0-9０-９]+|[一二两三四五六七八九十半]+)\s*个?\s*(?:工作日|自然日|年|月|天|周|季度)")  # a span (多久, 几年)
_QUOTED = re.compile(r"[“\"「『‘]([^”\"」』’]{2,20})[”\"」』’]")
ENUM_SEP = re.compile(r"[、；;]")
SUBQUESTION_END = re.compile(r"(?<=[？?])")
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
    """One weighted question term (match-key form) and its role."""
    key: str  # match_key form
    weight: float
    anchor: bool
    soft: bool = False  # a verb or time word: the asker's phrasing, which the source may word differently
    focus: bool = False  # names the kind of answer asked for (哪些补助, 什么扶持政策): instances need not repeat it
    doc_ref: bool = False  # names a document by its kind or alias (白皮书, 新闻报道)
    corpus_idf: float | None = None  # how rare it is in these documents (set when the corpus is known)
    borrowed: bool = False  # from the rest of a multi-part question: context, not this part's subject
    noun: bool = False  # a dictionary noun or verbal noun (电话, 验收), not a verb (递增) or a guessed word
    attribute: bool = False  # right before the value asked for (贴息|比例, 营收|多少): the value must be of it
    cue: bool = False  # names the asked attribute (比例, 金额, 时间): not part of the subject
    variants: tuple[str, ...] = ()  # the documents' words for it (省里 -> 省级, 全省 …), match-key form


@dataclass
class QuestionInfo:
    """What a (sub-)question asks: its weighted terms and answer type."""
    text: str
    terms: list[Term]
    numeric: bool
    date: bool
    is_list: bool
    cross: bool
    percent: bool = False
    day: bool = False
    any_anchor: bool = False  # anchors are alternatives ("分别", or “小升规”和“个转企”): one suffices
    unit: str = ""  # the classifier a count is asked in (几条 -> 条, 多少家 -> 家), "" when none
    place: bool = False  # asks where (建在哪些县, 在哪里): the answer must name a place the question does not
    amount: bool = False  # asks for a sum of money (多少钱, 几个亿): the answer needs 元/万元/亿元
    asks: frozenset[str] = frozenset()  # answer types named by cue words (rag.vocab: count, amount, who …)
    ignored: tuple[str, ...] = ()  # words of the question found nowhere in the corpus (not used, never blamed)
    absent: tuple[str, ...] = ()  # the asked attribute (a noun before 多少 / after 哪些) found nowhere in the corpus

    @property
    def total(self) -> float:
        """Total term weight (1.0 for a question without terms)."""
        return sum(t.weight for t in self.terms) or 1.0


PLACE_STEM_FREQ = 1000  # a county name's stem is a rare word in jieba's general dictionary (鲤城 0, 石狮 565; 经济 48718)


@functools.lru_cache(maxsize=8192)
def places(text: str) -> frozenset[str]:
    """The place names in ``text`` — what answers a *where* question: words jieba tags ``ns``, and
    three-character 县/市/区 names whose stem is a rare noun (鲤城区, tagged ``n``; not 开发区, 经济区)."""
    import jieba
    import jieba.posseg as pseg

    found = set()
    for w in pseg.lcut(text):
        if w.flag == "ns" and len(w.word) >= 2:
            found.add(w.word)
        elif len(w.word) == 3 and w.word[-1] in "县市区":
            stem = w.word[:2]
            flags = [x.flag for x in pseg.lcut(stem)]
            if flags in (["n"], ["nr"], ["ns"], ["nz"]) and jieba.dt.FREQ.get(stem, 0) < PLACE_STEM_FREQ:
                found.add(w.word)
    return frozenset(found)


def analyse_question(question: str, doc_names: frozenset[tuple[str, bool]] = frozenset(),
                     vocab: Vocabulary | None = None) -> QuestionInfo:
    """Weighted key terms and the answer type of a (sub-)question.

    ``doc_names``: match keys of the documents' kinds and aliases (:func:`document_names`); a
    term among them names a document rather than a topic. ``vocab`` (default: the packaged
    vocabulary) supplies filler words, the documents' variants of everyday words and answer-type cues.
    """
    vocab = vocab or vocabulary_for()
    import jieba.posseg as pseg

    from ..retrieval.tokenize import STOPWORDS, jieba_module

    jieba_module()
    idf, median = _idf()
    q = normalise_question(search_form(question))
    types = vocab.answer_types(q)
    cue_spans = [(m.start(), m.end()) for c in vocab.cue_words for m in re.finditer(re.escape(c), q)]
    terms: dict[str, Term] = {}
    for phrase in _QUOTED.findall(q):  # a quoted name (“六个一”, “5315”工程) must be matched whole
        key = match_key(phrase)
        if len(key) >= 2:
            terms[key] = Term(key, max(idf.get(phrase, median), median), True)
    words = _join_single_chars(_split_interrogative([(w.word.strip(), w.flag) for w in pseg.lcut(q)]), STOPWORDS)
    focus_from = len(q)
    if m := _FOCUS_AFTER.search(q):
        focus_from = m.end()
    before_cue: dict[str, bool] = {}
    dictionary = jieba_module().dt.FREQ  # a noun must be a dictionary word, not one jieba's HMM guessed (里奖)
    value_cues = [m.start() for pattern in (_NUMERIC_Q, _AMOUNT_Q, _DATE_Q, _PERCENT_Q) for m in pattern.finditer(q)]
    value_cues += [m.start() for t in ("count", "amount", "percent", "date") for c in vocab.cues.get(t, ())
                   for m in re.finditer(re.escape(c), q)]
    pos = 0
    for word, flag in words:
        at = q.find(word, pos) if word else -1
        pos = at + len(word) if at >= 0 else pos
        # the words after 什么/哪些, up to the next punctuation, name the kind of answer
        focus = at >= focus_from and not re.search(r"[，,。？?；;！!]", q[focus_from:at])
        key = match_key(word)
        if not key or word in STOPWORDS or word in QUESTION_WORDS or vocab.is_filler(word):
            continue
        if key in terms and focus and not terms[key].anchor:  # 行动 in 行动方案…哪几大块行动: named again as the asked kind
            terms[key] = replace(terms[key], focus=True)
            continue
        if any(key in k for k in terms):  # part of a quoted phrase
            continue
        if key.isdigit():  # 2030 + 年 -> "2030年"; numbers are anchors
            nxt = q[at + len(word): at + len(word) + 1] if at >= 0 else ""  # the character after the number
            unit = nxt if nxt in ("年", "月", "日", "条", "个", "家", "项", "万", "亿", "强", "%") else ""
            name = key + unit
            terms[name] = Term(name, median, True, variants=_chinese_numeral(key, unit))
            continue
        if len(key) < 2:
            continue
        weight = idf.get(word, median)
        doc_ref = names_document(key, doc_names)
        anchor = flag in ANCHOR_FLAGS and not _DIGITS.search(key) and not doc_ref
        variants = tuple(k for v in vocab.expand(word) if (k := match_key(v)) and k != key and len(k) >= 2)
        variants += _digit_form(key)
        before_cue[key] = at + len(word) <= m.start() if m else False  # ends before 哪些 (not 几条 inside 哪几条)
        terms[key] = Term(key, weight, anchor, soft=flag in SOFT_FLAGS and not anchor, focus=focus and not anchor,
                          doc_ref=doc_ref, variants=variants, cue=any(a <= at < b for a, b in cue_spans),
                          attribute=_right_before(q, at + len(word), value_cues) or (focus and not anchor),
                          noun=(flag.startswith("n") or flag in ("vn", "l")) and dictionary.get(word, 0) > 0)
    if m and not any(t.focus for t in terms.values()) and (one := re.match(r"([\u4e00-\u9fff])(?:[？?。！!，,]|$)", q[m.end():])):
        # "那24条产业链都是哪些链": a single character after the cue is short for an earlier term ending in it
        named = [k for k, t in terms.items() if k.endswith(one.group(1)) and not t.anchor]
        if named:
            terms[named[-1]] = replace(terms[named[-1]], focus=True)
    if m and not any(t.focus for t in terms.values()):
        # "保障机制有哪些": nothing follows the cue, so the noun just before it names what is listed
        last = [k for k, t in terms.items() if before_cue.get(k) and not t.anchor and not t.soft and not t.doc_ref]
        if last and q[m.end():].strip(" ？?。！!") == "":
            terms[last[-1]] = replace(terms[last[-1]], focus=True)
    share = bool(_SHARE_Q.search(q))  # 占…多少 asks for a share, whatever the noun (产值, 投资)
    amount = ("amount" in types or bool(_AMOUNT_Q.search(q))) and not share
    numeric = (bool(_NUMERIC_Q.search(q)) or amount or "count" in types) and not re.search(r"哪几(?![年])", q)
    cross = bool(_CROSS_Q.search(q))
    coordinated = sum(t.anchor for t in terms.values()) >= 2 and bool(re.search(r"[和与及或、]", q))
    return QuestionInfo(
        text=question,
        terms=list(terms.values()),
        numeric=numeric,
        date=bool(_DATE_Q.search(q)) or "date" in types,
        is_list=bool(_LIST_Q.search(q)),
        cross=cross,
        percent=(bool(_PERCENT_Q.search(q)) or share) and numeric,
        day=bool(_DAY_Q.search(q)),
        place=bool(_PLACE_Q.search(q)),
        any_anchor=cross or coordinated,
        amount=amount,
        unit=um.group(1) if (um := _UNIT_Q.search(q)) and numeric else "",
        asks=types | ({"date"} if _DATE_Q.search(q) else set()),
    )


_LINK = re.compile(r"[的是有要为达到了能约共计大概总一]{0,3}")


def _right_before(q: str, end: int, cue_starts: Sequence[int]) -> bool:
    """Does a value cue (多少, 比例, 什么时候 …) start at ``end``, or after a few linking characters (的, 是, 要达到)?"""
    gap = _LINK.match(q, end)
    return gap is not None and any(end <= c <= gap.end() for c in cue_starts)


_CN_NUMBER = re.compile(r"([一二两三四五六七八九十百千]+)([万亿]?[条个家项元]?)")


def _digit_form(key: str) -> tuple[str, ...]:
    """The digit spelling of a Chinese-numeral word (千亿 -> 1000亿, 五十条 -> 50条): the documents use both."""
    import cn2an

    m = _CN_NUMBER.fullmatch(key)
    if not m or not m.group(2):
        return ()
    number = m.group(1)
    if number[0] in "十百千":  # 千亿 is 一千亿
        number = "一" + number
    try:
        return (f"{cn2an.cn2an(number, 'smart')}{m.group(2)}",)
    except (ValueError, KeyError):
        return ()


def _chinese_numeral(digits: str, unit: str) -> tuple[str, ...]:
    """The Chinese-numeral spelling of a number with its unit (10条 -> 十条), when it has a unit."""
    import cn2an

    if not unit or len(digits) > 5 or unit in "年%":
        return ()
    try:
        return (cn2an.an2cn(digits) + unit,)
    except (ValueError, KeyError):
        return ()


_DUO_X = "大高长少久远快"  # 多大, 多高, 多长, 多少, 多久 … are interrogatives


def _split_interrogative(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Give 多 its question word back: jieba reads 多大规模 as 多 / 大规模, but it is 多大 / 规模
    (the documents say 规模, never 大规模 for a target)."""
    out: list[tuple[str, str]] = []
    for word, flag in words:
        if out and out[-1][0].endswith("多") and len(word) >= 3 and word[0] in _DUO_X:
            out[-1] = (out[-1][0] + word[0], "r")
            word = word[1:]
            flag = "n"
        out.append((word, flag))
    return out


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
            out.append((run, "x"))  # a guess at a word, not a known noun
        run = ""
        if word:
            out.append((word, flag))
    return out


@functools.lru_cache(maxsize=256)
def _number_pattern(key: str) -> re.Pattern:
    return re.compile(rf"(?<![0-9.]){re.escape(key)}" + (r"(?![0-9.])" if key[-1].isdigit() else ""))


def discount_unseen(q: QuestionInfo, views: Sequence[Any]) -> QuestionInfo:
    """A soft term (verb, time word) that no retrieved passage uses keeps ``SOFT_UNSEEN`` of its weight.

    The source says the same thing in its own words (搬进园区 -> 入园, 现在 -> 目前); a missing
    name, place, year or topic noun still counts in full.
    """
    seen = " ".join(v.key + " " + v.context_key for v in views)
    terms = [replace(t, weight=t.weight * SOFT_UNSEEN) if t.soft and credit(t, seen) == 0.0 else t for t in q.terms]
    return replace(q, terms=terms)


def drop_unknown(q: QuestionInfo, corpus: Any | None) -> QuestionInfo:
    """Drop the terms found nowhere in the corpus (nor any of their variants): they are the asker's words.

    The terms kept get their corpus IDF (``corpus_idf``), used where a passage must be *about* the
    question's subject: a word most passages share (县域, 产业链) says little about which one.

    Anchors (place and person names, quoted names, numbers) stay: a question about a place the
    documents never mention is not answered by them. So does the asked attribute when it is a noun
    (联系电话 in 联系电话是多少, 流程 in 申请流程是怎样的): it goes to ``absent``, and the answerer says
    the documents do not state it — the asked fact is missing, not merely a word. ``corpus`` has ``occurs(key)``
    (:class:`rag.answer.corpus.CorpusTerms`); None keeps every term.
    """
    if corpus is None:
        return q
    keep, ignored, absent = [], [], []
    for t in q.terms:
        if t.anchor or t.doc_ref or any(corpus.occurs(k) for k in (t.key, *t.variants)):
            cidf = corpus.idf((t.key, *t.variants))
            weight = t.weight ** (1 - CORPUS_WEIGHT) * cidf ** CORPUS_WEIGHT if CORPUS_WEIGHT and cidf else t.weight
            keep.append(replace(t, corpus_idf=cidf, weight=weight))
        elif t.attribute and t.noun and not t.cue:
            absent.append(t.key)  # 联系电话 in 联系电话是多少: the documents cannot state its value
        else:
            ignored.append(t.key)
    return replace(q, terms=keep, ignored=tuple(ignored), absent=tuple(absent))


def with_context(part: QuestionInfo, whole: QuestionInfo, rivals: frozenset[str] = frozenset()) -> QuestionInfo:
    """A sub-question ("覆盖多少个县域？") also weighs the rest of the question's terms, as context;
    ``rivals`` (the other subjects of 冶金、建材分别…, when this part asks about one) are not context."""
    if part.text == whole.text:
        return part
    own = {t.key for t in part.terms}
    others = [t for t in whole.terms if t.key not in own and t.key not in rivals]
    # the context weighs at most BORROWED_WEIGHT of the part's own terms, however many words the
    # other parts have (搞了产业基金的又有多少个 after a long first part: its two words must still lead)
    # (a part with no words of its own, 总共多少个, is asked about the context alone)
    raw, mine = sum(t.weight for t in others), sum(t.weight for t in part.terms)
    scale = min(BORROWED_WEIGHT, BORROWED_WEIGHT * mine / raw) if raw and mine else BORROWED_WEIGHT
    extra = [replace(t, weight=t.weight * scale, anchor=False, borrowed=True, attribute=False, focus=False)
             for t in others]
    return replace(part, terms=part.terms + extra)


VARIANT_CREDIT = 0.9  # a term found only as one of the documents' words for it (省里 as 全省)


def credit(term: Term, key: str) -> float:
    """1 when the term occurs; ``VARIANT_CREDIT`` for one of its variants; partial credit for most bigrams."""
    own = _credit(term, key)
    if own < 1.0 and term.variants and any(v in key for v in term.variants):
        return 1.0 if term.key[0].isdigit() else max(own, VARIANT_CREDIT)  # 十条 is 10条
    return own


def _credit(term: Term, key: str) -> float:
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


def doc_names_of(doc: DocumentInfo) -> list[str]:
    """A document's kind, then the aliases that are words (not file names or catalog numbers)."""
    return [doc.kind] + [n for n in doc.aliases if n and not re.search(r"[.0-9]", n)]


def document_names(documents: Mapping[str, DocumentInfo]) -> frozenset[tuple[str, bool]]:
    """(match key, is a kind) of the names a question can use for a document (白皮书, 新闻报道, 泉州行动方案)."""
    return frozenset((k, i == 0) for d in documents.values() for i, n in enumerate(doc_names_of(d))
                     if len(k := match_key(n)) >= 2)


def names_document(key: str, doc_names: frozenset[tuple[str, bool]]) -> bool:
    """Does a question term name a document: a name, its head word (规划, 方案) or the start of a kind (新闻)?"""
    return len(key) >= 2 and any(key == n or n.endswith(key) or (kind and n.startswith(key)) for n, kind in doc_names)


def named_documents(q: QuestionInfo, documents: Mapping[str, DocumentInfo]) -> frozenset[str]:
    """Ids of the documents the question names by kind or alias (报道里…, 白皮书和新闻报道…); empty if none."""
    refs = [t.key for t in q.terms if t.doc_ref and not t.borrowed]  # another part's document is not this one's
    if not refs:
        return frozenset()
    out = set()
    for doc_id, doc in documents.items():
        names = frozenset((k, i == 0) for i, n in enumerate(doc_names_of(doc)) if len(k := match_key(n)) >= 2)
        if any(names_document(r, names) for r in refs):
            out.add(doc_id)
    return frozenset(out)


def split_question(question: str) -> list[str]:
    """Sub-questions of "A？B？" (each ending at its question mark), and of "X、Y、Z分别…" (one per
    enumerated subject: 冶金、建材、特色轻工分别要做到多大规模 asks three things); the whole question when
    there is only one."""
    parts = [sub for group in split_question_groups(question) for sub in group]
    return parts if len(parts) > 1 else [question]


def split_question_groups(question: str) -> list[list[str]]:
    """The sub-questions grouped by question mark: ``[["A"], ["X…", "Y…", "Z…"]]`` for
    "A？X、Y、Z分别…？" — parts of one group differ only in their subject (rivals, not context)."""
    return [_per_subject(p) for p in (p.strip() for p in SUBQUESTION_END.split(question)) if p]


_RESPECTIVELY = re.compile(r"(?:分别|各自|各)")
MAX_SUBJECTS = 6


def _per_subject(part: str) -> list[str]:
    """"…X、Y和Z分别…" as one question per subject (the rest of the sentence kept), else [part].

    Walking back from 分别/各: words that are not nouns (评上的) are a tail every subject shares; then
    the subjects, runs of nouns joined by 、/和/与/及 (冶金、建材、特色轻工)."""
    import jieba.posseg as pseg

    from ..retrieval.tokenize import jieba_module

    m = _RESPECTIVELY.search(part)
    if not m:
        return [part]
    jieba_module()
    words = [(w.word, w.flag) for w in pseg.lcut(part[: m.start()]) if w.word]
    i = len(words) - 1
    tail: list[str] = []
    while i >= 0 and not _nounish(words[i]) and words[i][0] not in _JOINERS and re.fullmatch(r"[\u4e00-\u9fff]+", words[i][0]):
        tail.insert(0, words[i][0])
        i -= 1
    subjects: list[list[str]] = [[]]
    while i >= 0:
        w, flag = words[i]
        if w in _JOINERS:
            if not subjects[-1]:
                return [part]
            subjects.append([])
        elif _nounish(words[i]) and len(subjects[-1]) < 2:
            subjects[-1].insert(0, w)
        else:
            break
        i -= 1
    if len(subjects) < 2 or not subjects[-1] or len(subjects) > MAX_SUBJECTS:
        return [part]
    head = "".join(w for w, _ in words[: i + 1])
    rest = "".join(tail) + part[m.end():]
    return [head + "".join(s) + rest for s in reversed(subjects)]


_JOINERS = ("、", "和", "与", "及", "以及")


def _nounish(word: tuple[str, str]) -> bool:
    """A noun, name or abbreviation (jieba n*, j, l): what an enumerated subject is made of."""
    return word[1].startswith("n") or word[1] in ("j", "l", "eng")
