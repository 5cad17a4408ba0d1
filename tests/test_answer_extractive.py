"""The extractive answer mode on real questions over the seed corpus (index built once per session)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.answer.chain import build_chain
from rag.pipeline import Pipeline
from rag.textnorm import contains

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(seed_index):
    return Pipeline(seed_index)


def ask(pipeline, q):
    a = pipeline.ask(q, mode="extractive")
    chunks = {sc.chunk.id: sc.chunk for sc in a.retrieved}
    for s in a.sentences:  # every sentence is a verbatim quote of the chunk it cites
        assert s.supported and len(s.citations) == 1
        c = a.citations[s.citations[0] - 1]
        assert s.text in c.text and s.text in c.quote and c.quote in chunks[c.chunk_id].text
    return a


def test_pilot_county_support(pipeline):
    a = ask(pipeline, "试点县能得到哪些支持？")
    assert not a.abstained and a.mode == "extractive"
    for fact in ("52项", "科技特派团", "贷款投放比例"):
        assert fact in a.answer
    assert len(a.answer) <= 450
    c = a.citations[0]
    assert c.memo.startswith("《福建省县域重点产业链发展白皮书（2024）》（福建省工业和信息化厅，2024年12月）“")
    assert c.chunk_id.startswith("whitepaper-2024")


def test_number_question_is_concise(pipeline):
    a = ask(pipeline, "全省一共确定了多少条县域重点产业链？覆盖多少个县域？")
    assert "164条" in a.answer and "83个" in a.answer and len(a.answer) <= 200


def test_cross_document_question_draws_on_each_document(pipeline):
    a = ask(pipeline, "省“十四五”制造业规划和泉州行动方案对工业固废综合利用率的目标分别是多少？")
    assert {c.doc for c in a.citations} >= {"manufacturing-plan-14th", "quanzhou-action-plan"}
    assert "85%以上" in a.answer


def test_traditional_source_is_quoted_in_original_characters(pipeline):
    a = ask(pipeline, "新闻报道中，省科技厅的“揭榜挂帅”技术需求榜单围绕多少条产业链？")
    assert contains(a.answer, "24条") and "條" in a.answer


@pytest.mark.parametrize("question, missing", [
    ("广东省对县域重点产业链试点县每个补助多少钱？", "广东"),
    ("福建省2030年县域重点产业链要达到多少条？", "2030"),
    ("浙江省一共确定了多少条县域重点产业链？", "浙江"),
])
def test_abstains_when_documents_do_not_say(pipeline, question, missing):
    a = pipeline.ask(question, mode="extractive")
    assert a.abstained and a.answer.startswith("文件中未找到") and missing in a.answer
    assert a.sentences == () and a.citations and any("最接近" in n for n in a.notices)


def test_chain_retrieve_compose_verify(pipeline):
    chain = build_chain(lambda q: pipeline.search(q), pipeline.answerer("extractive"), pipeline.documents)
    a = chain.invoke({"question": "泉州每年要引进多少高层次人才团队？"})
    assert not a.abstained and "不少于10个" in a.answer and a.citations[0].doc == "quanzhou-action-plan"


def test_cli_ask_json_and_batch(seed_index, tmp_path):
    env = dict(os.environ, RAG_INDEX_DIR=str(seed_index.index_dir), RAG_CORPUS_DIR=str(seed_index.corpus_dir))
    out = subprocess.run([sys.executable, "-m", "rag", "ask", "泉州要建多少个专精特新产业园？", "--json"],
                         env=env, check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert set(d) >= {"id", "question", "answer", "abstained", "mode", "sentences", "citations", "retrieved", "notices", "timings_ms"}
    assert set(d["citations"][0]) == {"n", "chunk_id", "doc", "title", "issuer", "date", "heading_path", "quote", "text", "memo"}
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "试点县能得到哪些支持？"}\n{"id": "b", "question": "寿宁县确定的县域重点产业链是什么？"}\n',
                     encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "rag", "ask", "--batch", str(batch)], env=env, check=False, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"] and [x["abstained"] for x in lines] == [False, True]
    out = subprocess.run([sys.executable, "-m", "rag", "ask", "试点县能得到哪些支持？", "--mode", "llm"],
                         env=dict(env, RAG_LLM_BASE_URL="", RAG_LLM_MODEL=""), check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "RAG_LLM_BASE_URL" in out.stderr and "Traceback" not in out.stderr
