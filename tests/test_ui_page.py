"""The chat page's own pieces (issue #11): one question limit with the API's message, Chinese-only
messages, one current rating per answer, the corpus notice. Driven through the UI's handlers, no browser."""

from __future__ import annotations

import json

import pytest

from rag.errors import ConfigError, IndexDamagedError, IndexMissingError, InputError, LLMError
from rag.eval.feedback import feedback_path
from rag.serve import api
from rag.serve.html import answer_html, chinese_message, corpus_notice_html, error_text, rating_target_html, with_rating
from rag.settings import MAX_QUESTION_CHARS, check_question_length
from rag.types import Answer


def test_one_question_limit_for_the_api_and_the_page():
    assert api.MAX_QUESTION_CHARS == MAX_QUESTION_CHARS  # the API's limit is the shared one
    assert check_question_length("长" * MAX_QUESTION_CHARS) == "长" * MAX_QUESTION_CHARS
    with pytest.raises(InputError) as e:
        check_question_length("长" * (MAX_QUESTION_CHARS + 1))
    assert chinese_message(str(e.value)) == f"问题过长（{MAX_QUESTION_CHARS + 1} 个字符，最多 {MAX_QUESTION_CHARS} 个），请精简后再问"


def test_errors_on_the_page_are_chinese_only():
    assert error_text(InputError("问题为空，请输入一个问题 / the question is empty")) == "问题为空，请输入一个问题"
    for err in (IndexMissingError("no index found in index; run `rag build` first"),
                IndexDamagedError("damaged index file index/x (missing); run `rag build --force`"),
                LLMError("timeout"), ConfigError("answer_mode='x' is not valid"), InputError("unknown document 'x'"),
                RuntimeError("boom")):
        text = error_text(err)
        assert text and not any(w in text for w in ("index", "found", "timeout", "valid", "unknown", "boom")), text


def test_rating_is_shown_on_the_answer_and_in_the_target_line():
    a = Answer(question="试点县能得到哪些支持？", answer="……", abstained=True, mode="extractive")
    html = answer_html(a, 2)
    assert "第 2 问" in html and '<span class="rag-rated"></span>' in html
    rated = with_rating(html, "up")
    assert '<span class="rag-rated"> · 您的评价：有用</span>' in rated
    assert '<span class="rag-rated"> · 您的评价：没用</span>' in with_rating(rated, "down")
    assert "评价第 2 问「试点县能得到哪些支持？」的回答 · 当前评价：<b>没用</b>（可改）" in rating_target_html(a, 2, "down")
    assert "尚未评价" in rating_target_html(a, 2)


def test_corpus_notice_lists_skipped_files_in_chinese_and_inferred_metadata():
    assert corpus_notice_html({"skipped": [], "inferred": []}) == ""
    html = corpus_notice_html({
        "skipped": [{"file": "<b>x.pdf", "reason": "not a readable PDF (EOF)", "reason_zh": "PDF 文件损坏，无法读取"}],
        "inferred": [{"file": "new.txt", "doc_id": "new", "issuer": "福建省人民政府", "date": "2021-06-29",
                      "from": {"issuer": "signature (落款)", "date": "signature (落款)"}, "not_found": ["number"]}],
    })
    assert "有 1 个文件未能收录：</b>&lt;b&gt;x.pdf（PDF 文件损坏，无法读取）" in html
    assert "new.txt：发文单位：福建省人民政府，日期：2021-06-29" in html and "EOF" not in html


@pytest.fixture()
def ui_pipeline(seed_index, tmp_path):
    from rag.pipeline import Pipeline

    return Pipeline(seed_index.with_(data_dir=tmp_path))


def _handlers(pipeline):
    """The page's event handlers by name (as Gradio calls them)."""
    from rag.serve.ui import build_ui

    ui = build_ui(pipeline)
    return {getattr(f.fn, "__name__", "") or getattr(getattr(f.fn, "func", None), "__name__", ""): f.fn
            for f in ui.fns.values()}, ui


def test_ui_refuses_an_overlong_question_without_echoing_it(ui_pipeline, monkeypatch):
    import rag.serve.ui as ui_mod

    toasts = []
    monkeypatch.setattr(ui_mod.gr, "Warning", lambda message, title="Warning", **kw: toasts.append((title, message)))
    fns, _ = _handlers(ui_pipeline)
    out = list(fns["ask"]("长" * (MAX_QUESTION_CHARS + 1), [], [], [], "extractive", {}, 0.0))
    assert out == [(ui_mod.gr.skip(),) * 8]  # nothing changes on the page: the question stays in its box, not echoed
    assert toasts == [("提示", f"问题过长（{MAX_QUESTION_CHARS + 1} 个字符，最多 {MAX_QUESTION_CHARS} 个），请精简后再问")]


def test_one_current_rating_per_answer(ui_pipeline):
    from rag.serve.ui import _rate

    fns, _ = _handlers(ui_pipeline)
    *_, last = fns["ask"]("试点县能得到哪些支持？", [], [], [], "extractive", {}, 0.0)
    _, messages, turns, current, *_ = last
    ratings: dict = {}
    status, _, messages, ratings, target = _rate(ui_pipeline, "up", "", messages, turns, current, ratings)
    assert "已将第 1 问的回答评为“有用”" in status and "当前评价：<b>有用</b>" in target
    again = _rate(ui_pipeline, "up", "", messages, turns, current, ratings)
    assert "未重复记录" in again[0]
    status, _, messages, ratings, target = _rate(ui_pipeline, "down", "漏了资金支持", messages, turns, current, ratings)
    assert "（原为“有用”）" in status and "当前评价：<b>没用</b>" in target
    text = json.dumps(messages, ensure_ascii=False)
    assert "您的评价：没用" in text and "您的评价：有用" not in text
    lines = [json.loads(x) for x in feedback_path(ui_pipeline.settings).read_text(encoding="utf-8").splitlines()]
    assert [(r["rating"], r.get("replaces")) for r in lines] == [("up", None), ("down", "up")]
    assert lines[0]["answer_id"] == lines[1]["answer_id"] and lines[1]["comment"] == "漏了资金支持"
