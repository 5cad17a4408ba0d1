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
    conv = _t2s_converter()
    return conv.starts if conv is not None else None


class _Converter:
    """opencc's conversion of one piece (text between its separators), without its cost.

    opencc (``StringTree``) replaces, in each dictionary of a group in turn, the longest key found
    in a piece (the leftmost of that length), then does the same in what is left on either side,
    recursing; the next dictionary of the group applies to what no earlier one matched, the next
    group to the result. Taking every occurrence of every key in the order (longest, leftmost) and
    keeping each that overlaps none kept before selects exactly the same replacements (a kept one is
    the longest-leftmost of the part it lies in), in one pass instead of one scan per replacement.
    """

    def __init__(self, chain_data) -> None:
        self.groups: list[list[tuple[int, dict[str, str], frozenset[str], re.Pattern[str]]]] = []
        starts: set[str] = set()
        for group in chain_data:
            dicts = []
            for max_len, _min_len, mapping in group:
                values = {k: v.split(" ")[0] for k, v in mapping.items() if k}
                prefixes = frozenset(k[:j] for k in values for j in range(1, len(k) + 1))
                firsts = {k[0] for k in values}
                starts |= firsts
                pattern = re.compile("[" + "".join(re.escape(c) for c in sorted(firsts)) + "]")
                dicts.append((max_len, values, prefixes, pattern))
            self.groups.append(dicts)
        self.starts = frozenset(starts)

    def convert(self, piece: str) -> str:
        for dicts in self.groups:
            piece = self._group(piece, dicts)
        return piece

    @staticmethod
    def _group(s: str, dicts) -> str:
        n = len(s)
        taken = bytearray(n)
        repl: dict[int, tuple[int, str]] = {}
        for max_len, values, prefixes, pattern in dicts:
            found = []
            for m in pattern.finditer(s):
                p = m.start()
                if taken[p]:
                    continue
                for length in range(1, min(max_len, n - p) + 1):
                    sub = s[p:p + length]
                    if sub not in prefixes:
                        break
                    if sub in values:
                        found.append((-length, p))
            found.sort()
            for neg, p in found:
                end = p - neg
                if taken.find(1, p, end) != -1:
                    continue
                taken[p:end] = b"\x01" * (end - p)
                repl[p] = (end, values[s[p:end]])
        if not repl:
            return s
        out, pos = [], 0
        for p in sorted(repl):
            end, value = repl[p]
            out.append(s[pos:p])
            out.append(value)
            pos = end
        out.append(s[pos:])
        return "".join(out)


@functools.lru_cache(maxsize=1)
def _t2s_converter() -> _Converter | None:
    """The fast equivalent of ``_t2s()`` on one piece (None if opencc's layout is unknown)."""
    cc = _t2s()
    cc.convert("")  # loads the dictionaries
    try:
        chain = cc._dict_chain_data
        if not (isinstance(chain, list) and all(isinstance(g, list) and all(
                isinstance(d, tuple) and len(d) == 3 and isinstance(d[2], dict) for d in g) for g in chain)):
            return None
        conv = _Converter(chain)
        cc.split_chars_re.split("")
    except (AttributeError, TypeError, IndexError):
        return None
    return conv if conv.starts else None


# Converted pieces, memoised: policy text repeats its clauses (and a corpus its documents) a lot.
_PIECES: dict[str, str] = {}
_PIECES_MAX = 200_000


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (characters and common phrases).

    opencc converts each piece between separators on its own, by dictionary keys; a piece holding no
    character that begins a key cannot change, so it is kept as is (same output, ~3x faster on
    simplified text, where most pieces are such). The other pieces go through :class:`_Converter`
    (opencc's result, much faster on long pieces), memoised.
    """
    if not text:
        return text
    cc = _t2s()
    conv = _t2s_converter()
    if conv is None:
        return cc.convert(text)
    starts = conv.starts
    memo = _PIECES
    parts = cc.split_chars_re.split(text)
    for i in range(0, len(parts), 2):
        piece = parts[i]
        if piece and not starts.isdisjoint(piece):
            out = memo.get(piece)
            if out is None:
                out = conv.convert(piece)
                if len(memo) >= _PIECES_MAX:
                    memo.clear()
                memo[piece] = out
            parts[i] = out
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
