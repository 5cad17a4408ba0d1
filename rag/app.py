"""The chat UI (Gradio) and the HTTP JSON API, served together by ``rag serve``.

Thin by design: read the input, call the :class:`~rag.pipeline.Pipeline`, render with
:mod:`rag.ui_render` (HTML) or ``to_dict`` (JSON). No retrieval or answer logic lives here.

API (JSON in, JSON out; errors are ``{"error": "...", "field": ...}`` with a 4xx/5xx status):

- ``POST /api/ask``    ``{"question", "mode"?, "docs"?, "id"?}`` -> one line of ``rag ask --batch``
- ``POST /api/search`` ``{"question", "k"?, "docs"?, "id"?}`` -> one line of ``rag search --batch``
- ``GET  /api/health`` index status and the document list
"""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import gradio as gr
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.concurrency import run_in_threadpool

from .errors import ConfigError, IndexMismatchError, IndexMissingError, InputError, LLMError, RagError
from .export import conversation_markdown, write_docx
from .feedback import append_feedback
from .pipeline import Pipeline
from .settings import ANSWER_MODES, Settings
from .types import Answer
from .ui_render import (
    CSS,
    JS,
    answer_html,
    cited_ids,
    error_html,
    question_html,
    retrieval_html,
    sources_html,
    streaming_html,
)

log = logging.getLogger("rag.app")

EXAMPLES = [
    "试点县能得到哪些支持？",
    "“六个一”整体推进要求具体指哪六个？",
    "首次认定为制造业单项冠军的企业泉州奖多少钱？",
    "制造业项目用林指标不够怎么办？",
    "上海市对芯片企业有哪些补贴？",
]
MAX_QUESTION_CHARS = 2000
_BASIC = HTTPBasic(auto_error=False)  # module level: FastAPI resolves the annotations below from globals
ASK_FIELDS = ("question", "mode", "docs", "id")
SEARCH_FIELDS = ("question", "k", "docs", "id")


# =========================================================================== HTTP API
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
    if mode is not None and mode not in ANSWER_MODES:
        raise ApiError(422, f"回答方式无效 / \"mode\" must be one of {', '.join(ANSWER_MODES)}, not {mode!r}", "mode")
    filters = _filters(pipeline, data.get("docs"))
    d = pipeline.ask(data["question"], mode=mode, filters=filters).to_dict()
    d["id"] = str(data.get("id", ""))
    return d


def _search_payload(pipeline: Pipeline, data: dict[str, Any]) -> dict[str, Any]:
    from .render import search_result_dict

    k = data.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 200):
        raise ApiError(422, f"\"k\" 必须是 1–200 的整数 / \"k\" must be an integer from 1 to 200, not {k!r}", "k")
    filters = _filters(pipeline, data.get("docs"))
    results = [search_result_dict(r) for r in pipeline.search(data["question"], top_k=k, filters=filters)]
    out = {"id": str(data["id"])} if "id" in data else {}
    return {**out, "question": data["question"], "results": results}


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
    }


def _api_router(pipeline: Pipeline, auth: tuple[str, str] | None):
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

    async def run(handler, request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
        data = _parse_body(await request.body(), allowed)
        return await run_in_threadpool(handler, pipeline, data)  # the pipeline is CPU-bound and synchronous

    @router.post("/ask")
    async def ask(request: Request):
        return await run(_ask_payload, request, ASK_FIELDS)

    @router.post("/search")
    async def search(request: Request):
        return await run(_search_payload, request, SEARCH_FIELDS)

    @router.get("/health")
    async def health():
        return await run_in_threadpool(_health, pipeline)

    return router


def _install_error_handlers(app) -> None:
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


# =========================================================================== chat UI
def _record_feedback(pipeline: Pipeline, rating: str, comment: str, turns: list, current: int) -> tuple[str, str]:
    answer = turns[current - 1] if 0 < current <= len(turns) else None
    if answer is None:
        return "当前没有可以评价的回答。", comment
    append_feedback(pipeline.settings, {
        "question": answer.question, "answer": answer.answer, "rating": rating, "comment": (comment or "").strip(),
        "citations": [c.to_dict() for c in answer.citations], "mode": answer.mode, "abstained": answer.abstained,
        "retrieved": [r.chunk.id for r in answer.retrieved], "source": "ui",
    })
    return f"已记录对第 {current} 问的{'好评 👍' if rating == 'up' else '差评 👎'}，谢谢！", ""


def _export(kind: str, turns: list) -> str | None:
    answers = [a for a in turns if a is not None]
    if not answers:
        gr.Warning("还没有可以导出的回答。")
        return None
    path = Path(tempfile.mkdtemp(prefix="rag-export-")) / f"政策问答记录-{time.strftime('%Y%m%d-%H%M%S')}.{kind}"
    if kind == "md":
        path.write_text(conversation_markdown(answers), encoding="utf-8")
    else:
        write_docx(answers, path)
    return str(path)


def build_ui(pipeline: Pipeline):
    """The Gradio Blocks: chat on the left, sources and the retrieval view on the right."""
    settings = pipeline.settings
    doc_choices = [(f"{d.title}（{d.issuer}）" if d.issuer else d.title, d.doc_id) for d in pipeline.documents.values()]
    modes = [("抽取式（原文摘录）", "extractive"), ("大模型生成（LLM）", "llm")]
    mode_info = "两种方式都只依据已收录文件并逐句核实出处" if settings.llm_configured else \
        "未配置大模型：设置 RAG_LLM_BASE_URL 和 RAG_LLM_MODEL 后可选 LLM"

    def panels(turns: list, turn: int):
        answer = turns[turn - 1] if 0 < turn <= len(turns) else None
        if answer is None:
            return sources_html(None), retrieval_html(())
        return sources_html(answer, turn), retrieval_html(answer.retrieved, cited_ids(answer))

    def ask(question: str, messages: list, turns: list, docs: list, mode: str):
        question = (question or "").strip()
        if not question:
            gr.Warning("请输入问题。")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turn = len(turns) + 1
        messages = messages + [{"role": "user", "content": question_html(question)},
                               {"role": "assistant", "content": streaming_html("")}]
        yield "", messages, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        answer: Answer | None = None
        try:
            text = ""
            for item in pipeline.ask_stream(question, mode=mode, filters=pipeline.make_filters(docs)):
                if isinstance(item, Answer):
                    answer = item
                else:
                    text += item
                    messages[-1] = {"role": "assistant", "content": streaming_html(text)}
                    yield gr.skip(), messages, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            messages[-1] = {"role": "assistant", "content": answer_html(answer, turn, requested_mode=mode)}
        except RagError as e:
            messages[-1] = {"role": "assistant", "content": error_html(str(e))}
        except Exception:
            log.exception("answering %r failed", question)
            messages[-1] = {"role": "assistant", "content": error_html("内部错误，请稍后再试或联系管理员（详情见服务日志）。")}
        turns = turns + [answer]
        yield (gr.skip(), messages, turns, turn, *panels(turns, turn))

    def show_turn(turns: list, current: int, evt: gr.SelectData):
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        turn = int(index) // 2 + 1  # messages come in (question, answer) pairs
        if turn == current or not 0 < turn <= len(turns):
            return gr.skip(), gr.skip(), gr.skip()
        return (turn, *panels(turns, turn))

    with gr.Blocks(title="政策问答助手", analytics_enabled=False, fill_width=True, delete_cache=(86400, 86400)) as ui:
        turns = gr.State([])  # one Answer (or None after an error) per question
        current = gr.State(0)  # the 1-based question whose sources are shown
        gr.Markdown("## 政策问答助手\n用中文提问。回答只摘自已收录的政策文件；句末 **[n]** 对应右侧来源，"
                    "点击可查看原文段落和高亮的出处，并一键复制公文引文。")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat = gr.Chatbot(label="对话", height=520, latex_delimiters=[], feedback_options=None,
                                  buttons=[], elem_id="rag-chat",  # its copy would copy markup; answers carry their own
                                  placeholder="请在下方输入问题，或点击示例问题。")
                with gr.Row():
                    box = gr.Textbox(show_label=False, placeholder="输入问题，例如：试点县能得到哪些支持？", scale=5,
                                     max_lines=4, elem_id="rag-question", autofocus=True)
                    send = gr.Button("提问", variant="primary", scale=1, min_width=80, elem_id="rag-send")
                gr.Examples(EXAMPLES, inputs=box, label="示例问题（点击填入）")
                with gr.Row():
                    docs = gr.Dropdown(doc_choices, value=[], multiselect=True, label="检索范围",
                                       info="不选 = 全部文件", scale=3, elem_id="rag-docs")
                    mode = gr.Radio(modes, value=settings.answer_mode if settings.llm_configured else "extractive",
                                    label="回答方式", info=mode_info, interactive=settings.llm_configured, scale=2)
                with gr.Row():
                    comment = gr.Textbox(show_label=False, placeholder="对当前回答的意见（可选）", scale=4,
                                         elem_id="rag-comment")
                    up = gr.Button("👍 有用", scale=1, min_width=70, elem_id="rag-up")
                    down = gr.Button("👎 有问题", scale=1, min_width=70, elem_id="rag-down")
                status = gr.Markdown(elem_id="rag-status")
                with gr.Row():
                    export_md = gr.Button("导出 Markdown", size="sm", elem_id="rag-export-md")
                    export_docx = gr.Button("导出 Word（.docx）", size="sm", elem_id="rag-export-docx")
                download = gr.File(label="导出文件（点击下载）", interactive=False, elem_id="rag-download")
            with gr.Column(scale=2, min_width=360), gr.Tabs():
                with gr.Tab("来源"):
                    sources = gr.HTML(sources_html(None), js_on_load=None, elem_id="rag-sources")
                with gr.Tab("检索过程"):
                    retrieval = gr.HTML(retrieval_html(()), js_on_load=None, elem_id="rag-retrieval")

        outputs = [box, chat, turns, current, sources, retrieval]
        inputs = [box, chat, turns, docs, mode]
        send.click(ask, inputs, outputs)
        box.submit(ask, inputs, outputs)
        chat.select(show_turn, [turns, current], [current, sources, retrieval])
        up.click(partial(_record_feedback, pipeline, "up"), [comment, turns, current], [status, comment])
        down.click(partial(_record_feedback, pipeline, "down"), [comment, turns, current], [status, comment])
        export_md.click(partial(_export, "md"), turns, download)
        export_docx.click(partial(_export, "docx"), turns, download)
    ui.queue(default_concurrency_limit=4)
    return ui


# =========================================================================== app and server
def build_app(pipeline: Pipeline, auth: tuple[str, str] | None = None):
    """FastAPI app: the JSON API under /api and the Gradio UI at "/" (both behind ``auth`` if given)."""
    app = FastAPI(title="政策问答助手", docs_url=None, redoc_url=None, openapi_url=None)
    _install_error_handlers(app)
    app.include_router(_api_router(pipeline, auth))  # before the mount at "/", which matches everything
    theme = gr.themes.Default(font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "sans-serif"],
                              font_mono=["Noto Sans Mono CJK SC", "monospace"])
    return gr.mount_gradio_app(app, build_ui(pipeline), path="/", auth=auth, auth_message="政策问答助手：请登录",
                               css=CSS, js=JS, theme=theme, footer_links=[], run_history=False, ssr_mode=False)


def prepare(settings: Settings) -> Pipeline:
    """Build the index when missing or stale (saying so), then load it and the retriever once."""
    pipeline = Pipeline(settings)
    state, reason = pipeline.status()
    if state != "fresh":
        print(f"index {state} ({reason}); building {settings.index_dir} from {settings.corpus_dir} ...", flush=True)
        report = pipeline.build()
        for s in report.skipped:
            print(f"skipped {s['file']}: {s['reason']}", flush=True)
        print(f"built {settings.index_dir}: {report.documents} documents, {report.chunks} chunks "
              f"in {report.seconds:.1f}s", flush=True)
    t0 = time.perf_counter()
    pipeline.ask("预热")  # load the index, models and tokenizer dictionary now, not on the first question
    print(f"loaded index: {len(pipeline.documents)} documents, {len(pipeline.index.chunks)} chunks "
          f"in {time.perf_counter() - t0:.1f}s", flush=True)
    return pipeline


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None) -> None:
    """``rag serve``: ensure the index, then serve the UI and the API with uvicorn until interrupted."""
    import uvicorn

    app = build_app(prepare(settings), auth=auth)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"政策问答助手: http://{shown}:{port}/   API: POST /api/ask, POST /api/search, GET /api/health"
          f"{'   (login required)' if auth else ''}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
