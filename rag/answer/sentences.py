"""Chinese sentence splitting that keeps the original characters and their offsets.

A sentence ends at 。！？ (and ASCII !?), at ；/; when ``clauses=True`` (list items in
policy text are separated by semicolons: "一是……；二是……"), or at a line break.
Closing quotes and brackets that follow a terminator stay with the sentence.
``text[s.start:s.end] == s.text`` always holds, so quotes stay verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int


_CLOSERS = "”’」』）)】》\"'"
_SENT_END = re.compile(rf"[。！？!?]+[{re.escape(_CLOSERS)}]*|\n+")
_CLAUSE_END = re.compile(rf"[。！？!?；;]+[{re.escape(_CLOSERS)}]*|\n+")


def split_sentences(text: str, clauses: bool = False, min_chars: int = 6) -> list[Span]:
    """Split ``text`` into sentence spans (whitespace trimmed, offsets into ``text``).

    Fragments shorter than ``min_chars`` (e.g. a lone "1." or "”。") are merged into
    the following sentence, or the previous one at the end.
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


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e
