"""Our records as LangChain ``Document`` objects and back.

``to_document`` puts a retrieved chunk's text in ``page_content`` and everything else in ``metadata``:

=================  =====================================================================
``chunk_id``       the chunk's id (also ``Document.id``)
``doc``            the document id; ``title`` its title; ``source`` its corpus file (the title when unknown)
``issuer``         the issuing body (a compilation part's own issuer first)
``date``           ``"2024-12"``, ``"2021-06-29"``, ``"2024"`` or ``""``
``doc_number``     the 文号, e.g. ``闽政〔2021〕12号`` (a compilation part's own first; ``""`` when none)
``heading_path``   the headings above the chunk, outermost first
``kind``           ``text`` | ``heading`` | ``table_row`` | ``list_item``
``start_index``,   the character span of ``page_content`` in the cleaned text of the document
``end_index``      (``start_index`` as LangChain's text splitters name it)
``score``          the fused (RRF or reranker) score
``ranks``          per ranker (``bm25``, ``dense``): the 1-based rank, None when it missed
``scores``         per ranker: its own score, None when it missed (plus ``rerank`` with a reranker)
=================  =====================================================================

plus ``part``, ``context`` for compilation parts and table rows when set. ``from_document`` reverses this
exactly for our own documents and makes a best-effort chunk of any other retriever's document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from langchain_core.documents import Document

from ..types import Chunk, DocumentInfo, ScoredChunk

EXTERNAL_DOC = "external"  # the doc id of a foreign document that names none


def to_document(sc: ScoredChunk, documents: Mapping[str, DocumentInfo]) -> Document:
    """A retrieved chunk as a LangChain Document (text as page_content, the rest as metadata; see the module doc)."""
    c = sc.chunk
    info = documents.get(c.doc_id)
    meta: dict[str, Any] = {
        "chunk_id": c.id,
        "doc": c.doc_id,
        "title": info.title if info else c.title,
        "source": (info.path or info.title) if info else c.title,
        "issuer": c.part_issuer or (info.issuer if info else ""),
        "date": info.date if info else "",
        "doc_number": c.part_number or (info.number if info else ""),
        "heading_path": list(c.heading_path),
        "kind": c.kind,
        "start_index": c.start,
        "end_index": c.end,
        "score": sc.score,
        "ranks": dict(sc.ranks),
        "scores": dict(sc.scores),
    }
    for name in ("part", "context"):
        if getattr(c, name):
            meta[name] = getattr(c, name)
    if c.part:
        meta["part_issuer"], meta["part_number"] = c.part_issuer, c.part_number
    return Document(page_content=c.text, id=c.id, metadata=meta)


def _text(meta: Mapping[str, Any], *names: str) -> str:
    for n in names:
        v = meta.get(n)
        if isinstance(v, str) and v:
            return v
    return ""


def _number(v: Any, default: float) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else default


def from_document(doc: Document, rank: int, ranker: str) -> tuple[ScoredChunk, DocumentInfo]:
    """A Document as the ScoredChunk the answerers read, with the DocumentInfo its citation needs.

    One of ours (``to_document``'s metadata) comes back as it was. Any other retriever's document gets:
    doc id from ``doc``/``doc_id``/``source`` (else "external"), title from ``title``/``source``, issuer,
    date and 文号 (``doc_number``/``number``) when its metadata has them, a stable id from its text when
    it has none, and score ``score`` or 1/rank; ``ranks`` / ``scores`` name ``ranker`` with its 1-based ``rank``.
    """
    m = doc.metadata or {}
    ours = "chunk_id" in m and "doc" in m
    doc_id = _text(m, "doc", "doc_id", "source") or EXTERNAL_DOC
    title = _text(m, "title", "source") or doc_id
    text = doc.page_content
    chunk_id = _text(m, "chunk_id") or doc.id or f"{doc_id}:{hashlib.sha1(text.encode()).hexdigest()[:12]}"
    start = int(_number(m.get("start_index"), 0))
    path = m.get("heading_path") or ()
    chunk = Chunk(
        id=chunk_id, doc_id=doc_id, title=title,
        heading_path=tuple(str(h) for h in path) if isinstance(path, list | tuple) else (str(path),),
        kind=_text(m, "kind") if ours else "text", text=text, start=start,
        end=int(_number(m.get("end_index"), start + len(text))),
        context=_text(m, "context"), part=_text(m, "part"),
        part_issuer=_text(m, "part_issuer"), part_number=_text(m, "part_number"),
    )
    if ours:
        sc = ScoredChunk(chunk, float(m["score"]), dict(m.get("ranks") or {}), dict(m.get("scores") or {}))
    else:
        score = _number(m.get("score"), 1.0 / rank)
        sc = ScoredChunk(chunk, score, {ranker: rank}, {ranker: score})
    info = DocumentInfo(doc_id=doc_id, title=title, path=_text(m, "source"),
                        issuer="" if chunk.part_issuer else _text(m, "issuer"), date=_text(m, "date"),
                        number="" if chunk.part_number else _text(m, "doc_number", "number"))
    return sc, info
