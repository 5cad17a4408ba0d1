"""The server of ``rag serve``: the JSON API under /api and the chat UI at "/", in one FastAPI app."""

from __future__ import annotations

import logging
import time
from importlib.resources import files

import gradio as gr
from fastapi import FastAPI
from starlette.routing import Mount

from .. import __version__
from ..logs import progress_bar
from ..pipeline import Pipeline
from ..settings import Settings
from .api import api_router, install_error_handlers
from .auth import LoginRequired
from .docs import openapi_schema
from .ui import build_ui

log = logging.getLogger(__name__)

# Gradio's queue, set deliberately (README "Reliability"). Questions (extractive or LLM) form one
# concurrency group of UI_ASK_CONCURRENCY: an LLM question mostly waits on the network, at most
# RAG_LLM_TIMEOUT, while the LLM client limits requests to the endpoint itself (RAG_LLM_CONCURRENCY),
# so many can run at once without an extractive question queueing behind them. Every other event
# (show a turn, feedback, export) has its own group of UI_OTHER_CONCURRENCY. Gradio runs them on its
# own UI_THREADS worker threads (not the default pool of 40 that Starlette shares), and at most
# UI_QUEUE_MAX events wait; beyond that a user is told the queue is full instead of waiting without end.
UI_THREADS = 64
UI_ASK_CONCURRENCY = 32
UI_OTHER_CONCURRENCY = 8
UI_QUEUE_MAX = 256
ASK_EVENT = "ask"  # the name of the UI's question handler (rag/serve/ui.py)
AUTH_MESSAGE = "政策问答助手：请登录"
API_DESCRIPTION = (
    "政策问答助手的 HTTP 接口：带出处的回答（每句标注 [n]）、检索段落、索引状态。错误一律为 "
    "`{\"error\": \"中文 / English\", \"field\": \"出错字段\"}`。\n\n"
    "The assistant's HTTP API: cited answers, ranked passages, index health. Every error is "
    "`{\"error\", \"field\"}` with a 4xx/5xx status. The chat UI's Gradio API (`gradio_client`) offers the "
    "same answers as structured data at `/ask`, `/search` and `/health`."
)


def static_text(name: str) -> str:
    """The text of ``static/<name>`` (package data of :mod:`rag.serve`)."""
    return files("rag.serve").joinpath("static", name).read_text(encoding="utf-8")


def configure_queue(ui: gr.Blocks) -> gr.Blocks:
    """Gradio's threads, queue size and concurrency groups (see UI_* above)."""
    ui.max_threads = UI_THREADS  # != 40, so Gradio makes its own thread limiter at startup
    for fn in ui.fns.values():
        if getattr(fn.fn, "__name__", "") == ASK_EVENT or fn.concurrency_id == ASK_EVENT:  # the page's and /ask
            fn.concurrency_id, fn.concurrency_limit = ASK_EVENT, UI_ASK_CONCURRENCY
    return ui.queue(default_concurrency_limit=UI_OTHER_CONCURRENCY, max_size=UI_QUEUE_MAX)


def build_app(pipeline: Pipeline, auth: tuple[str, str] | None = None):
    """FastAPI app: the JSON API under /api and the Gradio UI at "/" (both behind ``auth`` if given)."""
    app = FastAPI(title="政策问答助手", version=__version__, description=API_DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url=None)  # ours: /api/openapi.json, /api/docs (docs.py)
    install_error_handlers(app)
    router = api_router(pipeline, auth)
    app.include_router(router)  # before the mount at "/", which matches everything
    # /openapi.json too is the API's schema (Gradio's own lists only its internal routes)
    app.add_api_route("/openapi.json", openapi_schema, include_in_schema=False, dependencies=router.dependencies)
    theme = gr.themes.Default(font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "sans-serif"],
                              font_mono=["Noto Sans Mono CJK SC", "monospace"])
    app = gr.mount_gradio_app(app, configure_queue(build_ui(pipeline)), path="/", auth=auth,
                              auth_message=AUTH_MESSAGE, css=static_text("ui.css"), js=static_text("ui.js"),
                              theme=theme, footer_links=[], run_history=False, ssr_mode=False)
    if auth is not None:  # nothing but the login page without credentials (rag/serve/auth.py)
        gradio_app = next(r.app for r in app.routes if isinstance(r, Mount) and isinstance(r.app, gr.routes.App))

        def session_ok(cookies: dict[str, str]) -> bool:
            names = (f"access-token-{gradio_app.cookie_id}", f"access-token-unsecure-{gradio_app.cookie_id}")
            return any(cookies.get(n) in gradio_app.tokens for n in names if cookies.get(n))

        app.add_middleware(LoginRequired, auth=auth, session_ok=session_ok, message=AUTH_MESSAGE)
    return app


def prepare(settings: Settings) -> Pipeline:
    """Build the index when missing or stale (saying so), then load it and the retriever once."""
    pipeline = Pipeline(settings)
    state, reason = pipeline.status()  # with store="postgres": the database's active build
    target = f"{settings.index_dir} and publishing it to the database" if settings.store == "postgres" else settings.index_dir
    if state == "unchecked":  # postgres, no local corpus: serve what is published
        log.info("index: %s", reason)
    elif state != "fresh":
        log.info("index %s (%s); building %s from %s ...", state, reason, target, settings.corpus_dir)
        with progress_bar() as progress:  # drawn when stderr is a terminal
            report = pipeline.build(progress=progress)
        for s in report.skipped:
            log.warning("skipped %s: %s", s["file"], s["reason"])
        build = f" as build {report.build_id}" if getattr(report, "build_id", None) is not None else ""
        if report.status == "built":
            log.info("built %s%s: %d documents, %d chunks in %.1fs", target, build, report.documents, report.chunks,
                     report.seconds)
        else:
            log.info("index up to date (%s)", report.reason)
    t0 = time.perf_counter()
    pipeline.ask("预热")  # load the index, models and tokenizer dictionary now, not on the first question
    log.info("loaded index: %d documents, %d chunks in %.1fs", len(pipeline.documents), len(pipeline.index.chunks),
             time.perf_counter() - t0)
    return pipeline


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None) -> None:
    """``rag serve``: ensure the index, then serve the UI and the API with uvicorn until interrupted."""
    import uvicorn

    app = build_app(prepare(settings), auth=auth)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    log.info("政策问答助手: http://%s:%d/   API: POST /api/ask, POST /api/search, GET /api/health, docs /api/docs%s",
             shown, port, "   (login required)" if auth else "")
    # uvicorn logs through our configuration (rag.logs: stderr, the level of -v / RAG_LOG_LEVEL; access lines at INFO)
    uvicorn.run(app, host=host, port=port, log_config=None, log_level=None)
