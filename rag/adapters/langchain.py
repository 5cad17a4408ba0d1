"""LangChain adapter: any :class:`rag.retrieve.Retriever` as a ``BaseRetriever``.

    from rag.lc import PolicyRetriever
    lc = PolicyRetriever(retriever=pipeline.retriever, top_k=5)
    docs = lc.invoke("试点县能得到哪些支持")

Each ``Document`` carries the chunk text as ``page_content`` and metadata ``chunk_id``,
``doc``, ``title``, ``heading_path``, ``kind``, ``score`` and ``ranks``. Queries go through
:func:`rag.retrieve.clean_query`, so bad input raises ``rag.errors.InputError``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .retrieve import clean_query
from .types import Filters, ScoredChunk


def to_document(sc: ScoredChunk) -> Document:
    """A retrieved chunk as a LangChain Document (text as page_content, the rest as metadata)."""
    c = sc.chunk
    return Document(
        page_content=c.text,
        id=c.id,
        metadata={
            "chunk_id": c.id,
            "doc": c.doc_id,
            "title": c.title,
            "heading_path": list(c.heading_path),
            "kind": c.kind,
            "score": sc.score,
            "ranks": dict(sc.ranks),
        },
    )


class PolicyRetriever(BaseRetriever):
    """LangChain retriever over a :class:`rag.retrieve.Retriever` (top_k and filters fixed per instance)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    top_k: int = 10
    filters: Filters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        results = self.retriever.retrieve(clean_query(query), top_k=self.top_k, filters=self.filters)
        return [to_document(r) for r in results]
