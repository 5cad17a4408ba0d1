"""Citation verification, used by every answer mode.

- ``parse_cited_sentences``: split a model's answer into sentences and the ``[n]``
  markers each carries (``[1]``, ``[1,2]``, ``[1][3]``, ``【2】`` ...).
- ``check_sentence``: is a sentence supported by the text of the chunks it cites?
  Two tests, both required:
  1. lexical support: at least ``SUPPORT_MIN`` of the sentence's character bigrams
     (on ``rag.text.match_key``: NFKC, traditional -> simplified, letters/digits/CJK)
     occur in the cited text;
  2. facts: every number, percentage and date in the sentence occurs in the cited text.
- ``verify_sentences``: drop ``[n]`` that name no retrieved chunk (and report them),
  then check each sentence. A sentence without a valid citation is unsupported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..text import match_key, split_sentences, to_simplified
from ..types import AnswerSentence, Chunk

SUPPORT_MIN = 0.6  # share of the sentence's character bigrams found in the cited chunks

_MARK = r"(?:\[\s*\d+(?:\s*[,，、;；]\s*\d+)*\s*\]|【\s*\d+(?:\s*[,，、;；]\s*\d+)*\s*】)"
_MARKS = re.compile(rf"(?:\s*{_MARK})+")
_ONE_MARK = re.compile(_MARK)
_NUM_IN_MARK = re.compile(r"\d+")
_BULLET = re.compile(r"^(?:[-*•·]|#+|\d{1,2}[.、)）](?!\d))\s*")  # markdown bullets and "1." list numbers
# A terminator directly followed by markers: move the markers before it ("……。[1]" -> "……[1]。").
_MARKS_AFTER_END = re.compile(rf"([。！？!?；;])((?:\s*{_MARK})+)")

_DATE = re.compile(r"(?<![\d.])(?:\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{1,2}月\d{1,2}日)")
_PERCENT = re.compile(r"(?<![\d.])\d+(?:\.\d+)?%")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")


@dataclass(frozen=True)
class CitedSentence:
    """A sentence of an answer (markers removed) and the ids its markers named."""

    text: str
    citations: tuple[int, ...]
    display: str = ""  # how to show it when that differs from the quoted text (extractive table rows)


def parse_cited_sentences(text: str) -> list[CitedSentence]:
    """Split an answer with inline ``[n]`` markers into sentences and their citation ids."""
    text = _MARKS_AFTER_END.sub(lambda m: m.group(2) + m.group(1), text)
    out: list[CitedSentence] = []
    for span in split_sentences(text, min_chars=2):
        ids: list[int] = []
        for mark in _ONE_MARK.findall(span.text):
            for num in _NUM_IN_MARK.findall(mark):
                if int(num) not in ids:
                    ids.append(int(num))
        clean = _MARKS.sub("", span.text).strip()
        clean = _BULLET.sub("", clean)
        if clean and match_key(clean):
            out.append(CitedSentence(clean, tuple(ids)))
        elif ids and out:  # markers alone on a line belong to the sentence before
            prev = out[-1]
            out[-1] = CitedSentence(prev.text, prev.citations + tuple(i for i in ids if i not in prev.citations))
    return out


def fact_form(text: str) -> str:
    """Form used to compare facts: NFKC (full -> half width), no spaces, no thousands commas."""
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"\s+", "", t)
    return re.sub(r"(?<=\d),(?=\d{3})", "", t)


def facts(text: str) -> list[str]:
    """Dates, percentages and numbers in ``text`` (in ``fact_form``), in order of appearance."""
    t = fact_form(text)
    found = _DATE.findall(t) + _PERCENT.findall(t)
    covered = "".join(found)
    found += [n for n in _NUMBER.findall(t) if n not in covered]
    return found


def missing_facts(sentence: str, source: str) -> list[str]:
    """Facts of ``sentence`` that do not occur in ``source``."""
    src = fact_form(to_simplified(source))
    src_numbers = set(_NUMBER.findall(src))
    missing = []
    for f in facts(to_simplified(sentence)):
        if f[-1] in "年月日%":
            if not re.search(rf"(?<![\d.]){re.escape(f)}", src):
                missing.append(f)
        elif f not in src_numbers:
            missing.append(f)
    return missing


def bigrams(key: str) -> set[str]:
    """Character bigrams of a match key (a 1-character key counts as its own bigram)."""
    if len(key) < 2:
        return {key} if key else set()
    return {key[i : i + 2] for i in range(len(key) - 1)}


def lexical_support(sentence: str, source: str) -> float:
    """Share of the sentence's character bigrams that occur in ``source`` (0..1)."""
    s = bigrams(match_key(sentence))
    if not s:
        return 0.0
    return len(s & bigrams(match_key(source))) / len(s)


@dataclass(frozen=True)
class SupportCheck:
    """The verdict on one sentence: lexical support and the numbers missing from its sources."""
    supported: bool
    support: float
    missing_facts: tuple[str, ...]


def check_sentence(sentence: str, cited_texts: Sequence[str]) -> SupportCheck:
    """Check one sentence against the texts of the chunks it cites."""
    if not cited_texts:
        return SupportCheck(False, 0.0, ())
    source = "\n".join(cited_texts)
    support = lexical_support(sentence, source)
    missing = tuple(missing_facts(sentence, source))
    return SupportCheck(support >= SUPPORT_MIN and not missing, support, missing)


@dataclass(frozen=True)
class Verified:
    """Sentences after verification, their checks, and the citation ids that did not exist."""
    sentences: tuple[AnswerSentence, ...]
    unknown_ids: tuple[int, ...]  # markers that named no retrieved chunk (removed)
    checks: tuple[SupportCheck, ...]


def verify_sentences(cited: Sequence[CitedSentence], sources: Mapping[int, Chunk]) -> Verified:
    """Remove unknown ids and check every sentence against the chunks it cites.

    ``sources`` maps the numbers shown to the model (1..k) to the retrieved chunks.
    """
    unknown: list[int] = []
    out: list[AnswerSentence] = []
    checks: list[SupportCheck] = []
    for s in cited:
        valid = tuple(n for n in s.citations if n in sources)
        unknown += [n for n in s.citations if n not in sources and n not in unknown]
        check = check_sentence(s.text, [sources[n].text for n in valid])
        checks.append(check)
        out.append(AnswerSentence(text=s.text, citations=valid, supported=check.supported))
    return Verified(tuple(out), tuple(unknown), tuple(checks))
