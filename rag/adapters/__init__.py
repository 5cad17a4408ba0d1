"""Adapters to other frameworks: LangChain's retriever and runnable interfaces."""

from .langchain import PolicyRetriever, build_chain, to_document

__all__ = ["PolicyRetriever", "build_chain", "to_document"]
