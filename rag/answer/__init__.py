"""Answers with verified, memo-ready citations.

``make_answerer(mode, settings)`` returns an :class:`Answerer`:

- ``extractive`` (default): verbatim sentences of the retrieved chunks; no model, no network.
- ``llm``: any chat model behind an OpenAI-compatible endpoint (RAG_LLM_BASE_URL, RAG_LLM_MODEL,
  RAG_LLM_API_KEY); falls back to the extractive answer, with a notice, when the endpoint fails.

Both verify every sentence against the chunks it cites (:mod:`rag.answer.verify`), and both
compose only from passages that do not address the reader or the model (:mod:`rag.answer.guard`).
"""

from __future__ import annotations

from ..errors import ConfigError
from ..settings import ANSWER_MODES, Settings
from .base import Answerer, Draft, verify_draft
from .extractive import ExtractiveAnswerer
from .guard import ScreenedAnswerer

__all__ = ["Answerer", "Draft", "ExtractiveAnswerer", "make_answerer", "verify_draft"]


def make_answerer(mode: str, settings: Settings, corpus=None) -> Answerer:
    """The answerer for ``mode``; ConfigError for an unknown mode or an unconfigured LLM.

    ``corpus`` (:class:`~rag.answer.corpus.CorpusTerms`) lets question analysis ignore words
    that occur nowhere in the documents; the vocabulary comes from ``settings.vocabulary``.
    """
    from ..vocab import vocabulary_for

    extractive = ExtractiveAnswerer(corpus, vocabulary_for(settings.vocabulary_files))
    if mode == "extractive":
        return ScreenedAnswerer(extractive)
    if mode == "llm":
        if not settings.llm_configured:
            missing = [n for n, v in (("RAG_LLM_BASE_URL", settings.llm_base_url), ("RAG_LLM_MODEL", settings.llm_model)) if not v]
            raise ConfigError(
                f"--mode llm needs an OpenAI-compatible endpoint: set {' and '.join(missing)} "
                "(e.g. RAG_LLM_BASE_URL=http://localhost:11434/v1 RAG_LLM_MODEL=qwen2.5:7b; "
                "RAG_LLM_API_KEY if the endpoint wants one)"
            )
        from .llm import LLMAnswerer

        answerer = LLMAnswerer(settings)
        if settings.llm_rewrite:
            answerer.rewriter = _rewriter(settings, answerer.client, vocabulary_for(settings.vocabulary_files))
        answerer.fallback = extractive  # given the same screened passages as the model
        return ScreenedAnswerer(answerer)
    raise ConfigError(f"answer mode {mode!r} is not valid; choose one of {', '.join(ANSWER_MODES)}")


def _rewriter(settings: Settings, client, vocab):
    """The question rewriter of LLM mode (None, with a warning, when its prompt file is missing)."""
    import logging

    from .llm import prompt_file
    from .rewrite import REWRITE_FILE, QueryRewriter

    try:
        path = prompt_file(settings, REWRITE_FILE)
    except ConfigError as e:
        logging.getLogger(__name__).warning("%s: LLM mode retrieves with the question as asked", e)
        return None
    return QueryRewriter(client, path.read_text(encoding="utf-8"), vocab, settings.llm_timeout)
