"""The chat UI (Gradio Blocks): chat on the left, sources and the retrieval view on the right.

Thin by design: read the input, call the :class:`~rag.pipeline.Pipeline`, render with
:mod:`rag.serve.html`; exports go through :mod:`rag.export`, ratings to the feedback log.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from datetime import datetime
from functools import partial
from pathlib import Path

import gradio as gr

from ..errors import InputError, RagError
from ..eval.feedback import append_feedback
from ..export import conversation_markdown, write_docx
from ..pipeline import Pipeline
from ..settings import MAX_QUESTION_CHARS, check_question_length
from ..types import Answer
from .gradio_api import add_api
from .html import (
    RATING_LABELS,
    answer_html,
    cited_ids,
    corpus_notice_html,
    error_html,
    error_text,
    question_html,
    rating_target_html,
    retrieval_html,
    sources_html,
    streaming_html,
    with_rating,
)

log = logging.getLogger(__name__)

EXAMPLES = [
    "试点县能得到哪些支持？",
    "“六个一”整体推进要求具体指哪六个？",
    "首次认定为制造业单项冠军的企业泉州奖多少钱？",
    "制造业项目用林指标不够怎么办？",
    "上海市对芯片企业有哪些补贴？",
]


class Selection(gr.SelectData):
    """gr.SelectData that accepts an event sent without selection data (its ``index`` is then None).

    Gradio builds the annotated class from the event's data, and ``gr.SelectData`` itself fails on
    none ('NoneType' object is not subscriptable) before the handler runs.
    """

    def __init__(self, target, data):
        super().__init__(target, data if isinstance(data, dict) else {"index": None, "value": None, "selected": False})


def _warn(message: str) -> None:
    """A toast in Chinese (Gradio's own title would be "Warning")."""
    gr.Warning(message, title="提示")


def _with_rating(message: dict, rating: str) -> dict:
    """A chat message (content a string or Gradio's list of text parts) showing ``rating``."""
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": with_rating(content, rating)}
    parts = [{**c, "text": with_rating(c["text"], rating)} if isinstance(c, dict) and isinstance(c.get("text"), str)
             else c for c in content or []]
    return {**message, "content": parts}


def _rate(pipeline: Pipeline, rating: str, comment: str, messages: list, turns: list, current: int, ratings: dict):
    """Record the rating of the answer whose sources are shown: one current rating per answer.

    The log (data/feedback.jsonl) is append-only: rating an answer again with the same rating and no
    new comment writes nothing; a changed rating or a new comment writes one line with the same
    ``answer_id`` and ``replaces`` (the rating it supersedes), so the last line per answer is its rating.
    Returns (status, comment box, chat, ratings, rating target).
    """
    answer = turns[current - 1] if 0 < current <= len(turns) else None
    if answer is None:
        return "当前没有可以评价的回答。", comment, gr.skip(), gr.skip(), gr.skip()
    comment = (comment or "").strip()
    before = ratings.get(str(current)) or {}
    label = RATING_LABELS[rating]
    if before.get("rating") == rating and not comment:
        return f"第 {current} 问已评为“{label}”，未重复记录。", "", gr.skip(), gr.skip(), gr.skip()
    answer_id = before.get("answer_id") or uuid.uuid4().hex
    record = {
        "question": answer.question, "answer": answer.answer, "rating": rating, "comment": comment,
        "citations": [c.to_dict() for c in answer.citations], "mode": answer.mode, "abstained": answer.abstained,
        "retrieved": [r.chunk.id for r in answer.retrieved], "source": "ui", "answer_id": answer_id, "turn": current,
    }
    if before.get("rating"):
        record["replaces"] = before["rating"]
    append_feedback(pipeline.settings, record)
    ratings = {**ratings, str(current): {"rating": rating, "answer_id": answer_id}}
    at = 2 * current - 1  # the answer's message: messages come in (question, answer) pairs
    if 0 <= at < len(messages):
        messages = [*messages[:at], _with_rating(messages[at], rating), *messages[at + 1:]]
    changed = f"（原为“{RATING_LABELS[before['rating']]}”）" if before.get("rating") and before["rating"] != rating else ""
    status = f"已将第 {current} 问的回答评为“{label}”{changed}{'，并记下意见' if comment else ''}，谢谢！"
    return status, "", messages, ratings, rating_target_html(answer, current, rating)


def _export(kind: str, turns: list, started: float) -> str | None:
    answers = [a for a in turns if a is not None]
    if not answers:
        _warn("还没有可以导出的回答。")
        return None
    path = Path(tempfile.mkdtemp(prefix="rag-export-")) / f"政策问答记录-{time.strftime('%Y%m%d-%H%M%S')}.{kind}"
    if kind == "md":
        path.write_text(conversation_markdown(answers), encoding="utf-8")
    else:
        write_docx(answers, path, when=datetime.fromtimestamp(started) if started else None)
    return str(path)


def build_ui(pipeline: Pipeline):
    """The Gradio Blocks: chat on the left, sources and the retrieval view on the right."""
    settings = pipeline.settings
    doc_choices = [(f"{d.title}（{d.issuer}）" if d.issuer else d.title, d.doc_id) for d in pipeline.documents.values()]
    modes = [("抽取式（原文摘录）", "extractive"), ("大模型生成（LLM）", "llm")]
    mode_info = "两种方式都只依据已收录文件并逐句核实出处" if settings.llm_configured else \
        "未配置大模型：设置 RAG_LLM_BASE_URL 和 RAG_LLM_MODEL 后可选 LLM"

    def panels(turns: list, turn: int, ratings: dict):
        """Sources, retrieval view and rating target for answer ``turn``."""
        answer = turns[turn - 1] if 0 < turn <= len(turns) else None
        if answer is None:
            return sources_html(None), retrieval_html(()), rating_target_html(None, 0)
        rating = (ratings.get(str(turn)) or {}).get("rating")
        return (sources_html(answer, turn), retrieval_html(answer.retrieved, cited_ids(answer), query=answer.query),
                rating_target_html(answer, turn, rating))

    skip_all = (gr.skip(),) * 8

    def ask(question: str, messages: list, turns: list, docs: list, mode: str, ratings: dict, started: float):
        try:  # the one limit and message of the API (rag.settings.check_question_length), in Chinese
            question = check_question_length(question or "").strip()
        except InputError as e:
            _warn(error_text(e))
            yield skip_all
            return
        if not question:
            _warn("请输入问题。")
            yield skip_all
            return
        turn = len(turns) + 1
        messages = messages + [{"role": "user", "content": question_html(question)},
                               {"role": "assistant", "content": streaming_html("")}]
        yield "", messages, *(gr.skip(),) * 5, started or time.time()
        answer: Answer | None = None
        try:
            text = ""
            for item in pipeline.ask_stream(question, mode=mode, filters=pipeline.make_filters(docs)):
                if isinstance(item, Answer):
                    answer = item
                else:  # a text delta: show the answer as it is written
                    text += item
                    messages[-1] = {"role": "assistant", "content": streaming_html(text)}
                    yield gr.skip(), messages, *(gr.skip(),) * 6
            if answer is None:
                raise RuntimeError("the pipeline's stream ended without an Answer")
            messages[-1] = {"role": "assistant", "content": answer_html(answer, turn, requested_mode=mode)}
        except RagError as e:
            log.info("question %r not answered: %s", question, e)
            messages[-1] = {"role": "assistant", "content": error_html(error_text(e))}
        except Exception:
            log.exception("answering %r failed", question)
            messages[-1] = {"role": "assistant", "content": error_html("内部错误，请稍后再试或联系管理员（详情见服务日志）。")}
        turns = turns + [answer]
        yield (gr.skip(), messages, turns, turn, *panels(turns, turn, ratings), gr.skip())

    def show_turn(turns: list, current: int, ratings: dict, evt: Selection):
        index = evt.index  # None when the event came without a selection (not from the page)
        index = index[0] if isinstance(index, (list, tuple)) and index else index
        turn = int(index) // 2 + 1 if isinstance(index, int) else 0  # messages come in (question, answer) pairs
        if turn == current or not 0 < turn <= len(turns):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return (turn, *panels(turns, turn, ratings))

    with gr.Blocks(title="政策问答助手", analytics_enabled=False, fill_width=True, delete_cache=(86400, 86400)) as ui:
        turns = gr.State([])  # one Answer (or None after an error) per question
        current = gr.State(0)  # the 1-based question whose sources are shown
        ratings = gr.State({})  # str(turn) -> {"rating", "answer_id"}: the current rating of each rated answer
        started = gr.State(0.0)  # when the conversation's first question was asked (the Word export's date)
        gr.Markdown("## 政策问答助手\n用中文提问。回答只摘自已收录的政策文件；句末 **[n]** 对应右侧来源，"
                    "点击可查看原文段落和高亮的出处，并一键复制公文引文。")
        notice = corpus_notice_html(pipeline.index.manifest.corpus_report())
        if notice:
            gr.HTML(notice, elem_id="rag-corpus-notice")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat = gr.Chatbot(label="对话", height=520, latex_delimiters=[], feedback_options=None,
                                  buttons=[], elem_id="rag-chat",  # its copy would copy markup; answers carry their own
                                  placeholder="请在下方输入问题，或点击示例问题。")
                with gr.Row():
                    box = gr.Textbox(label="问题", show_label=False, placeholder=f"输入问题（最多 {MAX_QUESTION_CHARS} 字），例如：试点县能得到哪些支持？",
                                     scale=5, max_lines=4, elem_id="rag-question", autofocus=True)
                    send = gr.Button("提问", variant="primary", scale=1, min_width=80, elem_id="rag-send")
                gr.Examples(EXAMPLES, inputs=box, label="示例问题（点击填入）", api_name="page_example", api_visibility="private")
                with gr.Row():
                    docs = gr.Dropdown(doc_choices, value=[], multiselect=True, label="检索范围",
                                       info="不选 = 全部文件", scale=3, elem_id="rag-docs")
                    mode = gr.Radio(modes, value=settings.answer_mode if settings.llm_configured else "extractive",
                                    label="回答方式", info=mode_info, interactive=settings.llm_configured, scale=2)
                rate_target = gr.HTML(rating_target_html(None, 0), elem_id="rag-rate-target")
                with gr.Row():
                    comment = gr.Textbox(label="意见", show_label=False, placeholder="对这个回答的意见（可选）", scale=4,
                                         elem_id="rag-comment")
                    # text labels, not emoji: they render without an emoji font
                    up = gr.Button(RATING_LABELS["up"], scale=1, min_width=70, elem_id="rag-up")
                    down = gr.Button(RATING_LABELS["down"], scale=1, min_width=70, elem_id="rag-down")
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

        outputs = [box, chat, turns, current, sources, retrieval, rate_target, started]
        inputs = [box, chat, turns, docs, mode, ratings, started]
        # The page's events take and return chat state and HTML: hidden from the Gradio API, whose named
        # endpoints (/ask, /search, /health: rag/serve/gradio_api.py) return structured data instead.
        # Named page_* so that they never take the API's names.
        def page(name: str) -> dict:
            return {"api_name": f"page_{name}", "api_visibility": "private"}

        send.click(ask, inputs, outputs, **page("send"))
        box.submit(ask, inputs, outputs, **page("submit"))
        chat.select(show_turn, [turns, current, ratings], [current, sources, retrieval, rate_target], **page("show_turn"))
        rate_in, rate_out = [comment, chat, turns, current, ratings], [status, comment, chat, ratings, rate_target]
        up.click(partial(_rate, pipeline, "up"), rate_in, rate_out, **page("rate_up"))
        down.click(partial(_rate, pipeline, "down"), rate_in, rate_out, **page("rate_down"))
        export_md.click(partial(_export, "md"), [turns, started], download, **page("export_md"))
        export_docx.click(partial(_export, "docx"), [turns, started], download, **page("export_docx"))
        add_api(pipeline)
    ui.queue(default_concurrency_limit=4)
    return ui
