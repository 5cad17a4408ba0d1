"""The pipeline as a LangChain runnable: question in, the verified :class:`rag.types.Answer` out.

    from rag.pipeline import Pipeline
    chain = Pipeline().as_runnable()                     # = rag.adapters.answer_chain(Pipeline())
    answer = chain.invoke("试点县能得到哪些支持？")        # == pipeline.ask(...) (timings aside)
    answer = chain.invoke({"question": "…", "mode": "llm", "docs": ["白皮书"], "top_k": 5})
    for item in chain.stream("…"):                       # text deltas (the LLM's tokens), then the Answer
        print(item if isinstance(item, str) else "\\n" + item.answer)

``invoke`` is ``pipeline.ask`` and ``stream`` is ``pipeline.ask_stream`` — the calls the CLI, the HTTP API
and the UI make — so an integrator gets exactly what the app answers. ``retriever=`` takes any LangChain
``BaseRetriever`` instead of the index (its Documents become the passages the answer is composed from and
verified against; see :func:`rag.adapters.documents.from_document`). Bad input raises
:class:`rag.errors.InputError` naming the valid keys.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, Field

from ..errors import InputError
from ..retrieval.hybrid import allowed_docs
from ..settings import MAX_TOP_K, check_answer_mode, check_top_k
from ..types import Answer, DocumentInfo, Filters, ScoredChunk
from .documents import from_document


class AskInput(BaseModel):
    """The chain's input (a plain string is accepted too, as the question)."""

    question: str = Field(description="the question, in Chinese")
    mode: str | None = Field(default=None, description="extractive | llm (default: the pipeline's answer_mode)")
    docs: list[str] | None = Field(default=None, description="only these documents (ids, aliases, file names or titles)")
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K, description="passages retrieved (default: top_k setting)")


INPUT_KEYS = tuple(AskInput.model_fields)


class RetrieverSource:
    """Passages from a LangChain retriever, in the shape ``Pipeline.ask_stream(source=...)`` reads:
    ``search(query, top_k=, filters=)`` and, after it, ``documents`` (the index's, plus the foreign ones).
    One per question: ``documents`` belongs to the last search."""

    def __init__(self, retriever: BaseRetriever, base_documents: Mapping[str, DocumentInfo]):
        self.retriever = retriever
        self.documents: dict[str, DocumentInfo] = dict(base_documents)

    def search(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[ScoredChunk]:
        name = self.retriever.get_name()
        pairs = [from_document(d, i, name) for i, d in enumerate(self.retriever.invoke(query), 1)]
        found = {info.doc_id: info for _, info in pairs}
        self.documents = {**found, **self.documents}  # the index's own facts win over metadata
        results = [sc for sc, _ in pairs]
        allowed = allowed_docs(filters, self.documents)
        if allowed is not None:
            results = [sc for sc in results if sc.chunk.doc_id in allowed]
        return results if top_k is None else results[: check_top_k(top_k)]


def parse_input(value: Any) -> AskInput:
    """A question string or ``{"question": ..., "mode"?, "docs"?, "top_k"?}``; InputError naming the valid keys."""
    if isinstance(value, AskInput):
        return value
    if isinstance(value, str):
        return AskInput(question=value)
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if not isinstance(value, Mapping):
        raise InputError(f"the chain takes a question string or a dict with {', '.join(map(repr, INPUT_KEYS))}, "
                         f"not {type(value).__name__}")
    unknown = sorted(set(value) - set(INPUT_KEYS))
    if unknown or "question" not in value:
        why = f"unknown key(s) {', '.join(map(repr, unknown))}" if unknown else "no \"question\""
        raise InputError(f"chain input has {why}; valid keys: {', '.join(INPUT_KEYS)} (\"question\" required)")
    q = value["question"]
    if not isinstance(q, str):
        raise InputError(f"\"question\" must be a string, not {type(q).__name__} {q!r}")
    mode = value.get("mode")
    docs = value.get("docs")
    if docs is not None and (isinstance(docs, str) or not all(isinstance(d, str) for d in docs)):
        raise InputError(f"\"docs\" must be a list of document names, not {docs!r}")
    top_k = value.get("top_k")
    return AskInput(question=q, mode=None if mode is None else check_answer_mode(mode),
                    docs=None if docs is None else list(docs), top_k=None if top_k is None else check_top_k(top_k))


class PipelineRunnable(Runnable[Any, Any]):
    """``pipeline.ask`` / ``pipeline.ask_stream`` as a LangChain Runnable (see the module doc)."""

    name = "PolicyAnswerChain"

    def __init__(self, pipeline: Any, mode: str | None = None, retriever: BaseRetriever | None = None):
        if not (callable(getattr(pipeline, "ask_stream", None)) and callable(getattr(pipeline, "make_filters", None))):
            raise InputError(f"answer_chain needs a rag.pipeline.Pipeline, not {type(pipeline).__name__}")
        if retriever is not None and not isinstance(retriever, BaseRetriever):
            raise InputError(f"retriever must be a LangChain BaseRetriever, not {type(retriever).__name__}")
        self.pipeline = pipeline
        self.mode = None if mode is None else check_answer_mode(mode)
        self.retriever = retriever

    @property
    def InputType(self) -> type:  # noqa: N802 - LangChain's name
        return AskInput

    @property
    def OutputType(self) -> type:  # noqa: N802 - LangChain's name
        return Answer

    def get_input_schema(self, config: RunnableConfig | None = None) -> type[BaseModel]:
        return AskInput

    def _call_args(self, value: Any, kwargs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        if kwargs:
            raise InputError(f"unknown keyword argument(s) {', '.join(map(repr, sorted(kwargs)))}; "
                             f"put {', '.join(INPUT_KEYS)} in the input")
        a = parse_input(value)
        source = None
        if self.retriever is not None:
            source = RetrieverSource(self.retriever, self.pipeline.documents)
        filters = self.pipeline.make_filters(a.docs) if a.docs else None
        return a.question, {"mode": a.mode or self.mode, "filters": filters, "top_k": a.top_k, "source": source}

    def _ask(self, value: Any) -> Answer:
        question, args = self._call_args(value, {})
        return self.pipeline.ask(question, **args)

    def _stream(self, values: Iterator[Any]) -> Iterator[str | Answer]:
        for value in values:
            question, args = self._call_args(value, {})
            yield from self.pipeline.ask_stream(question, **args)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        """The verified Answer, as ``pipeline.ask`` gives it."""
        self._call_args(input, kwargs)  # refuse bad input before a run is traced
        return self._call_with_config(self._ask, input, config)

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[str | Answer]:
        """Text deltas as they are composed (in LLM mode the model's tokens), then the verified Answer."""
        self._call_args(input, kwargs)
        yield from self._transform_stream_with_config(iter([input]), self._stream, config)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        """``invoke`` in a worker thread."""
        answer = None
        async for item in self.astream(input, config, **kwargs):
            answer = item
        assert isinstance(answer, Answer)
        return answer

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        """``stream`` run in a worker thread, its items handed over as they come."""
        self._call_args(input, kwargs)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                for item in self.stream(input, config):
                    loop.call_soon_threadsafe(queue.put_nowait, ("item", item))
                    if stop.is_set():
                        break
                loop.call_soon_threadsafe(queue.put_nowait, ("end", None))
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's task
                loop.call_soon_threadsafe(queue.put_nowait, ("error", e))

        threading.Thread(target=work, name="rag-astream", daemon=True).start()
        try:
            while True:
                kind, item = await queue.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise item
                yield item
        finally:
            stop.set()


def answer_chain(pipeline: Any, mode: str | None = None, retriever: BaseRetriever | None = None) -> PipelineRunnable:
    """``pipeline`` as a LangChain Runnable (see the module doc); ``mode`` fixes the answer mode unless the
    input names one; ``retriever`` (any LangChain ``BaseRetriever``) replaces the index as the passages' source."""
    return PipelineRunnable(pipeline, mode=mode, retriever=retriever)
