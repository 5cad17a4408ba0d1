"""What a query and an indexed chunk look like to the rankers.

:func:`clean_query` is applied to every question before retrieval; :func:`indexed_text` is the
one definition of what gets indexed for a chunk (BM25, dense and the reranker all use it).
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import InputError
from ..text import heading_label, match_key
from ..types import Chunk

# Questions longer than this are cut to their first MAX_QUERY_CHARS characters: anything longer
# is a pasted document, not a question; BM25 cost grows with query length and dense models
# truncate at ~512 tokens anyway. The start of a question usually carries its topic.
MAX_QUERY_CHARS = 512
_SPACE = re.compile(r"\s+")

# What is indexed for a chunk (recorded in the manifest; a change means a rebuild).
INDEXED_TEXT = "title + part + heading_path + context + text"


def indexed_text(chunk: Chunk) -> str:
    """Indexed text of a chunk: document title, compilation part, heading path and table context
    (search-only context, never cited) plus the text itself.

    The title matters: questions often name their document ("报道里…", "泉州…", "十四五规划…");
    on the tuned gold items it raised BM25 hit@5 from 0.91 to 0.98 (docs/retrieval.md).
    """
    parts = (chunk.title, chunk.part, heading_label(chunk.heading_path, " "), chunk.context, chunk.text)
    return "\n".join(p for p in parts if p)


def clean_query(query: str) -> str:
    """Strip control characters, collapse whitespace, keep the first 512 characters.

    Raises InputError for empty, whitespace-only or punctuation-only input. English-only
    queries are allowed.
    """
    if not isinstance(query, str):
        raise InputError(f"问题必须是文本 / the question must be text, not {type(query).__name__}")
    # Control (Cc) and format (Cf: zero-width, BOM, bidi marks) characters become spaces.
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in query)
    text = _SPACE.sub(" ", text).strip()
    if not text:
        raise InputError("问题为空，请输入一个问题 / the question is empty; type a question, e.g. 试点县能得到哪些支持")
    text = text[:MAX_QUERY_CHARS].strip()
    if not match_key(text):
        raise InputError(
            "问题只包含标点或符号，请输入文字 / the question contains only punctuation or symbols; type words, e.g. 试点县能得到哪些支持"
        )
    return text


DROP_FILLER = True  # the rankers do not see filler words (那边, 打算, 咱们): they match the documents' own filler


def expand_query(query: str, vocab, known=None) -> str:
    """The query the rankers see: casual forms normalised (24年 → 2024年) and, after it, the
    documents' words for those of its everyday words that the documents never use
    (个体户 → 个体工商户 …; :mod:`rag.vocab`). ``known(word)`` says whether the corpus has a word;
    without it every everyday word is expanded.

    The question stays first, in order, without its filler words (那边, 咱们: ``DROP_FILLER``), which
    would only match the documents' own filler. Words
    the corpus already has are not expanded: their variants (省里 → 全省, 省级 …) are common words
    that would outweigh the question's own terms (expanding every word lowered dev hit@5 from 0.97 to 0.75).
    """
    from ..text import search_form
    from ..vocab import normalise_question
    from .tokenize import jieba_module

    q = normalise_question(query)
    words = [w for w in jieba_module().lcut(search_form(q)) if w.strip()]
    extra = vocab.query_terms(w for w in words if not vocab.is_filler(w) and not (known and known(w)))
    if DROP_FILLER:
        q = "".join(" " if vocab.is_filler(w) else w for w in words)
    return q + (" " + " ".join(extra) if extra else "")
