"""The answer stages as a LangChain runnable chain: retrieve → compose → verify.

    chain = build_chain(lambda q: pipeline.search(q), pipeline.answerer(), pipeline.documents)
    answer = chain.invoke({"question": "试点县能得到哪些支持？"})

Input ``{"question": str}``; output the verified :class:`rag.types.Answer`. Answerers that
expose ``compose`` (the extractive one) run compose and verify as separate steps; others
(the LLM answerer, which verifies and falls back internally) run as one compose+verify step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from ..types import Answer, DocumentInfo, ScoredChunk
from .base import Answerer, Draft, verify_draft


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
