"""The HTTP JSON API under ``/api``: request parsing, the routes, and the error handlers.

JSON in, JSON out; errors are ``{"error": "...", "field": ...}`` with a 4xx/5xx status:

- ``POST /api/ask``    ``{"question", "mode"?, "docs"?, "id"?}`` -> one line of ``rag ask --batch``
- ``POST /api/search`` ``{"question", "k"?, "docs"?, "id"?}`` -> one line of ``rag search --batch``
- ``GET  /api/health`` index status and the document list

Two worker lanes: LLM-mode questions run on their own threads (``LLM_THREADS``; each mostly waits on
the network, at most RAG_LLM_TIMEOUT counted from the request's arrival), everything else —
extractive answers, search, health — on ``FAST_THREADS`` others, so they never queue behind LLM calls.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from ..answer.deadline import question_arrived
from ..answer.guard import flag_reason
from ..errors import ConfigError, IndexMismatchError, IndexMissingError, InputError, LLMError, RagError
from ..pipeline import Pipeline
from ..settings import check_answer_mode, check_top_k

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
_BASIC = HTTPBasic(auto_error=False)  # module level: FastAPI resolves the annotations below from globals
ASK_FIELDS = ("question", "mode", "docs", "id")
SEARCH_FIELDS = ("question", "k", "docs", "id")
FAST_THREADS = 16  # extractive answers, search, health: CPU-bound, milliseconds each
LLM_THREADS = 64  # LLM-mode questions: each waits on the endpoint (at most RAG_LLM_TIMEOUT)


class ApiError(Exception):
    """A request the API refuses; ``message`` is shown to the caller as is."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def _status_for(err: RagError) -> tuple[int, str]:
    """HTTP status and a Chinese label for a domain error (its message is English or bilingual)."""
    if isinstance(err, (IndexMissingError, IndexMismatchError)):
        return 503, "索引不可用 / "
    if isinstance(err, LLMError):
        return 502, "大模型调用失败 / "
    if isinstance(err, ConfigError):  # e.g. mode llm without an endpoint
        return 400, "配置错误 / "
    return 400, ""  # InputError messages are bilingual already


def _checked(check: Callable[[Any], Any], value: Any, field: str) -> Any:
    """``check(value)``, its InputError (a bilingual message) becoming a 422 naming ``field``."""
    try:
        return check(value)
    except InputError as e:
        raise ApiError(422, str(e), field) from None


def _parse_body(raw: bytes, allowed: tuple[str, ...]) -> dict[str, Any]:
    example = '{"question": "试点县能得到哪些支持？"}'
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, f"请求体不是有效的 JSON / the request body is not valid JSON; send e.g. {example}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"请求体必须是 JSON 对象 / the request body must be a JSON object, e.g. {example}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApiError(422, f"未知字段 {', '.join(unknown)} / unknown field(s) {', '.join(unknown)}; "
                            f"allowed: {', '.join(allowed)}", unknown[0])
    q = data.get("question")
    if not isinstance(q, str) or not q.strip():
        raise ApiError(422, "缺少问题 / \"question\" is required and must be a non-empty string", "question")
    if len(q) > MAX_QUESTION_CHARS:
        raise ApiError(422, f"问题过长 / \"question\" is too long ({len(q)} characters; at most {MAX_QUESTION_CHARS})",
                       "question")
    rid = data.get("id")
    if "id" in data and (isinstance(rid, bool) or not isinstance(rid, (str, int))):
        raise ApiError(422, "\"id\" 必须是字符串或整数 / \"id\" must be a string or an integer", "id")
    return data


def _filters(pipeline: Pipeline, docs: Any):
    if docs is None:
        return None
    if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
        valid = ", ".join(sorted(pipeline.documents))
        raise ApiError(422, f"\"docs\" 必须是文件编号列表 / \"docs\" must be a list of document ids (strings); "
                            f"valid ids: {valid}", "docs")
    try:
        return pipeline.make_filters(docs)
    except InputError as e:
        raise ApiError(422, f"未知文件 / {e}", "docs") from None


def _ask_payload(pipeline: Pipeline, data: dict[str, Any]) -> dict[str, Any]:
    mode = data.get("mode")
    if mode is not None:
        _checked(check_answer_mode, mode, "mode")
    filters = _filters(pipeline, data.get("docs"))
    d = pipeline.ask(data["question"], mode=mode, filters=filters).to_dict()
    d["id"] = str(data.get("id", ""))
    return d


def _search_payload(pipeline: Pipeline, data: dict[str, Any]) -> dict[str, Any]:
    k = data.get("k")
    if k is not None:
        _checked(check_top_k, k, "k")
    filters = _filters(pipeline, data.get("docs"))
    results = [_result(r) for r in pipeline.search(data["question"], top_k=k, filters=filters)]
    out = {"id": str(data["id"])} if "id" in data else {}
    return {**out, "question": data["question"], "results": results}


def _result(scored) -> dict[str, Any]:
    """A search result; a passage that addresses the reader or the model carries a ``warning``."""
    out = scored.to_result()
    reason = flag_reason(scored.chunk)
    if reason:
        out["warning"] = f"疑似指令性文字（{reason}），不作为回答依据"
    return out


def _health(pipeline: Pipeline) -> dict[str, Any]:
    state, reason = pipeline.status()
    counts = pipeline.index.manifest.counts
    docs = [{"doc_id": d.doc_id, "title": d.title, "issuer": d.issuer, "date": d.date, "kind": d.kind}
            for d in pipeline.documents.values()]
    return {
        "status": "ok",
        "index": {"state": state, "reason": reason, "dir": str(pipeline.settings.index_dir), **counts},
        "documents": docs,
        "answer_modes": {"default": pipeline.settings.answer_mode, "llm_configured": pipeline.settings.llm_configured},
        "corpus": pipeline.index.manifest.corpus_report(),  # skipped files, metadata read from uncatalogued files' text
    }


def api_router(pipeline: Pipeline, auth: tuple[str, str] | None) -> APIRouter:
    """The ``/api`` routes over ``pipeline``, behind HTTP Basic ``auth`` (user, password) when given."""
    deps = []
    if auth is not None:
        user, password = (s.encode() for s in auth)

        def check(creds: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)]) -> None:
            ok = creds is not None and secrets.compare_digest(creds.username.encode(), user) \
                and secrets.compare_digest(creds.password.encode(), password)
            if not ok:
                raise ApiError(401, "需要登录 / authentication required: use HTTP Basic with the --auth credentials")

        deps.append(Depends(check))
    router = APIRouter(prefix="/api", dependencies=deps)
    fast, slow = CapacityLimiter(FAST_THREADS), CapacityLimiter(LLM_THREADS)  # per app: one per event loop

    async def run(handler, request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
        arrived = time.monotonic()
        data = _parse_body(await request.body(), allowed)
        llm = handler is _ask_payload and (data.get("mode") or pipeline.settings.answer_mode) == "llm"

        def work():
            with question_arrived(arrived):  # the LLM deadline counts from here, queueing for a thread included
                return handler(pipeline, data)

        return await to_thread.run_sync(work, limiter=slow if llm else fast)  # the pipeline is synchronous

    @router.post("/ask")
    async def ask(request: Request):
        return await run(_ask_payload, request, ASK_FIELDS)

    @router.post("/search")
    async def search(request: Request):
        return await run(_search_payload, request, SEARCH_FIELDS)

    @router.get("/health")
    async def health():
        return await to_thread.run_sync(_health, pipeline, limiter=fast)

    return router


def install_error_handlers(app) -> None:
    """Turn ApiError, domain errors and unexpected exceptions on ``app`` into JSON error replies."""
    def reply(status: int, message: str, field: str | None = None, headers: dict | None = None):
        body = {"error": message, **({"field": field} if field else {})}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request, exc: ApiError):
        headers = {"WWW-Authenticate": 'Basic realm="rag"'} if exc.status == 401 else None
        return reply(exc.status, exc.message, exc.field, headers)

    @app.exception_handler(RagError)
    async def rag_error(request, exc: RagError):
        field = "question" if isinstance(exc, InputError) else ("mode" if isinstance(exc, ConfigError) else None)
        status, label = _status_for(exc)
        return reply(status, label + str(exc), field)

    @app.exception_handler(Exception)
    async def internal(request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return reply(500, "服务器内部错误，详情见服务日志 / internal server error; see the server log")
