"""LangChain adapters: any :class:`rag.retrieval.Retriever` as a ``BaseRetriever``, and the answer
stages as a runnable chain.

    from rag.adapters import PolicyRetriever
    lc = PolicyRetriever(retriever=pipeline.retriever, top_k=5)
    docs = lc.invoke("试点县能得到哪些支持")

Each ``Document`` carries the chunk text as ``page_content`` and metadata ``chunk_id``,
``doc``, ``title``, ``heading_path``, ``kind``, ``score`` and ``ranks``. Queries go through
:func:`rag.retrieval.clean_query`, so bad input raises ``rag.errors.InputError``.

The chain:
retrieve → compose → verify.

    chain = build_chain(lambda q: pipeline.search(q), pipeline.answerer(), pipeline.documents)
    answer = chain.invoke({"question": "试点县能得到哪些支持？"})

Input ``{"question": str}``; output the verified :class:`rag.types.Answer`. Answerers that
expose ``compose`` (the extractive one) run compose and verify as separate steps; others
(the LLM answerer, which verifies and falls back internally) run as one compose+verify step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict

from ..answer.base import Answerer, Draft, verify_draft
from ..retrieval import clean_query
from ..types import Answer, DocumentInfo, Filters, ScoredChunk


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
    """LangChain retriever over a :class:`rag.retrieval.Retriever` (top_k and filters fixed per instance)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    top_k: int = 10
    filters: Filters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        results = self.retriever.retrieve(clean_query(query), top_k=self.top_k, filters=self.filters)
        return [to_document(r) for r in results]


def build_chain(
    retriever_fn: Callable[[str], Sequence[ScoredChunk]],
    answerer: Answerer,
    documents: Mapping[str, DocumentInfo],
) -> Runnable:
    """A runnable mapping ``{"question": ...}`` to a verified Answer."""

    def retrieve(inputs: dict[str, Any]) -> dict[str, Any]:
        question = inputs["question"]
        return {"question": question, "retrieved": list(retriever_fn(question))}

    def compose(state: dict[str, Any]) -> Draft | Answer:
        compose_fn = getattr(answerer, "compose", None)
        if compose_fn is None:
            return answerer.answer(state["question"], state["retrieved"], documents)
        return compose_fn(state["question"], state["retrieved"], documents)

    def verify(draft: Draft | Answer) -> Answer:
        return draft if isinstance(draft, Answer) else verify_draft(draft, documents)

    return (
        RunnableLambda(retrieve, name="retrieve")
        | RunnableLambda(compose, name="compose")
        | RunnableLambda(verify, name="verify")
    )
