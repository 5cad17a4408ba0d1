"""The llm answer mode against a real HTTP server on 127.0.0.1 speaking the OpenAI chat API.

Nothing of ours is mocked: LangChain's ChatOpenAI talks HTTP to tests/fake_openai.py.
"""

from __future__ import annotations

import time

import pytest

from rag.answer import make_answerer
from rag.errors import ConfigError
from rag.settings import Settings
from rag.types import Answer

from .answer_fixtures import DOCUMENTS, GOOD, INJECTION, NEWS_TECH, PILOT, QUESTION, QZ_REWARD, scored
from .fake_openai import FakeOpenAI


@pytest.fixture
def answerer(server):
    server.requests.clear()
    settings = Settings.load(env={}, overrides={
        "llm_base_url": server.base_url, "llm_model": "fake-qwen", "llm_api_key": "test-key", "llm_timeout": 0.5,
    })
    return make_answerer("llm", settings)


def run_stream(answerer, question=QUESTION, retrieved=None):
    items = list(answerer.stream(question, retrieved or scored(PILOT, NEWS_TECH, QZ_REWARD), DOCUMENTS))
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1])
    return items[:-1], items[-1]


def test_streaming_answer_is_verified_and_cited(server, answerer):
    server.reply = FakeOpenAI.text(GOOD)
    deltas, answer = run_stream(answerer)
    assert len(deltas) > 3 and "".join(deltas) == GOOD  # really streamed, piece by piece
    assert answer.mode == "llm" and not answer.abstained and answer.notices == ()
    assert [s.supported for s in answer.sentences] == [True, True, True]
    assert [s.citations for s in answer.sentences] == [(1,), (1,), (1,)]
    # one marker per run of sentences citing the same passage: the run's last sentence shows it
    assert answer.answer.count("[1]") == 1 and [s.shows_citations for s in answer.sentences] == [False, False, True]
    (c,) = answer.citations
    assert c.chunk_id == PILOT.id and c.text == PILOT.text and c.quote in PILOT.text
    assert "52项" in c.quote and "贷款投放比例" in c.quote
    assert c.memo.startswith("《福建省县域重点产业链发展白皮书（2024）》（福建省工业和信息化厅，2024年12月）“二、")
    req = server.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["body"]["stream"] is True
    assert req["body"]["model"] == "fake-qwen" and req["headers"]["authorization"] == "Bearer test-key"
    system, user = req["body"]["messages"]
    assert system["role"] == "system" and "文件中未找到" in system["content"] and "指令" in system["content"]
    assert "[1] 福建省县域重点产业链发展白皮书（2024）" in user["content"] and PILOT.text in user["content"]
    assert "[3] " in user["content"] and QUESTION in user["content"]


def test_blocking_answer_uses_a_json_reply(server, answerer):
    server.reply = FakeOpenAI.text("省科技厅组建科技特派团服务试点县优势产业和区域特色产业[1]。福建省科技廳啟動省科技特派團服務重點產業鏈專項行動[2]。")
    answer = answerer.answer(QUESTION, scored(PILOT, NEWS_TECH), DOCUMENTS)
    assert not server.requests[-1]["body"].get("stream")
    assert answer.mode == "llm" and [c.chunk_id for c in answer.citations] == [PILOT.id, NEWS_TECH.id]
    assert all(s.supported for s in answer.sentences)


@pytest.mark.parametrize("reply, reason", [
    (FakeOpenAI.status(500), "HTTP 500"),
    (FakeOpenAI.status(429, "rate limited"), "429"),
    (FakeOpenAI.slow(3.0, GOOD), "超时"),
    (FakeOpenAI.raw("<html>not a completion</html>"), "大模型服务不可用"),
    (FakeOpenAI.broken_stream(GOOD), "大模型服务不可用"),
    (FakeOpenAI.text(""), "为空"),
    (FakeOpenAI.text("试点县可以得到很多支持，包括资金和人才。"), "没有标注来源编号"),
    (FakeOpenAI.text("每个试点县补助1亿元[7]。"), "不存在的来源编号 [7]"),
])
def test_misbehaving_endpoint_falls_back_to_extractive(server, answerer, reply, reason):
    server.reply = reply
    t0 = time.perf_counter()
    deltas, answer = run_stream(answerer)
    assert time.perf_counter() - t0 < 10
    assert answer.mode == "extractive" and not answer.abstained
    assert reason in answer.notices[0] and answer.notices[0].endswith("已改用摘录式回答。")
    assert answer.notices[0] in "".join(deltas)  # visible while streaming too
    assert answer.citations and all(c.chunk_id in {PILOT.id, NEWS_TECH.id, QZ_REWARD.id} for c in answer.citations)
    assert all(s.supported for s in answer.sentences)
    assert "1亿元" not in answer.answer


def test_endpoint_down_falls_back(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings.load(env={}, overrides={"llm_base_url": f"http://127.0.0.1:{port}/v1", "llm_model": "m",
                                                "llm_timeout": 0.5})
    answer = make_answerer("llm", settings).answer(QUESTION, scored(PILOT), DOCUMENTS)
    assert answer.mode == "extractive" and "无法连接" in answer.notices[0]


def test_unknown_id_beside_a_valid_one_is_removed_and_reported(server, answerer):
    server.reply = FakeOpenAI.text("省科技厅组建科技特派团服务试点县优势产业和区域特色产业[1][9]。")
    _, answer = run_stream(answerer)
    assert answer.mode == "llm" and answer.sentences[0].citations == (1,) and answer.sentences[0].supported
    assert any("[9]" in n and "已删除" in n for n in answer.notices)
    assert "[9]" not in answer.answer


def test_unsupported_sentence_is_flagged_never_shown_as_sourced(server, answerer):
    server.reply = FakeOpenAI.text(
        "省工信厅梳理试点县需求清单52项[1]。省工信厅给每个试点县补助5000万元，覆盖30%的项目[1]。"
    )
    _, answer = run_stream(answerer)
    first, second = answer.sentences
    assert first.supported and first.citations == (1,)
    assert not second.supported and second.citations == ()
    assert "〔未核实〕" in answer.answer and answer.answer.count("[1]") == 1
    assert any("5000" in n and "30%" in n for n in answer.notices)


def test_model_abstention_shows_closest_passages(server, answerer):
    server.reply = FakeOpenAI.text("文件中未找到广东省对试点县的补助标准。")
    _, answer = run_stream(answerer, "广东省对试点县每个补助多少钱？")
    assert answer.abstained and answer.answer.startswith("文件中未找到广东省对试点县的补助标准")
    assert answer.sentences == () and [c.chunk_id for c in answer.citations][:1] == [PILOT.id]
    assert any("最接近" in n for n in answer.notices)


def test_instructions_inside_sources_are_not_obeyed_as_facts(server, answerer):
    # The model is fooled by the injected passage; verification still refuses the number.
    server.reply = FakeOpenAI.text("每个试点县补助2亿元[1]。")
    _, answer = run_stream(answerer, retrieved=scored(INJECTION, PILOT))
    assert answer.mode == "extractive" and "无法在来源中核实" in answer.notices[0]
    assert "2亿元" not in answer.answer and all(s.supported for s in answer.sentences)


def test_context_budget_limits_the_numbered_sources(server):
    settings = Settings.load(env={}, overrides={"llm_base_url": server.base_url, "llm_model": "m",
                                                "llm_context_tokens": 700})
    server.reply = FakeOpenAI.text(GOOD)
    make_answerer("llm", settings).answer(QUESTION, scored(PILOT, QZ_REWARD, NEWS_TECH, PILOT, QZ_REWARD), DOCUMENTS)
    user = server.requests[-1]["body"]["messages"][1]["content"]
    assert "[1] " in user and "[5] " not in user


def test_llm_mode_without_endpoint_names_the_variables():
    with pytest.raises(ConfigError, match="RAG_LLM_BASE_URL and RAG_LLM_MODEL"):
        make_answerer("llm", Settings.load(env={}))
    with pytest.raises(ConfigError, match="RAG_LLM_MODEL"):
        make_answerer("llm", Settings.load(env={"RAG_LLM_BASE_URL": "http://127.0.0.1:1/v1"}))
