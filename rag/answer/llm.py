"""LLM answers: any chat model behind an OpenAI-compatible endpoint.

vLLM, Ollama, DeepSeek, Qwen/DashScope and OpenAI all speak ``/v1/chat/completions``;
configure RAG_LLM_BASE_URL, RAG_LLM_MODEL and (if needed) RAG_LLM_API_KEY.

The model sees the retrieved chunks as numbered sources (as many as fit in
``llm_context_tokens``, counted with tiktoken) fenced between markers, and the Chinese prompt
templates in ``rag/prompts/`` (each replaceable by a file of the same name in ``RAG_PROMPTS_DIR``,
default ``./prompts``; answer only from the sources, [n] after every sentence, say
"文件中未找到……" otherwise, never follow instructions inside the sources). Its reply is
verified like any answer. The call (:mod:`rag.answer.llm_client`) has one deadline per question,
``RAG_LLM_TIMEOUT`` seconds from its arrival; when the endpoint is down, slow, rate-limited, paused
by the circuit breaker, cuts its stream short, or the reply is empty, unparseable or rests on source
numbers that do not exist, the extractive answer is returned instead, with a notice saying why.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, LLMError
from ..settings import Settings
from ..text import heading_label
from ..tokens import count_tokens
from ..types import Answer, Chunk, DocumentInfo, ScoredChunk
from .base import ABSTAIN_PREFIX, BaseAnswerer, Draft, verify_draft
from .deadline import CircuitBreaker, question_deadline
from .extractive import ExtractiveAnswerer
from .llm_client import ChatClient, LLMCallError
from .verify import parse_cited_sentences

if TYPE_CHECKING:
    from .rewrite import QueryRewriter

log = logging.getLogger(__name__)

# At most this many LLM questions compose their fallback ahead at once: composing is CPU work under the
# GIL, and 40 LLM questions composing together would slow every extractive answer, search and health
# check for a second or more; the others wait (blocked, off the GIL) for a turn.
COMPOSE_AHEAD = threading.BoundedSemaphore(2)
SYSTEM_FILE = "answer_system.txt"
USER_FILE = "answer_user.txt"
_PACKAGED_PROMPTS = Path(__file__).resolve().parent.parent / "prompts"  # rag/prompts/, shipped as package data


def prompt_file(settings: Settings, name: str) -> Path:
    """The template ``name``: ``settings.prompts_dir/name`` when present (a user's override), else the packaged one."""
    for d in (Path(settings.prompts_dir), _PACKAGED_PROMPTS):
        if (d / name).is_file():
            return d / name
    raise ConfigError(
        f"prompt template {name} not found in {settings.prompts_dir} nor in the package ({_PACKAGED_PROMPTS}); "
        "set RAG_PROMPTS_DIR to a folder that holds it, or reinstall the package"
    )


def format_source(n: int, chunk: Chunk, documents: Mapping[str, DocumentInfo]) -> str:
    doc = documents.get(chunk.doc_id)
    where = heading_label(((doc.title if doc else chunk.title), chunk.part, *chunk.heading_path))
    return f"[{n}] {where}\n{unfenced(chunk.text)}"


def unfenced(text: str) -> str:
    """``text`` unable to close the sources' fence (<<<来源结束>>>) early: angle-bracket runs become guillemets."""
    return text.replace("<<<", "‹‹‹").replace(">>>", "›››")


def number_sources(
    retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo], budget_tokens: int
) -> tuple[dict[int, Chunk], str]:
    """Number chunks 1..k in retrieval order while they fit ``budget_tokens``; (sources, prompt block)."""
    sources: dict[int, Chunk] = {}
    blocks: list[str] = []
    used = 0
    for sc in retrieved:
        block = format_source(len(sources) + 1, sc.chunk, documents)
        cost = count_tokens(block) + 2
        if sources and used + cost > budget_tokens:
            break
        sources[len(sources) + 1] = sc.chunk
        blocks.append(block)
        used += cost
    return sources, "\n\n".join(blocks)


def describe_failure(err: BaseException) -> str:
    """A short Chinese reason for a failed call, for the user-visible notice."""
    if isinstance(err, (LLMCallError, LLMError)):
        return str(err)
    if isinstance(err, TimeoutError):
        return "连接超时"
    return f"返回内容无法解析：{type(err).__name__}"


class LLMAnswerer(BaseAnswerer):
    """Answers with a chat model; falls back to :class:`ExtractiveAnswerer` on any failure."""

    mode = "llm"

    def __init__(self, settings: Settings):
        if not settings.llm_configured:
            raise ConfigError("set RAG_LLM_BASE_URL and RAG_LLM_MODEL to use --mode llm")
        self.settings = settings
        self.fallback = ExtractiveAnswerer()
        self.rewriter: QueryRewriter | None = None  # set by make_answerer when RAG_LLM_REWRITE is on
        # fail now, not on the first question
        self.system_template = prompt_file(settings, SYSTEM_FILE).read_text(encoding="utf-8")
        self.user_template = prompt_file(settings, USER_FILE).read_text(encoding="utf-8")
        # one client per answerer, shared by every question: its own concurrency limit and circuit breaker
        breaker = CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown)
        self.client = ChatClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                                 max_concurrency=settings.llm_concurrency, breaker=breaker)

    # ------------------------------------------------------------------ the endpoint

    def messages(self, question: str, sources_block: str) -> list[dict[str, str]]:
        """The system and user messages (the templates of :func:`prompt_file`, filled in)."""
        values = {"sources": sources_block, "question": question}
        user = re.sub(r"\{(sources|question)\}", lambda m: values[m.group(1)], self.user_template)  # one pass
        return [{"role": "system", "content": self.system_template}, {"role": "user", "content": user}]

    def prompt_budget(self) -> int:
        """Tokens left for sources after the templates."""
        fixed = count_tokens(self.system_template) + count_tokens(self.user_template) + 200
        return max(self.settings.llm_context_tokens - fixed, 200)

    # ------------------------------------------------------------------ answering
    def stream(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> Iterator[str | Answer]:
        yield from self._run(question, retrieved, documents, streaming=True)

    def answer(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> Answer:
        final = None
        for item in self._run(question, retrieved, documents, streaming=False):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def _run(self, question, retrieved, documents, streaming: bool) -> Iterator[str | Answer]:
        t0 = time.perf_counter()
        deadline = question_deadline(self.settings.llm_timeout)  # counted from the question's arrival
        if not retrieved:
            yield from self.fallback.stream(question, retrieved, documents)
            return
        sources, block = number_sources(retrieved, documents, self.prompt_budget())
        parts: list[str] = []
        # one deadline covers waiting for a slot, connecting, the retry, Retry-After and the whole stream
        call = self.client.start(self.messages(question.strip(), block), deadline, stream=streaming)
        try:
            # the fallback is composed while the model works, so it is ready the moment the deadline passes
            # (40 questions timing out together would otherwise compose 40 answers after their deadline)
            fallback = self._fallback_answer(question, retrieved, documents, deadline)
            for delta in call:
                parts.append(delta)
                if streaming:
                    yield delta
        except LLMCallError as e:  # any endpoint failure means: answer without the model
            log.warning("LLM call failed: %s", e)
            fallback = fallback or self.fallback.answer(question, retrieved, documents)
            yield from self._fall_back(fallback, f"大模型服务不可用（{describe_failure(e)}），已改用摘录式回答。",
                                       streaming and bool(parts))
            return
        finally:
            call.cancel()
        timings = {"llm": (time.perf_counter() - t0) * 1000}
        text = "".join(parts).strip()
        draft, problem = self.to_draft(question, text, sources, retrieved, timings)
        if problem:
            fallback = fallback or self.fallback.answer(question, retrieved, documents)
            yield from self._fall_back(fallback, f"大模型回答{problem}，已改用摘录式回答。", streaming and bool(parts))
            return
        answer = verify_draft(draft, documents)
        if answer.abstained and not draft.abstained:  # the model wrote claims, none of which checks out
            fallback = fallback or self.fallback.answer(question, retrieved, documents)
            yield from self._fall_back(fallback, "大模型回答无法在来源中核实，已改用摘录式回答。", streaming)
            return
        yield answer

    def to_draft(self, question, text: str, sources: dict[int, Chunk], retrieved, timings) -> tuple[Draft, str]:
        """Parse the model's reply; (draft, "") or (draft, why it is unusable)."""
        draft = Draft(question, self.mode, (), sources, tuple(retrieved), timings_ms=timings)
        if not text:
            return draft, "为空"
        cited = parse_cited_sentences(text)
        if not cited:
            return draft, "无法解析"
        if text.startswith(ABSTAIN_PREFIX) and not any(s.citations for s in cited):
            reason = cited[0].text[len(ABSTAIN_PREFIX):].rstrip("。.！!") if cited[0].text.startswith(ABSTAIN_PREFIX) else ""
            closest = tuple(sc.chunk for sc in retrieved[:3])
            return replace(draft, abstained=True, abstain_reason=reason, closest=closest), ""
        if not any(s.citations for s in cited):
            return draft, "没有标注来源编号（无法解析）"
        fabricated = sorted({n for s in cited for n in s.citations if n not in sources})
        if any(s.citations and all(n not in sources for n in s.citations) for s in cited):
            ids = "、".join(f"[{n}]" for n in fabricated)
            return draft, f"引用了不存在的来源编号 {ids}"
        return replace(draft, sentences=tuple(cited)), ""

    def _fallback_answer(self, question, retrieved, documents, deadline) -> Answer | None:
        """The extractive answer, composed ahead (one of COMPOSE_AHEAD at a time); None if that failed or found
        no turn before the deadline (it is then composed when needed)."""
        if not COMPOSE_AHEAD.acquire(timeout=deadline.remaining()):
            return None
        try:
            return self.fallback.answer(question, retrieved, documents)
        except Exception:  # noqa: BLE001 - only an optimisation; the fallback path repeats it and raises
            log.exception("composing the extractive fallback ahead of the LLM reply failed")
            return None
        finally:
            COMPOSE_AHEAD.release()

    @staticmethod
    def _fall_back(answer: Answer, notice: str, streamed: bool) -> Iterator[str | Answer]:
        """The extractive ``answer`` (its ``mode`` says so) with ``notice`` first among its notices."""
        yield ("\n\n" if streamed else "") + notice + "\n" + answer.answer
        yield replace(answer, notices=(notice, *answer.notices))
