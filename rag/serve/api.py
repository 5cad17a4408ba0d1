"""The HTTP JSON API under ``/api``: the routes, their pydantic models (:mod:`rag.serve.models`),
the OpenAPI schema and docs pages (:mod:`rag.serve.docs`), and the error replies.

JSON in, JSON out; every error is ``{"error": "中文 / English", "field": ...}`` with a 4xx/5xx status:

- ``POST /api/ask``    ``{"question", "mode"?, "docs"?, "id"?}`` -> one line of ``rag ask --batch``
- ``POST /api/search`` ``{"question", "k"?, "docs"?, "id"?}`` -> one line of ``rag search --batch``
- ``GET  /api/health`` index status and the document list
- ``GET  /api/openapi.json`` (also ``/openapi.json``) and ``/api/docs`` (Swagger UI, served locally)

A request body is read as JSON whatever its content type (``curl -d`` sends a form type), then
validated by the route's pydantic model. A known path with another method is a 405, any other
``/api`` path a 404, both in our shape (the chat UI mounted at "/" would otherwise answer them).

Two worker lanes: LLM-mode questions run on their own threads (``LLM_THREADS``; each mostly waits on
the network, at most RAG_LLM_TIMEOUT counted from the request's arrival), everything else —
extractive answers, search, health — on ``FAST_THREADS`` others, so they never queue behind LLM calls.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..answer.deadline import question_arrived
from ..answer.guard import flag_reason
from ..errors import ConfigError, IndexMismatchError, IndexMissingError, InputError, LLMError, RagError
from ..pipeline import Pipeline
from ..settings import MAX_QUESTION_CHARS  # noqa: F401  (the one limit; rag.settings.check_question_length)
from .docs import docs_routes
from .models import (
    EXAMPLE_QUESTION,
    ApiError,
    AskRequest,
    AskResponse,
    ErrorReply,
    HealthResponse,
    SearchRequest,
    SearchResponse,
    validation_reply,
)

log = logging.getLogger(__name__)

_BASIC = HTTPBasic(auto_error=False)  # module level: FastAPI resolves the annotations below from globals
FAST_THREADS = 16  # extractive answers, search, health: CPU-bound, milliseconds each
LLM_THREADS = 64  # LLM-mode questions: each waits on the endpoint (at most RAG_LLM_TIMEOUT)
ROUTES = {"/api/ask": ("POST",), "/api/search": ("POST",), "/api/health": ("GET",)}


def status_for(err: RagError) -> tuple[int, str, str | None]:
    """HTTP status, a Chinese label and the field at fault for a domain error."""
    if isinstance(err, (IndexMissingError, IndexMismatchError)):
        return 503, "索引不可用 / ", None
    if isinstance(err, LLMError):
        return 502, "大模型调用失败 / ", None
    if isinstance(err, ConfigError):  # e.g. mode llm without an endpoint
        return 400, "配置错误 / ", "mode"
    # an InputError out of the pipeline is about the question (empty, only punctuation or emoji):
    # a 422 like every other invalid field; its message is bilingual already
    return 422, "", "question"


def _parse_body(raw: bytes, model: type[BaseModel]) -> Any:
    """The request body as ``model``, read as JSON whatever the content type."""
    errors: list[dict[str, Any]]
    try:
        data = json.loads(raw) if raw.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = ValueError
    if data is ValueError:
        errors = [{"type": "json_invalid", "loc": ("body",)}]
    elif data is None:
        errors = [{"type": "missing", "loc": ("body",)}]
    elif not isinstance(data, dict):
        errors = [{"type": "model_attributes_type", "loc": ("body",)}]
    else:
        try:
            return model.model_validate(data)
        except ValidationError as e:
            errors = [{**dict(err), "loc": ("body", *err["loc"])} for err in e.errors()]
    status, message, field = validation_reply(errors, model)
    raise ApiError(status, message, field)


def _schema_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the JSON body (the route reads the raw body itself)."""
    example = {"question": EXAMPLE_QUESTION} if model is AskRequest else {"question": EXAMPLE_QUESTION, "k": 5}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema(),
                                                                               "example": example}}}}


def _filters(pipeline: Pipeline, docs: list[str] | None):
    if docs is None:
        return None
    try:
        return pipeline.make_filters(docs)
    except InputError as e:
        raise ApiError(422, f"未知文件 / {e}", "docs") from None


def ask_payload(pipeline: Pipeline, req: AskRequest) -> dict[str, Any]:
    """The answer to ``req`` as ``POST /api/ask`` returns it (``Answer.to_dict()`` plus ``id``)."""
    d = pipeline.ask(req.question, mode=req.mode, filters=_filters(pipeline, req.docs)).to_dict()
    d["id"] = "" if req.id is None else str(req.id)
    return d


def search_payload(pipeline: Pipeline, req: SearchRequest) -> dict[str, Any]:
    """The passages for ``req`` as ``POST /api/search`` returns them (``id`` only when given)."""
    results = [_result(r) for r in pipeline.search(req.question, top_k=req.k, filters=_filters(pipeline, req.docs))]
    out = {"id": str(req.id)} if req.id is not None else {}
    return {**out, "question": req.question, "results": results}


def _result(scored) -> dict[str, Any]:
    """A search result; a passage that addresses the reader or the model carries a ``warning``."""
    out = scored.to_result()
    reason = flag_reason(scored.chunk)
    if reason:
        out["warning"] = f"疑似指令性文字（{reason}），不作为回答依据"
    return out


def health_payload(pipeline: Pipeline) -> dict[str, Any]:
    """Index state, documents, answer modes and the corpus report, as ``GET /api/health`` returns them."""
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


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "请求体不是 JSON 对象，或配置不允许该回答方式 / not a JSON object, or the mode is not configured",
            401: "需要登录（--auth）/ authentication required", 422: "字段无效（field 指明哪个）/ an invalid field",
            502: "大模型调用失败 / the LLM endpoint failed", 503: "索引不可用 / no usable index"}
    return {s: {"model": ErrorReply, "description": text[s]} for s in statuses}


def api_router(pipeline: Pipeline, auth: tuple[str, str] | None) -> APIRouter:
    """The ``/api`` routes over ``pipeline``, behind HTTP Basic ``auth`` (user, password) when given."""
    deps = []
    if auth is not None:
        user, password = (s.encode() for s in auth)

        def check(creds: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)]) -> None:
            ok = creds is not None and secrets.compare_digest(creds.username.encode(), user) \
                and secrets.compare_digest(creds.password.encode(), password)
            if not ok:
                raise ApiError(401, "需要登录 / authentication required: use HTTP Basic with the --auth credentials",
                               headers={"WWW-Authenticate": 'Basic realm="rag"'})

        deps.append(Depends(check))
    router = APIRouter(prefix="/api", dependencies=deps, tags=["政策问答 API"])
    fast, slow = CapacityLimiter(FAST_THREADS), CapacityLimiter(LLM_THREADS)  # per app: one per event loop
    refusals = (400, 422, 503) if auth is None else (400, 401, 422, 503)

    async def run(handler, request: Request, model: type[BaseModel]) -> dict[str, Any]:
        arrived = time.monotonic()
        req = _parse_body(await request.body(), model)
        llm = isinstance(req, AskRequest) and (req.mode or pipeline.settings.answer_mode) == "llm"

        def work():
            with question_arrived(arrived):  # the LLM deadline counts from here, queueing for a thread included
                return handler(pipeline, req)

        return await to_thread.run_sync(work, limiter=slow if llm else fast)  # the pipeline is synchronous

    @router.post("/ask", response_model=AskResponse, response_model_exclude_unset=True, summary="回答一个问题 / answer a question",
                 openapi_extra=_schema_body(AskRequest), responses=_errors(*refusals, 502))
    async def ask(request: Request):
        """Verified, cited answer: every sentence carries the ``[n]`` of its sources; ``abstained`` when the
        documents do not answer. The same object as one line of ``rag ask --batch``."""
        return await run(ask_payload, request, AskRequest)

    @router.post("/search", response_model=SearchResponse, response_model_exclude_unset=True,
                 summary="检索段落 / ranked passages", openapi_extra=_schema_body(SearchRequest),
                 responses=_errors(*refusals))
    async def search(request: Request):
        """Ranked passages for a question (BM25 ⊕ dense, fused), no answer. The same object as one line of
        ``rag search --batch``."""
        return await run(search_payload, request, SearchRequest)

    @router.get("/health", response_model=HealthResponse, summary="索引状态与文件列表 / index state and documents",
                responses=_errors(*(refusals[1:2] if auth else ()), 503))
    async def health():
        """Index state, the documents (ids for ``docs``), answer modes, skipped corpus files and the metadata
        read from uncatalogued files' text."""
        return await to_thread.run_sync(health_payload, pipeline, limiter=fast)

    docs_routes(router)

    @router.api_route("", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], include_in_schema=False)
    @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                      include_in_schema=False)
    async def elsewhere(request: Request):
        """Any other /api request: 405 on a known path (with Allow), else 404 listing the routes."""
        path = request.url.path.rstrip("/")
        if path in ROUTES and request.method in ROUTES[path]:  # a trailing slash
            raise ApiError(404, f"没有这个接口：{request.url.path}，请去掉末尾的斜杠 / no such endpoint; use {path}")
        if path in ROUTES:
            allowed = ", ".join(ROUTES[path])
            raise ApiError(405, f"{path} 不支持 {request.method} 请求，请用 {allowed} / method {request.method} "
                                f"not allowed on {path}; use {allowed}", headers={"Allow": allowed})
        known = ", ".join(f"{m} {p}" for p, ms in ROUTES.items() for m in ms)
        raise ApiError(404, f"没有这个接口：{path} / no such endpoint {path}; the API has {known} "
                            f"(schema: GET /api/openapi.json, docs: /api/docs)")

    return router


def install_error_handlers(app) -> None:
    """Turn ApiError, validation and HTTP errors, domain errors and unexpected exceptions on ``app`` into
    ``{"error", "field"}`` replies."""
    def reply(status: int, message: str, field: str | None = None, headers: dict | None = None):
        body = {"error": message, **({"field": field} if field else {})}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request, exc: ApiError):
        return reply(exc.status, exc.message, exc.field, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):  # a route of ours taking a declared parameter
        return reply(*validation_reply(list(exc.errors()), None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc: StarletteHTTPException):
        zh = {404: "没有这个地址", 405: "不支持这种请求方法"}.get(exc.status_code, "请求被拒绝")
        return reply(exc.status_code, f"{zh} / {exc.detail}", None, getattr(exc, "headers", None))

    @app.exception_handler(RagError)
    async def rag_error(request, exc: RagError):
        status, label, field = status_for(exc)
        return reply(status, label + str(exc), field)

    @app.exception_handler(Exception)
    async def internal(request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return reply(500, "服务器内部错误，详情见服务日志 / internal server error; see the server log")
