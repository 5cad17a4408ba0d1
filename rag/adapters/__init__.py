"""Adapters to other frameworks: the pipeline as LangChain's retriever and runnable.

``PolicyRetriever`` (``Pipeline.as_retriever``) is ``pipeline.search`` as a ``BaseRetriever``;
``answer_chain`` (``Pipeline.as_runnable``) is ``pipeline.ask`` / ``ask_stream`` as a ``Runnable``.
"""

from .chain import AskInput, PipelineRunnable, RetrieverSource, answer_chain
from .documents import from_document, to_document
from .langchain import PolicyRetriever

__all__ = ["AskInput", "PipelineRunnable", "PolicyRetriever", "RetrieverSource", "answer_chain", "from_document",
           "to_document"]
