"""The pipeline as LangChain's retriever and runnable, over a tiny real index of seed passages.

LangChain's own standard retriever suite (langchain-tests) runs against ``Pipeline.as_retriever``; the
runnable is checked to give exactly ``Pipeline.ask`` / ``ask_stream`` in both modes (LLM mode against the
fake OpenAI server of tests/fake_openai.py, nothing of ours mocked).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.adapters import PolicyRetriever, answer_chain, from_document, to_document
from rag.errors import InputError
from rag.ingest import load_corpus
from rag.pipeline import Pipeline
from rag.text import split_sentences
from rag.types import Answer

from .fake_openai import FakeOpenAI
from .temp_corpus import build_temp_corpus

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PLAN = "fujian-14th-five-year-manufacturing-plan.txt"
WHITEPAPER = "fujian-county-industrial-chain-whitepaper-2024.txt"
QUANZHOU = "quanzhou-county-chain-action-plan.txt"
COMPILATION = "industrial-cluster-compilation.txt"
QUESTIONS = ["泉州每年要引进多少高层次人才团队？", "试点县能得到哪些支持？", "泉州要建多少个专精特新产业园？",
             "福建省“十四五”制造业规划是哪个部门印发的？"]


def _lines(name: str, *ranges: tuple[int, int]) -> str:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for a, b in ranges for line in lines[a:b]) + "\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Settings of a real index over the heads of four seed documents (with the seed catalog)."""
    files = {
        PLAN: _lines(PLAN, (0, 120)),  # the notice: 闽政〔2021〕12号, 福建省人民政府, 2021年6月29日
        WHITEPAPER: _lines(WHITEPAPER, (0, 20), (240, 270)),  # the pilot counties' support
        QUANZHOU: _lines(QUANZHOU, (0, 100)),
        COMPILATION: _lines(COMPILATION, (0, 12)),  # its first part has its own issuer and 文号
        "catalog.toml": (CORPUS / "catalog.toml").read_text(encoding="utf-8"),
    }
    return build_temp_corpus(tmp_path_factory.mktemp("lc"), files)


@pytest.fixture(scope="module")
def pipeline(tiny):
    return Pipeline(tiny)


def same(a: Answer, b: Answer) -> bool:
    """Equal in everything but the measured timings."""
    return replace(a, timings_ms={}) == replace(b, timings_ms={})


# --------------------------------------------------------------------------- LangChain's standard suite
class TestStandardRetrieverSuite(RetrieversIntegrationTests):
    pytestmark = [pytest.mark.anyio]  # runs test_ainvoke_returns_documents (the sync tests ignore it)
    _pipeline: Pipeline | None = None

    @pytest.fixture(autouse=True)
    def _tiny_pipeline(self, pipeline):
        type(self)._pipeline = pipeline

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return PolicyRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"pipeline": self._pipeline}

    @property
    def retriever_query_example(self) -> str:
        return "试点县能得到哪些支持"


# --------------------------------------------------------------------------- the retriever
def test_retriever_returns_what_the_pipeline_searches(pipeline):
    for q in QUESTIONS:
        docs = pipeline.as_retriever(k=5).invoke(q)
        hits = pipeline.search(q, top_k=5)
        assert [d.id for d in docs] == [sc.chunk.id for sc in hits] and len(docs) == 5
        assert [d.page_content for d in docs] == [sc.chunk.text for sc in hits]
    default = pipeline.as_retriever().invoke(QUESTIONS[0])
    assert len(default) == pipeline.settings.top_k


def test_document_metadata(pipeline, tiny):
    cleaned = load_corpus(tiny).cleaned
    docs = pipeline.as_retriever(k=20).invoke("闽政〔2021〕12号 福建省人民政府 十四五 制造业 专项规划")
    plan = next(d for d in docs if d.metadata["doc"] == "manufacturing-plan-14th")
    m = plan.metadata
    assert m["doc_number"] == "闽政〔2021〕12号" and m["issuer"] == "福建省人民政府" and m["date"] == "2021-06-29"
    assert m["source"] == PLAN and m["title"] == "福建省“十四五”制造业高质量发展专项规划"
    for d in docs:  # the span is where page_content sits in the document's cleaned text
        m = d.metadata
        assert cleaned[m["doc"]][m["start_index"]:m["end_index"]] == d.page_content
        assert set(m["ranks"]) == set(m["scores"]) and "bm25" in m["ranks"]
        for name, rank in m["ranks"].items():
            assert (rank is None) == (m["scores"][name] is None)
    by_bm25 = sorted((d for d in docs if d.metadata["ranks"]["bm25"]), key=lambda d: d.metadata["ranks"]["bm25"])
    scores = [d.metadata["scores"]["bm25"] for d in by_bm25]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_compilation_part_metadata(pipeline):
    docs = pipeline.as_retriever(k=10).invoke("产业集群产业基地建设推动工业跨越发展")
    part = next(d for d in docs if d.metadata["doc"] == "cluster-compilation")
    m = part.metadata
    assert m["issuer"] == "福建省经济贸易委员会" and m["doc_number"] == "闽经贸发展〔2025〕501号"
    assert m["part"].startswith("福建省经济贸易委员会关于加快产业集群") and m["source"] == COMPILATION


def test_documents_round_trip(pipeline):
    for sc in pipeline.search(QUESTIONS[1], top_k=10) + pipeline.search("产业集群产业基地", top_k=5):
        back, info = from_document(to_document(sc, pipeline.documents), 1, "x")
        assert back == sc and info.doc_id == sc.chunk.doc_id


def test_k_in_the_constructor_and_as_invoke_kwarg(pipeline):
    r = PolicyRetriever(pipeline=pipeline, k=2)
    assert len(r.invoke(QUESTIONS[1])) == 2
    assert len(r.invoke(QUESTIONS[1], k=4)) == 4
    assert len(r.invoke(QUESTIONS[1])) == 2  # the call's k does not stick
    assert len(asyncio.run(r.ainvoke(QUESTIONS[1], k=3))) == 3
    for bad in (0, 201, "3", 2.5, True):
        with pytest.raises(InputError, match="must be an integer from 1 to 200"):
            PolicyRetriever(pipeline=pipeline, k=bad)
        with pytest.raises(InputError, match="must be an integer from 1 to 200"):
            r.invoke(QUESTIONS[1], k=bad)


def test_unknown_arguments_are_refused(pipeline):
    with pytest.raises(InputError, match=r"unknown argument\(s\) 'top_k'; valid: .*pipeline, k, filters"):
        PolicyRetriever(pipeline=pipeline, top_k=3)
    r = pipeline.as_retriever()
    with pytest.raises(InputError, match=r"unknown keyword argument\(s\) 'n', 'top_k'; valid: k, filters"):
        r.invoke(QUESTIONS[1], top_k=3, n=1)
    with pytest.raises(InputError, match="needs a rag.pipeline.Pipeline"):
        PolicyRetriever(pipeline="index/")
    with pytest.raises(InputError, match="must be a rag.types.Filters"):
        r.invoke(QUESTIONS[1], filters=["白皮书"])
    with pytest.raises(InputError):
        r.invoke("？？？")  # the pipeline's own query check


def test_filters(pipeline):
    only = pipeline.make_filters(["泉州行动方案"])
    docs = pipeline.as_retriever(k=5).invoke(QUESTIONS[1], filters=only)
    assert docs and {d.metadata["doc"] for d in docs} == {"quanzhou-action-plan"}
    fixed = pipeline.as_retriever(k=5, filters=only)
    assert [d.id for d in fixed.invoke(QUESTIONS[1])] == [d.id for d in docs]


# --------------------------------------------------------------------------- the runnable, extractive mode
def test_invoke_is_pipeline_ask(pipeline):
    chain = pipeline.as_runnable()
    for q in QUESTIONS:
        expected = pipeline.ask(q)
        assert same(chain.invoke(q), expected) and same(chain.invoke({"question": q}), expected)
    a = chain.invoke(QUESTIONS[0])
    assert not a.abstained and "不少于10个" in a.answer and a.citations[0].doc == "quanzhou-action-plan"
    expected = pipeline.ask(QUESTIONS[1], filters=pipeline.make_filters(["白皮书"]), top_k=3)
    assert same(chain.invoke({"question": QUESTIONS[1], "docs": ["白皮书"], "top_k": 3}), expected)
    assert {c.doc for c in expected.citations} == {"whitepaper-2024"}
    assert [same(x, pipeline.ask(q)) for x, q in zip(chain.batch(QUESTIONS[:2]), QUESTIONS[:2], strict=True)] == [True, True]


def test_input_schema_declares_question(pipeline):
    chain = answer_chain(pipeline)
    schema = chain.get_input_schema().model_json_schema()
    assert schema["required"] == ["question"] and schema["properties"]["question"]["type"] == "string"
    assert set(schema["properties"]) == {"question", "mode", "docs", "top_k"}
    assert chain.get_output_schema().model_json_schema()["title"]


@pytest.mark.parametrize("bad, message", [
    ({"query": "试点县"}, r"unknown key\(s\) 'query'; valid keys: question, mode, docs, top_k"),
    ({}, r"no \"question\""),
    ({"question": 3}, "must be a string"),
    ({"question": "试点县", "mode": "fast"}, "must be one of extractive, llm"),
    ({"question": "试点县", "top_k": 0}, "must be an integer from 1 to 200"),
    ({"question": "试点县", "docs": "白皮书"}, "must be a list of document names"),
    ({"question": "试点县", "docs": ["没有的文件"]}, "unknown document"),
    (["试点县"], "takes a question string or a dict"),
    ("？？？", "问题"),
])
def test_bad_input_is_refused(pipeline, bad, message):
    chain = pipeline.as_runnable()
    with pytest.raises(InputError, match=message):
        chain.invoke(bad)
    with pytest.raises(InputError, match=message):
        list(chain.stream(bad))


def test_unknown_invoke_kwargs_are_refused(pipeline):
    with pytest.raises(InputError, match=r"unknown keyword argument\(s\) 'k'; put question, mode, docs, top_k in the input"):
        pipeline.as_runnable().invoke(QUESTIONS[0], k=3)


def test_stream_is_pipeline_ask_stream(pipeline):
    items = list(pipeline.as_runnable().stream(QUESTIONS[2]))
    expected = list(pipeline.ask_stream(QUESTIONS[2]))
    assert items[:-1] == expected[:-1] and all(isinstance(i, str) for i in items[:-1])
    assert isinstance(items[-1], Answer) and same(items[-1], expected[-1])


def test_composes_with_other_runnables(pipeline):
    chain = pipeline.as_runnable() | RunnableLambda(lambda a: a.citations[0].memo)
    q = QUESTIONS[0]
    memo = pipeline.ask(q).citations[0].memo
    assert chain.invoke(q) == memo and list(chain.stream(q)) == [memo]


class KeywordRetriever(BaseRetriever):
    """Another team's retriever: its own Documents, its own metadata names."""

    docs: list[Document]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [d for d in self.docs if any(w in d.page_content for w in ("试点县", "人才", "补助"))]


MEMO = Document(page_content="对新认定的县域重点产业链试点县，县财政给予一次性补助50万元。试点县可优先申报省级专项资金。",
                metadata={"source": "county-memo.txt", "title": "某县关于支持试点县建设的通知", "issuer": "某县人民政府",
                          "date": "2025-03", "doc_number": "某政〔2025〕3号"})


def test_any_langchain_retriever_can_be_the_source(pipeline):
    # our own retriever through the LangChain interface gives the same answer as the index
    chain = pipeline.as_runnable(retriever=pipeline.as_retriever())
    for q in QUESTIONS[:3]:
        assert same(chain.invoke(q), pipeline.ask(q))
    # a foreign one: its documents are what the answer quotes and cites, with their own metadata
    foreign = answer_chain(pipeline, retriever=KeywordRetriever(docs=[MEMO]))
    a = foreign.invoke("试点县能得到多少补助？")
    assert not a.abstained and "50万元" in a.answer
    (c,) = a.citations
    assert c.doc == "county-memo.txt" and c.issuer == "某县人民政府" and c.date == "2025-03"
    assert c.memo.startswith("《某县关于支持试点县建设的通知》（某政〔2025〕3号）")
    assert [sc.ranks for sc in a.retrieved] == [{"KeywordRetriever": 1}]
    with pytest.raises(InputError, match="must be a LangChain BaseRetriever"):
        answer_chain(pipeline, retriever=pipeline.search)


# --------------------------------------------------------------------------- LLM mode, against the fake server
@pytest.fixture(scope="module")
def llm_pipeline(tiny, server):
    return Pipeline(tiny.with_(answer_mode="llm", llm_base_url=server.base_url, llm_model="fake-qwen",
                               llm_api_key="test-key", llm_timeout=5.0, llm_rewrite=False))


def reply_for(p: Pipeline, q: str) -> str:
    """What a good model would write: the first sentence of the top passage, cited [1]."""
    top = p.search(q)[0].chunk.text
    first = next(s.text for s in split_sentences(top) if len(s.text) >= 8).strip().rstrip("。；;，,")
    return f"{first}[1]。"


def test_llm_invoke_is_pipeline_ask(llm_pipeline, server):
    chain = llm_pipeline.as_runnable()
    for q in QUESTIONS:
        server.reply = FakeOpenAI.text(reply_for(llm_pipeline, q))
        expected = llm_pipeline.ask(q)
        got = chain.invoke({"question": q})
        assert expected.mode == "llm" and not expected.abstained and expected.notices == ()
        assert same(got, expected)
    assert all(r["body"]["stream"] for r in server.requests[-2:])


def test_llm_stream_yields_the_model_tokens(llm_pipeline, server):
    q = QUESTIONS[1]
    reply = reply_for(llm_pipeline, q)
    server.reply = FakeOpenAI.text(reply)
    events = []

    class Tap(BaseCallbackHandler):
        def on_chain_end(self, outputs, **kw):
            events.append(outputs)

    items = list(llm_pipeline.as_runnable().stream(q, config={"callbacks": [Tap()]}))
    deltas, final = items[:-1], items[-1]
    assert len(deltas) > 3 and all(isinstance(d, str) for d in deltas) and "".join(deltas) == reply
    assert len(deltas) == len(range(0, len(reply), 6))  # the fake server's 6-character SSE pieces, one by one
    assert isinstance(final, Answer) and final.mode == "llm" and not final.abstained and final.notices == ()
    assert same(final, llm_pipeline.ask(q)) and events[-1] is final  # callbacks see the Answer as the output


def test_llm_astream_and_ainvoke(llm_pipeline, server):
    q = QUESTIONS[0]
    reply = reply_for(llm_pipeline, q)
    server.reply = FakeOpenAI.text(reply)
    chain = llm_pipeline.as_runnable()

    async def run():
        items = [i async for i in chain.astream(q)]
        return items, await chain.ainvoke(q)

    items, answer = asyncio.run(run())
    assert "".join(items[:-1]) == reply and len(items) - 1 == len(range(0, len(reply), 6)) > 1
    assert same(items[-1], answer) and same(answer, llm_pipeline.ask(q))


def test_llm_mode_with_a_foreign_retriever_and_the_rewrite(llm_pipeline, server):
    chain = answer_chain(Pipeline(llm_pipeline.settings.with_(llm_rewrite=True)),
                         retriever=KeywordRetriever(docs=[MEMO]))
    rewrite = '{"query": "试点县 一次性补助 金额", "parts": []}'
    server.reply = FakeOpenAI.sequence(FakeOpenAI.text(rewrite), FakeOpenAI.text("县财政给予一次性补助50万元[1]。"))
    items = list(chain.stream("试点县有多少补助？"))
    a = items[-1]
    assert "".join(items[:-1]) == "县财政给予一次性补助50万元[1]。"
    assert a.mode == "llm" and a.query.startswith("试点县 一次性补助 金额") and a.citations[0].doc == "county-memo.txt"
    assert a.citations[0].memo.startswith("《某县关于支持试点县建设的通知》（某政〔2025〕3号）")
