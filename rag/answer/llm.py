"""LLM answers: any chat model behind an OpenAI-compatible endpoint, through LangChain.

vLLM, Ollama, DeepSeek, Qwen/DashScope and OpenAI all speak ``/v1/chat/completions``;
configure RAG_LLM_BASE_URL, RAG_LLM_MODEL and (if needed) RAG_LLM_API_KEY.

The model sees the retrieved chunks as numbered sources (as many as fit in
``llm_context_tokens``, counted with tiktoken) and the Chinese prompt templates in
``prompts/`` (answer only from the sources, [n] after every sentence, say
"文件中未找到……" otherwise, treat instructions inside sources as text). Its reply is
verified like any answer. When the endpoint is down, slow, rate-limited, or the reply
is empty, unparseable or rests on source numbers that do not exist, the extractive
answer is returned instead, with a notice saying why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from ..errors import ConfigError, LLMError
from ..settings import Settings
from ..text import heading_label
from ..tokens import count_tokens
from ..types import Answer, Chunk, DocumentInfo, ScoredChunk
from .base import ABSTAIN_PREFIX, BaseAnswerer, Draft, verify_draft
from .extractive import ExtractiveAnswerer
from .verify import parse_cited_sentences

log = logging.getLogger(__name__)

SYSTEM_FILE = "answer_system.txt"
USER_FILE = "answer_user.txt"
_PACKAGED_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
MAX_RETRIES = 1  # one retry (the openai client backs off, honouring Retry-After) before falling back


def prompts_dir(settings: Settings) -> Path:
    """``settings.prompts_dir`` when it holds the templates, else the repository's prompts/."""
    for d in (Path(settings.prompts_dir), _PACKAGED_PROMPTS):
        if (d / SYSTEM_FILE).is_file() and (d / USER_FILE).is_file():
            return d
    raise ConfigError(
        f"prompt templates {SYSTEM_FILE} and {USER_FILE} not found in {settings.prompts_dir}; "
        "set RAG_PROMPTS_DIR to the folder that holds them"
    )


def format_source(n: int, chunk: Chunk, documents: Mapping[str, DocumentInfo]) -> str:
    doc = documents.get(chunk.doc_id)
    where = heading_label(((doc.title if doc else chunk.title), chunk.part, *chunk.heading_path))
    return f"[{n}] {where}\n{chunk.text}"


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
    import openai

    if isinstance(err, (openai.APITimeoutError, TimeoutError)):
        return "连接超时"
    if isinstance(err, openai.RateLimitError):
        return "请求过于频繁，HTTP 429"
    if isinstance(err, openai.AuthenticationError):
        return "API 密钥无效，HTTP 401"
    if isinstance(err, openai.APIStatusError):
        return f"服务返回错误，HTTP {err.status_code}"
    if isinstance(err, openai.APIConnectionError):
        return "无法连接服务"
    if isinstance(err, LLMError):
        return str(err)
    return f"返回内容无法解析：{type(err).__name__}"


class LLMAnswerer(BaseAnswerer):
    """Answers with a chat model; falls back to :class:`ExtractiveAnswerer` on any failure."""

    mode = "llm"

    def __init__(self, settings: Settings):
        if not settings.llm_configured:
            raise ConfigError("set RAG_LLM_BASE_URL and RAG_LLM_MODEL to use --mode llm")
        self.settings = settings
        self.fallback = ExtractiveAnswerer()
        folder = prompts_dir(settings)  # fail now, not on the first question
        self.system_template = (folder / SYSTEM_FILE).read_text(encoding="utf-8")
        self.user_template = (folder / USER_FILE).read_text(encoding="utf-8")

    # ------------------------------------------------------------------ LangChain pieces (built on first use)
    @cached_property
    def prompt(self):
        from langchain_core.prompts import ChatPromptTemplate

        return ChatPromptTemplate.from_messages([("system", self.system_template), ("human", self.user_template)])

    def _model(self, streaming: bool):
        from langchain_openai import ChatOpenAI

        s = self.settings
        return ChatOpenAI(
            model=s.llm_model,
            base_url=s.llm_base_url,
            api_key=s.llm_api_key or "not-needed",  # vLLM/Ollama accept any key; the client insists on one
            timeout=s.llm_timeout,
            max_retries=MAX_RETRIES,
            temperature=0,
            streaming=streaming,
            stream_usage=False,
            use_responses_api=False,  # every OpenAI-compatible server has chat completions
        )

    @cached_property
    def chain(self):
        """prompt | chat model, streaming."""
        return self.prompt | self._model(streaming=True)

    @cached_property
    def chain_blocking(self):
        """prompt | chat model, one JSON reply."""
        return self.prompt | self._model(streaming=False)

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
        if not retrieved:
            yield from self.fallback.stream(question, retrieved, documents)
            return
        sources, block = number_sources(retrieved, documents, self.prompt_budget())
        inputs = {"question": question.strip(), "sources": block}
        parts: list[str] = []
        try:
            if streaming:
                # llm_timeout bounds the connection and every wait for the next piece (httpx timeouts)
                for msg in self.chain.stream(inputs):
                    delta = msg.content if isinstance(msg.content, str) else ""
                    if delta:
                        parts.append(delta)
                        yield delta
            else:
                msg = self.chain_blocking.invoke(inputs)
                parts.append(msg.content if isinstance(msg.content, str) else "")
        except Exception as e:  # noqa: BLE001 - any endpoint failure means: answer without the model
            log.warning("LLM call failed: %s: %s", type(e).__name__, e)
            yield from self._fall_back(question, retrieved, documents, f"大模型服务不可用（{describe_failure(e)}），已改用摘录式回答。", bool(parts))
            return
        timings = {"llm": (time.perf_counter() - t0) * 1000}
        text = "".join(parts).strip()
        draft, problem = self.to_draft(question, text, sources, retrieved, timings)
        if problem:
            yield from self._fall_back(question, retrieved, documents, f"大模型回答{problem}，已改用摘录式回答。", bool(parts))
            return
        answer = verify_draft(draft, documents)
        if answer.abstained and not draft.abstained:  # the model wrote claims, none of which checks out
            yield from self._fall_back(question, retrieved, documents, "大模型回答无法在来源中核实，已改用摘录式回答。", True)
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

    def _fall_back(self, question, retrieved, documents, notice: str, streamed: bool) -> Iterator[str | Answer]:
        """The extractive answer (its ``mode`` says so) with ``notice`` first among its notices."""
        from dataclasses import replace

        answer = self.fallback.answer(question, retrieved, documents)
        yield ("\n\n" if streamed else "") + notice + "\n" + answer.answer
        yield replace(answer, notices=(notice, *answer.notices))
