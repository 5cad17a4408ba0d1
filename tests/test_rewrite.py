"""LLM mode rewrites the question into the documents' terms before retrieval (issue #15, item 7).

Against the fake OpenAI-compatible server on 127.0.0.1: the first request is the rewrite, the
second the answer; the rewrite is used for retrieval and shown in the retrieval view.
"""

from __future__ import annotations

import pytest

from rag.answer.rewrite import Rewrite, parse_rewrite
from rag.pipeline import Pipeline
from rag.serve.html import retrieval_html

from .fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow

QUESTION = "咱们县要是评上试点县了，省里能给点啥支持？"
REWRITE = '{"query": "县域重点产业链试点县可获得哪些省级支持政策", "parts": ["县域重点产业链试点县可获得哪些省级支持政策"]}'
ANSWER = "文件中未找到相关内容。"


@pytest.fixture
def pipeline(seed_index, server):
    server.requests.clear()
    return Pipeline(seed_index.with_(llm_base_url=server.base_url, llm_model="fake-qwen", llm_timeout=5.0))


def test_rewrite_is_asked_first_used_for_retrieval_and_shown(pipeline, server):
    server.reply = FakeOpenAI.sequence(FakeOpenAI.text(REWRITE), FakeOpenAI.text(ANSWER))
    a = pipeline.ask(QUESTION, mode="llm")
    first, second = (r["body"]["messages"] for r in server.requests[:2])
    assert "检索助手" in first[0]["content"] and QUESTION in first[1]["content"]
    assert "省里 →" in first[1]["content"]  # the vocabulary's hint for an everyday word of the question
    assert a.query.startswith("县域重点产业链试点县可获得哪些省级支持政策") and QUESTION in a.query
    assert a.to_dict()["query"] == a.query
    assert any("试点县" in r.chunk.text for r in a.retrieved[:3])
    assert "[1]" in second[1]["content"]  # the answer request carries the numbered sources
    assert "大模型改写" in retrieval_html(a.retrieved, query=a.query)


def test_unusable_rewrite_retrieves_with_the_question_as_asked(pipeline, server):
    server.reply = FakeOpenAI.sequence(FakeOpenAI.text("好的，我来改写：试点县支持"), FakeOpenAI.text(ANSWER))
    a = pipeline.ask(QUESTION, mode="llm")
    assert a.query == "" and any("改写结果无法解析" in n for n in a.notices)
    plain = pipeline.search(QUESTION)
    assert [r.chunk.id for r in a.retrieved] == [r.chunk.id for r in plain]


def test_extractive_mode_never_calls_the_model(pipeline, server):
    a = pipeline.ask(QUESTION, mode="extractive")
    assert not server.requests and a.query == ""


def test_parse_rewrite():
    assert parse_rewrite('```json\n{"query": "甲", "parts": ["乙", 3, ""]}\n```') == Rewrite("甲", ("乙",))
    for bad in ("", "not json", '{"parts": ["x"]}', '{"query": ""}', '["query"]'):
        assert parse_rewrite(bad) is None
    assert Rewrite("甲", ("甲", "乙")).retrieval_text("丙") == "甲\n乙\n丙"
