"""The evaluator's own citation-support check (the "citation support rate" metric).

Why a second check when the answerer already verifies its sentences (:mod:`rag.answer.verify`)?
The metric measures whether answers are backed by their citations; if it asked the answerer's
``check_sentence``, a bug or a loosened threshold there would raise the metric together with
the fault it should reveal. So the *decision* here is made independently, with its own rule:

- a sentence without citations is unsupported;
- its normalised text occurring in the cited text is enough;
- otherwise every number in it must occur in the cited text, and at least
  :data:`SUPPORT_BIGRAM_SHARE` of its character bigrams, counted per occurrence, must too.

The *building blocks* are shared instead of written twice: character bigrams
(:func:`rag.answer.verify.bigrams`) and the extraction of numbers, percentages and dates
(:func:`rag.answer.verify.facts`). A number here only has to occur in the normalised cited
text (``5`` in ``50万元`` passes): the answerer's stricter token match is its own business.
The answerer's own verdict stays in ``results.jsonl`` as ``self_reported_supported``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..answer.verify import bigrams, facts
from ..text import match_key

_CITE_MARK = re.compile(r"[\[【［]\s*\d+(?:\s*[,，、]\s*\d+)*\s*[\]】］]")
SUPPORT_BIGRAM_SHARE = 0.6


def strip_citation_marks(sentence: str) -> str:
    """The sentence without its ``[1]`` / ``【2】`` / ``[1,3]`` markers."""
    return _CITE_MARK.sub("", sentence)


def sentence_supported(sentence: str, sources: Sequence[str]) -> bool:
    """Whether a sentence is backed by the texts it cites, judged without an LLM.

    Supported when it cites something and either its normalised text occurs in the cited text,
    or every number in it occurs there and at least 60% of its character bigrams do. Citation
    markers like ``[1]`` are ignored. This catches invented numbers and unrelated citations;
    it cannot judge a faithful paraphrase that shares few characters with its source.
    """
    if not sources:
        return False
    text = strip_citation_marks(sentence)
    s = match_key(text)
    if not s:
        return True
    src = match_key(" ".join(sources))
    if s in src:
        return True
    if any(match_key(f) not in src for f in facts(text)):
        return False
    grams = [s[i : i + 2] for i in range(len(s) - 1)] or [s]
    src_grams = bigrams(src)
    return sum(g in src_grams for g in grams) / len(grams) >= SUPPORT_BIGRAM_SHARE


def judge_sentences(sentences: Sequence[tuple[str, Sequence[str]]]) -> list[bool]:
    """:func:`sentence_supported` for each ``(sentence, cited texts)`` pair, leaving out
    sentences that are only citation markers."""
    return [sentence_supported(t, src) for t, src in sentences if match_key(strip_citation_marks(t))]


def citation_support_rate(sentences: Sequence[tuple[str, Sequence[str]]]) -> float | None:
    """Share of the judged sentences (:func:`judge_sentences`) that are supported; None for none."""
    judged = judge_sentences(sentences)
    return sum(judged) / len(judged) if judged else None
