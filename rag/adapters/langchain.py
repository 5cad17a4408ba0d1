"""LangChain retriever over the pipeline's own search (what ``rag search``, the API and the UI retrieve).

    from rag.pipeline import Pipeline
    retriever = Pipeline().as_retriever(k=5)          # = PolicyRetriever(pipeline=Pipeline(), k=5)
    docs = retriever.invoke("试点县能得到哪些支持", k=3)

``k`` (1–200; default the pipeline's ``top_k`` setting) and ``filters`` (:class:`rag.types.Filters`) are set
in the constructor and can be overridden per call as ``invoke`` keyword arguments; any other constructor
argument or ``invoke`` keyword is refused with :class:`rag.errors.InputError` naming the valid ones.
Queries go through the pipeline's query cleaning and expansion, so a bad query raises ``InputError`` too.
Each ``Document`` carries the chunk text and the metadata listed in :mod:`rag.adapters.documents`.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, field_validator, model_validator

from ..errors import InputError
from ..settings import check_top_k
from ..types import Filters
from .documents import to_document

INVOKE_KWARGS = ("k", "filters")
_LANGCHAIN_KWARGS = ("verbose",)  # read by BaseRetriever.invoke itself before it calls us


def check_filters(filters: Any) -> Filters | None:
    """``filters`` if it is None or a :class:`rag.types.Filters`; InputError otherwise."""
    if filters is None or isinstance(filters, Filters):
        return filters
    raise InputError(f"\"filters\" must be a rag.types.Filters (e.g. pipeline.make_filters(['白皮书'])), "
                     f"not {type(filters).__name__} {filters!r}")


class PolicyRetriever(BaseRetriever):
    """LangChain retriever over ``pipeline.search`` (a :class:`rag.pipeline.Pipeline`, or anything with
    ``search(query, top_k=, filters=)`` returning ScoredChunks and a ``documents`` mapping)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pipeline: Any
    k: int | None = None
    filters: Filters | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_arguments(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise InputError(f"PolicyRetriever got unknown argument(s) {', '.join(map(repr, unknown))}; "
                                 f"valid: {', '.join(cls.model_fields)}")
        return data

    @field_validator("pipeline")
    @classmethod
    def _searchable(cls, v: Any) -> Any:
        if not (callable(getattr(v, "search", None)) and hasattr(v, "documents")):
            raise InputError(f"PolicyRetriever(pipeline=...) needs a rag.pipeline.Pipeline (search() and documents), "
                             f"not {type(v).__name__}")
        return v

    @field_validator("k", mode="before")
    @classmethod
    def _k(cls, v: Any) -> int | None:
        return None if v is None else check_top_k(v)

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, v: Any) -> Filters | None:
        return check_filters(v)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        unknown = sorted(set(kwargs) - set(INVOKE_KWARGS) - set(_LANGCHAIN_KWARGS))
        if unknown:
            raise InputError(f"PolicyRetriever.invoke got unknown keyword argument(s) "
                             f"{', '.join(map(repr, unknown))}; valid: {', '.join(INVOKE_KWARGS)}")
        k = kwargs.get("k", self.k)
        k = None if k is None else check_top_k(k)
        filters = check_filters(kwargs["filters"]) if "filters" in kwargs else self.filters
        results = self.pipeline.search(query, top_k=k, filters=filters)
        documents = self.pipeline.documents
        return [to_document(r, documents) for r in results]

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       **kwargs: Any) -> list[Document]:
        return await run_in_executor(None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(),
                                     **kwargs)
