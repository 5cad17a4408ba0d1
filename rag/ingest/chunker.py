"""Blocks -> chunks: one paragraph (or table row) per chunk, tiny neighbours merged, long ones split.

The cleaned document is the blocks' texts joined by newlines; every chunk's
``text`` equals ``cleaned[start:end]``. Ids are ``{doc_id}:p{n:04d}`` where n is the
paragraph number (``-k`` for the k-th piece of a split paragraph), so the same text
re-indexed gets the same ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import tiling_sentences
from ..types import Chunk
from .structure import Block


def count_tokens(text: str) -> int:
    """Token count used for the chunk budget (see :mod:`rag.tokens`)."""
    from ..tokens import count_tokens as _count

    return _count(text)


@dataclass
class _Piece:
    n: int
    kind: str
    text: str
    start: int
    path: tuple[str, ...]
    context: str
    part: str


_LIST_SEP = re.compile(r"[、；;]")


def _introduces_list(lead: str, nxt: _Piece) -> bool:
    """A paragraph ending with a colon followed by a list item or an enumeration (a、b、c) introduces it."""
    return lead.rstrip()[-1:] in "：:" and (nxt.kind == "list_item" or len(_LIST_SEP.findall(nxt.text)) >= 2)


def cleaned_text(blocks: list[Block]) -> tuple[str, list[int]]:
    """Join block texts with newlines; return the text and each block's start offset."""
    starts, pos = [], 0
    for b in blocks:
        starts.append(pos)
        pos += len(b.text) + 1
    return "\n".join(b.text for b in blocks), starts


def _split_long(text: str, max_tokens: int) -> list[tuple[int, str]]:
    """Split at sentence ends into pieces within the token budget; (offset, piece) pairs."""
    if count_tokens(text) <= max_tokens:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    cur, cur_start, pos = "", 0, 0
    for s in tiling_sentences(text):
        if cur and count_tokens(cur + s) > max_tokens:
            pieces.append((cur_start, cur))
            cur, cur_start = "", pos
        cur += s
        pos += len(s)
    if cur:
        pieces.append((cur_start, cur))
    # a single sentence longer than the budget is split at commas / semicolons
    out: list[tuple[int, str]] = []
    for off, p in pieces:
        if count_tokens(p) <= max_tokens * 1.5:
            out.append((off, p))
            continue
        sub, sub_start, q = "", 0, 0
        for part in re.findall(r"[^，,、；]*[，,、；]?", p):
            if not part:
                continue
            if sub and count_tokens(sub + part) > max_tokens:
                out.append((off + sub_start, sub))
                sub, sub_start = "", q
            sub += part
            q += len(part)
        if sub:
            out.append((off + sub_start, sub))
    return out


def make_chunks(doc_id: str, title: str, blocks: list[Block], max_tokens: int, min_chars: int) -> tuple[list[Chunk], str]:
    """Chunks of one document plus the cleaned document text they index into."""
    text, starts = cleaned_text(blocks)
    # headings become chunks only when nothing else carries them (an empty box, a heading-only section)
    carried = set()
    for b in blocks:
        if b.kind != "heading":
            for i in range(1, len(b.heading_path) + 1):
                carried.add(b.heading_path[:i])
    pieces: list[_Piece] = []
    for n, (b, start) in enumerate(zip(blocks, starts), 1):
        if b.kind == "heading" and b.heading_path in carried and not b.stated:
            continue
        pieces.append(_Piece(n, b.kind, b.text, start, b.heading_path, b.context, b.part))

    # merge tiny text paragraphs into the next one of the same section, and a paragraph that
    # introduces a list ("……必须推广：") with the list that follows it
    merged: list[_Piece] = []
    in_list = False  # the last merged piece is a lead-in plus its list items so far
    for p in pieces:
        prev = merged[-1] if merged else None
        joinable = (prev is not None and prev.kind in ("text", "list_item", "front")
                    and p.kind in ("text", "list_item", "front") and prev.path == p.path and prev.part == p.part
                    and prev.start + len(prev.text) + 1 == p.start)
        tiny = len(prev.text) < min_chars or len(p.text) < min_chars if prev is not None else False
        lead_in = prev is not None and _introduces_list(prev.text, p)
        listed = lead_in or (in_list and p.kind == "list_item")
        if prev is not None and joinable and (tiny or listed) and count_tokens(prev.text + p.text) <= max_tokens:
            prev.text = text[prev.start : p.start + len(p.text)]
            if prev.kind == "front" or p.kind == "text":
                prev.kind = p.kind if prev.kind != "front" else prev.kind
            in_list = listed
            continue
        merged.append(_Piece(p.n, p.kind, p.text, p.start, p.path, p.context, p.part))
        in_list = False

    chunks: list[Chunk] = []
    for p in merged:
        kind = "text" if p.kind == "front" else p.kind
        parts = [(0, p.text)] if kind == "table_row" else _split_long(p.text, max_tokens)
        for k, (off, piece) in enumerate(parts, 1):
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            if not piece:
                continue
            start = p.start + off + lead
            cid = f"{doc_id}:p{p.n:04d}" + (f"-{k}" if len(parts) > 1 else "")
            chunks.append(Chunk(id=cid, doc_id=doc_id, title=title, heading_path=p.path, kind=kind, text=piece,
                                start=start, end=start + len(piece), context=p.context, part=p.part))
    return chunks, text
