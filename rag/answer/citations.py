"""Citations: the supporting span of a chunk and its memo-ready rendering.

Memo form (one line, ready to paste):

    《福建省县域重点产业链发展白皮书（2024）》（福建省工业和信息化厅，2024年12月）“二、…… › （三）……”：“原文……”

A document with a 文号 is cited the official way, 《标题》（文号）: 《福建省“十四五”制造业高质量发展专项规划》（闽政〔2021〕12号）….
For a compilation, the part's title follows the book title: 《汇编》之《部分》.
Issuer and date are left out when the catalog does not know them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..text import Span, heading_label, match_key, split_sentences
from ..types import Chunk, Citation, DocumentInfo
from .verify import bigrams

HEADING_SEP = " › "


def format_date(date: str) -> str:
    """"2024-12" -> 2024年12月, "2021-06-29" -> 2021年6月29日, "2024" -> 2024年; other text unchanged."""
    parts = date.strip().split("-")
    if not parts[0].isdigit():
        return date.strip()
    units = ("年", "月", "日")
    return "".join(f"{int(p) if i else p}{units[i]}" for i, p in enumerate(parts[:3]) if p.isdigit())


def source_label(chunk: Chunk, doc: DocumentInfo | None) -> str:
    """The document part of a memo citation: 《title》（文号） as official memos cite a numbered document,
    else 《title》（issuer，date）. A compilation part's own 文号 and issuer come before the book's."""
    title = doc.title if doc else chunk.title
    label = f"《{title}》"
    if chunk.part and chunk.part != title:
        label += f"之《{chunk.part}》"
    number = chunk.part_number if chunk.part else (doc.number if doc else "")
    if number:
        return f"{label}（{number}）"
    issuer = chunk.part_issuer or (doc.issuer if doc else "")
    meta = [x for x in (issuer, format_date(doc.date if doc else "")) if x]
    if meta:
        label += f"（{'，'.join(meta)}）"
    return label


def memo_line(chunk: Chunk, doc: DocumentInfo | None, quote: str) -> str:
    """The memo-ready rendering of one citation."""
    path = chunk.heading_path
    if chunk.part and path and path[0] == chunk.part:
        path = path[1:]  # the part is already named in the source label
    heading = heading_label(path)
    where = f"“{heading}”" if heading else ""
    return f"{source_label(chunk, doc)}{where}：“{quote}”"


QUOTE_GAP = "……"  # stands for the text between two cited sentences that the answer did not use


def merge_spans(chunk_text: str, spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The cited spans in text order, overlapping or adjacent ones (only spaces or punctuation
    between them) merged."""
    out: list[list[int]] = []
    for s, e in sorted(set(spans)):
        if out and (s <= out[-1][1] or not re.search(r"[\w\u4e00-\u9fff]", chunk_text[out[-1][1]:s])):
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return tuple((s, e) for s, e in out)


def quote_span(chunk_text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Exactly the cited sentences, verbatim, in text order; non-adjacent ones joined by ``QUOTE_GAP``
    (a memo quote must not put words in the answer's mouth that it did not use)."""
    merged = merge_spans(chunk_text, spans)
    if not merged:
        return chunk_text
    return QUOTE_GAP.join(chunk_text[s:e] for s, e in merged)


def best_span(sentence: str, chunk_text: str) -> Span:
    """The sentence (or clause) of ``chunk_text`` that best supports ``sentence``."""
    want = bigrams(match_key(sentence))
    best, best_score = None, -1.0
    for clauses in (False, True):
        for span in split_sentences(chunk_text, clauses=clauses):
            have = bigrams(match_key(span.text))
            if not have:
                continue
            # recall of the answer sentence, lightly penalising long spans
            score = len(want & have) / max(len(want), 1) - 0.001 * len(span.text)
            if score > best_score:
                best, best_score = span, score
    return best or Span(chunk_text, 0, len(chunk_text))


def make_citation(n: int, chunk: Chunk, documents: Mapping[str, DocumentInfo], quote: str,
                  spans: tuple[tuple[int, int], ...] = ()) -> Citation:
    """Citation ``[n]`` of ``chunk`` quoting ``quote`` (found at ``spans`` of its text), with its
    document's metadata and the memo line."""
    doc = documents.get(chunk.doc_id)
    return Citation(
        n=n,
        chunk_id=chunk.id,
        doc=chunk.doc_id,
        title=doc.title if doc else chunk.title,
        issuer=chunk.part_issuer or (doc.issuer if doc else ""),
        date=doc.date if doc else "",
        heading_path=tuple(chunk.heading_path),
        quote=quote,
        text=chunk.text,
        memo=memo_line(chunk, doc, quote),
        spans=spans,
    )
