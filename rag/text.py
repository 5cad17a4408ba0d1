"""Text helpers shared by every stage: normalisation keys and the one sentence splitter.

Original characters are always kept for quoting; the normalisation functions only produce keys
for matching. :func:`match_key` implements the gold-set matching rule: Unicode NFKC,
traditional -> simplified, then drop everything that is not a letter, digit or CJK character.

Sentence splitting keeps offsets into the original text (``text[s.start:s.end] == s.text``):

- :func:`split_sentences` — trimmed sentences (or clauses), tiny fragments merged; used to
  choose, verify and quote answer sentences.
- :func:`tiling_sentences` — pieces that tile the text exactly (whitespace and all); used by
  the chunker to split an over-long paragraph at sentence ends.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# --------------------------------------------------------------------------- normalisation
_NON_WORD = re.compile(r"[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@functools.lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, no downloads

    return OpenCC("t2s")


@functools.lru_cache(maxsize=1)
def _t2s_starts() -> frozenset[str] | None:
    """Characters that begin some key of the t2s dictionaries (None if opencc's layout is unknown)."""
    cc = _t2s()
    cc.convert("")  # loads the dictionaries

    def dicts(chain):
        if isinstance(chain, tuple) and len(chain) == 3 and isinstance(chain[2], dict):
            yield chain[2]
        elif isinstance(chain, list | tuple):
            for item in chain:
                yield from dicts(item)

    try:
        starts = {k[0] for d in dicts(cc._dict_chain_data) for k in d if k}
        cc.split_chars_re.split("")
    except (AttributeError, TypeError, IndexError):
        return None
    return frozenset(starts) or None


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (characters and common phrases).

    opencc converts each piece between separators on its own, by dictionary keys; a piece holding no
    character that begins a key cannot change, so it is kept as is (same output, ~3x faster on
    simplified text, where most pieces are such).
    """
    if not text:
        return text
    cc = _t2s()
    starts = _t2s_starts()
    if starts is None:
        return cc.convert(text)
    parts = cc.split_chars_re.split(text)
    for i in range(0, len(parts), 2):
        if parts[i] and not starts.isdisjoint(parts[i]):
            parts[i] = cc.convert(parts[i])
    return "".join(parts)


def search_form(text: str) -> str:
    """Form used for indexing and querying: NFKC (full -> half width), simplified, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def match_key(text: str) -> str:
    """Matching key: NFKC, simplified, letters/digits/CJK only (lower-cased)."""
    return _NON_WORD.sub("", search_form(text))


def contains(haystack: str, needle: str) -> bool:
    """True when the normalised needle is a substring of the normalised haystack."""
    n = match_key(needle)
    return bool(n) and n in match_key(haystack)


def heading_label(path: tuple[str, ...] | list[str], sep: str = " › ") -> str:
    """A heading path as one line: ``一、… › （三）… › 4.…`` (empty parts left out)."""
    return sep.join(p for p in path if p)


# --------------------------------------------------------------------------- sentences
@dataclass(frozen=True)
class Span:
    """A piece of a text with its offsets: ``text == source[start:end]``."""

    text: str
    start: int
    end: int


_CLOSERS = "”’」』）)】》\"'"
_SENT_END = re.compile(rf"[。！？!?]+[{re.escape(_CLOSERS)}]*|\n+")
_CLAUSE_END = re.compile(rf"[。！？!?；;]+[{re.escape(_CLOSERS)}]*|\n+")
# The chunker's cut points: sentence or clause ends inside a paragraph (no line breaks there).
_TILE = re.compile(r"[^。！？；!?]*[。！？；!?]+[”’」）)]*|[^。！？；!?]+$")


def split_sentences(text: str, clauses: bool = False, min_chars: int = 6) -> list[Span]:
    """Split ``text`` into sentence spans (whitespace trimmed, offsets into ``text``).

    A sentence ends at 。！？ (and ASCII !?), at ；/; when ``clauses=True`` (list items in
    policy text are separated by semicolons: "一是……；二是……"), or at a line break. Closing
    quotes and brackets after a terminator stay with the sentence. Fragments shorter than
    ``min_chars`` (a lone "1." or "”。") are merged into the following sentence, or the
    previous one at the end.
    """
    pattern = _CLAUSE_END if clauses else _SENT_END
    raw: list[tuple[int, int]] = []
    pos = 0
    for m in pattern.finditer(text):
        end = m.end() if m.group()[0] != "\n" else m.start()
        raw.append((pos, end))
        pos = m.end()
    raw.append((pos, len(text)))
    spans: list[list[int]] = []
    for s, e in raw:
        s, e = _trim(text, s, e)
        if s < e:
            spans.append([s, e])
    merged: list[list[int]] = []
    carry: int | None = None
    for s, e in spans:
        if carry is not None:
            s, carry = carry, None
        if e - s < min_chars:
            carry = s
            continue
        merged.append([s, e])
    if carry is not None:
        if merged:
            merged[-1][1] = spans[-1][1]
        else:
            merged.append([carry, spans[-1][1]])
    return [Span(text[s:e], s, e) for s, e in merged]


def tiling_sentences(text: str) -> list[str]:
    """Sentence and clause pieces of a paragraph whose concatenation is ``text`` itself."""
    return [s for s in _TILE.findall(text) if s]


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e
