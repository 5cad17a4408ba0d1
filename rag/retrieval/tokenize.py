"""Search tokens for Chinese policy text: jieba search mode over :func:`rag.text.search_form`.

The same function tokenises chunks at index time and questions at query time, so a question
in simplified characters matches an article in traditional ones, and full-width digits or
letters match half-width ones. Punctuation, whitespace and a short list of function words and
question words (的, 哪些, 如何 ...) are dropped: they carry no topic, and question words are
rare in policy text, so BM25 would otherwise give them a high IDF.

jieba is initialised once per process, quietly, on first use (it costs ~0.5 s with its cache).
"""

from __future__ import annotations

import functools
import re
import threading

from ..text import search_form

# Bump when the output of :func:`tokenize` changes for the same input: indexes record it and
# an index built with another version is refused with "run `rag build`".
TOKENIZER_VERSION = "jieba-search/1"

# A token is kept only if it has a letter, digit or CJK character.
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Function words and question words. Deliberately short: BM25's IDF already discounts common
# words; this list only removes words that never name a topic.
STOPWORDS = frozenset(
    ["的", "了", "和", "与", "及", "以及", "或", "或者", "是", "在", "对", "对于", "把", "被", "将", "由", "从", "向", "于", "为", "为了", "以", "并", "并且", "而", "而且", "也", "都", "就", "还", "又", "之", "其", "该", "此", "这", "那", "这些", "那些", "这个", "那个", "这种", "哪", "哪些", "哪个", "哪种", "哪里", "什么", "怎么", "怎样", "怎么样", "如何", "为何", "为什么", "多少", "几", "几个", "是否", "有没有", "能否", "可否", "吗", "呢", "吧", "啊", "呀", "么", "请问", "请", "一下", "我", "我们", "你", "你们", "他", "他们", "它", "它们", "有", "有关", "关于", "方面", "主要", "一些", "哪几", "哪几个", "分别", "具体", "包括", "包含", "有哪些", "是什么", "能", "能够", "可以", "会", "要", "需要", "应", "应该", "得到", "the", "a", "an", "of", "and", "or", "to", "in", "on", "for", "is", "are", "was", "were", "be", "by", "with", "what", "which", "how", "who", "why", "does", "do"]
)


@functools.lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


_init_lock = threading.Lock()


def jieba_module():
    """The initialised ``jieba`` module (initialised once per process, quietly, thread-safely)."""
    with _init_lock:  # jieba's lazy initialisation is not thread-safe
        return _jieba()


# Tokens of one jieba block (see :func:`tokenize`), memoised: policy text repeats its clauses a lot.
_MEMO: dict[str, tuple[str, ...]] = {}
_MEMO_MAX = 300_000


def _block_tokens(jieba, block: str) -> tuple[str, ...]:
    out = []
    for tok in jieba.cut_for_search(block, HMM=True):
        tok = tok.strip()
        if tok and tok not in STOPWORDS and _WORDLIKE.search(tok):
            out.append(tok)
    return tuple(out)


def tokenize(text: str) -> list[str]:
    """Search tokens of ``text`` (normalised, jieba search mode, stopwords and punctuation dropped).

    Deterministic; repeated tokens are kept (BM25 counts term frequency). jieba cuts each run of
    word characters (its ``re_han_default`` blocks) on its own, so the text is split into those
    blocks and each block's tokens are memoised: the result is exactly ``cut_for_search`` of the
    whole text, and a clause seen before costs a dictionary lookup.
    """
    if not text:
        return []
    jieba = jieba_module()
    out: list[str] = []
    memo = _MEMO
    for block in jieba.re_han_default.split(search_form(text)):
        if not block:
            continue
        toks = memo.get(block)
        if toks is None:
            toks = _block_tokens(jieba, block)
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            memo[block] = toks
        out.extend(toks)
    return out


def tokenizer_info() -> dict:
    """What an index records about the tokenizer (checked when the index is loaded)."""
    from importlib.metadata import version

    return {"version": TOKENIZER_VERSION, "jieba": version("jieba"), "stopwords": len(STOPWORDS)}
