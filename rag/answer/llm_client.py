"""A small client for OpenAI-compatible ``/chat/completions`` with one deadline per call.

Why not the openai/LangChain client: their timeouts apply per connect and per read, their
retries back off (honouring Retry-After) on their own clock, and a stream that stops without
its terminal event ends as if it were complete. Here:

- **one deadline** (:class:`~rag.answer.deadline.Deadline`) bounds everything — waiting for a
  free slot, connecting, the retry and its Retry-After wait, every byte of the stream. The call
  runs as a task on one background asyncio loop and is cancelled the moment the deadline
  passes, so a hanging endpoint costs at most the deadline and holds no worker thread;
- **at most one retry**, only for a connection error, HTTP 408/409/429/5xx, and only while nothing
  has been streamed; Retry-After (``retry-after`` seconds or HTTP date, ``retry-after-ms``) is
  honoured only when the wait plus a minimal attempt still fits the deadline, otherwise the call
  fails at once with the reason;
- **its own concurrency limit** (``max_concurrency`` requests in flight; the rest wait, on the
  deadline) — LLM work never takes threads or slots from extractive answers;
- **a circuit breaker**: after repeated failures the endpoint is not called for a while;
- **streams must end properly**: ``data: [DONE]`` or a ``finish_reason``; a stream that simply
  stops, breaks or is cut by ``finish_reason: "length"`` is a failure, never a half answer.

:meth:`ChatClient.chat` is synchronous (the answerers are): it yields text pieces and raises
:class:`LLMCallError` (its ``reason`` is a short Chinese phrase for the user-visible notice).
"""

from __future__ import annotations

import asyncio
import json
import math
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

from .deadline import CircuitBreaker, Deadline

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 2  # the first call and one retry
MIN_ATTEMPT_SECONDS = 0.5  # a retry is not started with less time than this left
BACKOFF_SECONDS = 0.2  # wait before a retry when the endpoint names none
MAX_REPLY_CHARS = 20_000  # a longer reply is garbage, not an answer
MIN_FIRST_SECONDS = 0.1  # a slot freed this close to the deadline is not used: the request could not finish
GRACE_SECONDS = 0.25  # the caller waits this long past the deadline for the call's own verdict

_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def io_loop() -> asyncio.AbstractEventLoop:
    """The one background event loop (a daemon thread) on which every LLM call runs."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="rag-llm-io", daemon=True).start()
            _loop = loop
        return _loop


class LLMCallError(Exception):
    """A failed call; ``reason`` is shown to the user (大模型服务不可用（reason）)."""

    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None,
                 endpoint_fault: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.endpoint_fault = endpoint_fault  # counts against the circuit breaker

    def __str__(self) -> str:
        return self.reason


def retry_after_seconds(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait named by ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date); None if absent."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(float(ra), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(ra).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(when - (time.time() if now is None else now), 0.0)


def _seconds(x: float) -> str:
    return f"{x:.0f}" if x >= 10 or x == int(x) else f"{x:.1f}"


def status_error(code: int, headers: Any) -> LLMCallError:
    """The LLMCallError for an HTTP error status (retryable or not, with any Retry-After)."""
    retry_after = retry_after_seconds(headers)
    if code == 429:
        reason = "请求过于频繁，HTTP 429"
    elif code in (401, 403):
        reason = f"API 密钥无效，HTTP {code}"
    else:
        reason = f"服务返回错误，HTTP {code}"
    return LLMCallError(reason, retryable=code in RETRY_STATUSES, retry_after=retry_after)


class _Reply:
    """What a call has produced so far; pieces go to the caller's queue as they arrive."""

    def __init__(self, out: queue.SimpleQueue):
        self.out = out
        self.chars = 0
        self.phase = "等待空闲连接"

    def emit(self, piece: str) -> None:
        self.chars += len(piece)
        if self.chars > MAX_REPLY_CHARS:
            raise LLMCallError(f"回答超过 {MAX_REPLY_CHARS} 字（无法解析）")
        self.out.put(("delta", piece))


class Call:
    """A request in flight: iterate for its text pieces (LLMCallError on failure); ``cancel`` stops it."""

    def __init__(self, future, out: queue.SimpleQueue, deadline: Deadline):
        self.future, self.out, self.deadline = future, out, deadline

    def __iter__(self) -> Iterator[str]:
        while True:
            try:
                kind, value = self.out.get(timeout=self.deadline.remaining() + GRACE_SECONDS)
            except queue.Empty:
                self.cancel()
                raise LLMCallError(f"超时：{_seconds(self.deadline.seconds)} 秒内未完成") from None
            if kind == "delta":
                yield value
            elif kind == "end":
                return
            else:
                raise value

    def cancel(self) -> None:
        """Stop the request (and close its connection) unless it has finished."""
        self.future.cancel()


class ChatClient:
    """Chat completions from one endpoint (see the module docstring); safe to share between threads."""

    def __init__(self, base_url: str, model: str, api_key: str = "", *, max_concurrency: int = 8,
                 breaker: CircuitBreaker | None = None, temperature: float = 0.0):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key or 'not-needed'}", "Accept": "text/event-stream, application/json"}
        self.max_concurrency = max(int(max_concurrency), 1)
        self.breaker = breaker or CircuitBreaker()
        self.temperature = temperature
        self._http = None  # httpx.AsyncClient and the semaphore, created on the I/O loop
        self._slots: asyncio.Semaphore | None = None

    # ------------------------------------------------------------------ the synchronous face
    def start(self, messages: Sequence[dict[str, str]], deadline: Deadline, stream: bool = True) -> Call:
        """Send the request now (it runs on the I/O loop); iterate the :class:`Call` for its pieces."""
        out: queue.SimpleQueue = queue.SimpleQueue()
        body = {"model": self.model, "messages": list(messages), "temperature": self.temperature, "stream": stream}
        future = asyncio.run_coroutine_threadsafe(self._call(body, deadline, _Reply(out)), io_loop())
        return Call(future, out, deadline)

    def chat(self, messages: Sequence[dict[str, str]], deadline: Deadline, stream: bool = True) -> Iterator[str]:
        """Yield the reply's text pieces; LLMCallError when it fails or ``deadline`` passes first."""
        call = self.start(messages, deadline, stream)
        try:
            yield from call
        finally:
            call.cancel()

    # ------------------------------------------------------------------ on the I/O loop
    def _client(self):
        import httpx

        if self._http is None:
            n = self.max_concurrency
            self._http = httpx.AsyncClient(limits=httpx.Limits(max_connections=n, max_keepalive_connections=n))
            self._slots = asyncio.Semaphore(n)
        return self._http

    async def _call(self, body: dict[str, Any], deadline: Deadline, reply: _Reply) -> None:
        self._client()
        slots = self._slots
        assert slots is not None  # made with the client, on this loop
        try:
            async with asyncio.timeout_at(deadline.at):
                async with slots:
                    await self._attempts(body, deadline, reply)
        except TimeoutError:
            reply.out.put(("error", LLMCallError(f"{reply.phase}超时（{_seconds(deadline.seconds)} 秒内未完成）")))
            return
        except LLMCallError as e:
            reply.out.put(("error", e))
            return
        except Exception as e:  # noqa: BLE001 - anything else is still a failed call, not a crash
            reply.out.put(("error", LLMCallError(f"返回内容无法解析：{type(e).__name__}")))
            return
        reply.out.put(("end", None))

    async def _attempts(self, body: dict[str, Any], deadline: Deadline, reply: _Reply) -> None:
        if deadline.remaining() < MIN_FIRST_SECONDS:
            raise LLMCallError(f"等待空闲连接超时（{_seconds(deadline.seconds)} 秒内未完成）", endpoint_fault=False)
        for attempt in range(MAX_ATTEMPTS):
            wait = self.breaker.before_call()
            if wait is not None:
                raise LLMCallError(f"连续调用失败，已暂停调用，约 {math.ceil(wait)} 秒后再试", endpoint_fault=False)
            try:
                await self._once(body, deadline, reply)
            except LLMCallError as e:
                self.breaker.failure() if e.endpoint_fault else self.breaker.abandon()
                if not e.retryable or reply.chars or attempt + 1 >= MAX_ATTEMPTS:
                    raise
                pause = BACKOFF_SECONDS if e.retry_after is None else e.retry_after
                if pause + MIN_ATTEMPT_SECONDS > deadline.remaining():
                    if e.retry_after is not None:
                        e.reason += f"，服务要求 {_seconds(e.retry_after)} 秒后重试，超出 {_seconds(deadline.seconds)} 秒时限"
                    raise
                reply.phase = "等待重试"
                await asyncio.sleep(pause)
                continue
            except BaseException:  # cancelled: by the deadline (a failure) or because the caller left
                self.breaker.failure() if deadline.expired else self.breaker.abandon()
                raise
            self.breaker.success()
            return

    async def _once(self, body: dict[str, Any], deadline: Deadline, reply: _Reply) -> None:
        import httpx

        http = self._client()
        timeout = httpx.Timeout(max(deadline.remaining(), 0.01))  # a backstop: the deadline cancels first
        request = http.build_request("POST", self.url, json=body, headers=self.headers, timeout=timeout)
        reply.phase = "等待回复"
        try:
            response = await http.send(request, stream=True)
        except httpx.TimeoutException:
            raise LLMCallError(f"等待回复超时（{_seconds(deadline.seconds)} 秒）", retryable=False) from None
        except httpx.HTTPError:
            raise LLMCallError("无法连接服务", retryable=True) from None
        try:
            if response.status_code >= 400:
                await response.aread()
                raise status_error(response.status_code, response.headers)
            reply.phase = "接收回答"
            ctype = response.headers.get("content-type", "")
            if body["stream"] and "text/event-stream" in ctype:
                await self._read_stream(response, reply)
            else:
                await self._read_json(response, reply)
        except httpx.TimeoutException:
            raise LLMCallError(f"接收回答超时（{_seconds(deadline.seconds)} 秒）") from None
        except httpx.HTTPError:
            raise LLMCallError("回答流在结束前中断（连接断开）") from None
        finally:
            await response.aclose()

    @staticmethod
    async def _read_stream(response, reply: _Reply) -> None:
        finished = False
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, ": keep-alive" comments, "event:" lines
            data = line[5:].strip()
            if data == "[DONE]":
                finished = True
                break
            event = _parse_json(data)
            if "error" in event:
                raise LLMCallError("服务在回答中途报错")
            for choice in event.get("choices") or ():
                if not isinstance(choice, dict):
                    raise LLMCallError("返回内容无法解析")
                piece = (choice.get("delta") or {}).get("content")
                if isinstance(piece, str) and piece:
                    reply.emit(piece)
                reason = choice.get("finish_reason")
                if reason:
                    _check_finish(reason)
                    finished = True
        if not finished:
            raise LLMCallError("回答流在结束前中断（未收到结束标记）")

    @staticmethod
    async def _read_json(response, reply: _Reply) -> None:
        obj = _parse_json((await response.aread()).decode("utf-8", "replace"))
        try:
            choice = obj["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise LLMCallError("返回内容无法解析") from None
        if not isinstance(content, str):
            raise LLMCallError("返回内容无法解析")
        _check_finish(choice.get("finish_reason") or "stop")
        if content:
            reply.emit(content)


def _parse_json(data: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, ValueError):
        raise LLMCallError("返回内容无法解析") from None
    if not isinstance(obj, dict):
        raise LLMCallError("返回内容无法解析")
    return obj


def _check_finish(reason: Any) -> None:
    if reason == "length":
        raise LLMCallError("回答因长度限制被截断")
    if reason == "content_filter":
        raise LLMCallError("回答被服务的内容过滤拦截")
