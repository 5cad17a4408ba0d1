"""The HTTP JSON API over real HTTP on 127.0.0.1, against a two-document corpus built here.

One document contains ``<script>alert(1)</script>``: the API returns it verbatim inside a JSON
string, and the UI renderer shows it escaped.
"""

from __future__ import annotations

import re

import httpx
import pytest

from rag.errors import InputError
from rag.pipeline import Pipeline, build_index
from rag.serve.app import build_app
from rag.serve.html import answer_html, error_text, sources_html
from rag.settings import MAX_QUESTION_CHARS, Settings, check_question_length

from .live_server import live_server

SCRIPT = "<script>alert(1)</script>"
CORPUS = {
    "pilot.txt": "试点县支持政策\n\n一、资金支持\n\n"
                 "省财政每年安排专项资金五千万元，支持试点县建设公共技术平台和产业园区，对新建中试平台按投资额给予百分之二十的补助。\n\n"
                 "二、人才支持\n\n"
                 "试点县引进的高层次人才团队，经认定后给予最高三百万元的项目资助，并优先安排人才公寓和子女入学。\n",
    "script-note.txt": "网页安全说明\n\n三、注意事项\n\n"
                       f"系统日志中出现的 {SCRIPT} 字样属于恶意脚本示例，工作人员应当作为普通文本记录并上报信息中心处理。\n",
}
ASK_KEYS = {"id", "question", "answer", "abstained", "mode", "sentences", "citations", "retrieved", "notices",
            "timings_ms"}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    root = tmp_path_factory.mktemp("api")
    (root / "corpus").mkdir()
    for name, text in CORPUS.items():
        (root / "corpus" / name).write_text(text, encoding="utf-8")
    settings = Settings.load(overrides={"corpus_dir": root / "corpus", "index_dir": root / "index",
                                        "data_dir": root / "data"}, env={})
    build_index(settings)
    return Pipeline(settings)


@pytest.fixture(scope="module")
def url(pipeline):
    with live_server(build_app(pipeline)) as base:
        yield base


def post(url: str, path: str, body=None, **kw) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=30, **kw) if "content" not in kw else \
        httpx.post(url + path, timeout=30, **kw)


def test_health_lists_documents_and_index_state(url):
    r = httpx.get(url + "/api/health", timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["index"]["state"] == "fresh"
    assert body["index"]["documents"] == 2
    assert sorted(d["doc_id"] for d in body["documents"]) == ["pilot", "script-note"]
    assert body["answer_modes"] == {"default": "extractive", "llm_configured": False}


def test_ask_returns_a_batch_line(url, pipeline):
    r = post(url, "/api/ask", {"question": "新建中试平台能拿多少补助？", "id": "q1"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == ASK_KEYS
    assert body["id"] == "q1"
    assert not body["abstained"]
    assert body["citations"][0]["chunk_id"] == "pilot:p0003"
    assert "百分之二十" in body["answer"] and "[1]" in body["answer"]
    # the same object as `rag ask --batch` (Answer.to_dict() plus id), timings aside
    expected = pipeline.ask("新建中试平台能拿多少补助？").to_dict()
    expected["id"] = "q1"
    assert {k: v for k, v in body.items() if k != "timings_ms"} == {k: v for k, v in expected.items() if k != "timings_ms"}


def test_ask_restricted_to_documents(url):
    r = post(url, "/api/ask", {"question": "新建中试平台能拿多少补助？", "docs": ["script-note"]})
    assert r.status_code == 200
    assert all(c["doc"] == "script-note" for c in r.json()["citations"])


def test_script_in_a_document_is_data_in_json_and_text_in_html(url, pipeline):
    body = post(url, "/api/ask", {"question": "恶意脚本示例应当怎么处理？"}).json()
    assert body["citations"][0]["doc"] == "script-note"
    assert SCRIPT in body["citations"][0]["text"]  # raw inside a JSON string: the client decides how to show it
    answer = pipeline.ask("恶意脚本示例应当怎么处理？")
    for html in (sources_html(answer, 1), answer_html(answer, 1)):
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_search_returns_a_batch_line(url):
    r = post(url, "/api/search", {"question": "人才团队资助", "k": 2, "id": 7})
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "7" and body["question"] == "人才团队资助"
    assert len(body["results"]) <= 2
    top = body["results"][0]
    assert top["id"] == "pilot:p0005"
    assert set(top) == {"id", "doc", "title", "heading_path", "kind", "text", "score", "ranks"}
    assert "id" not in post(url, "/api/search", {"question": "人才团队资助"}).json()


CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("path", "body", "status", "field", "says"), [
    ("/api/ask", {}, 422, "question", "缺少问题（question）"),
    ("/api/ask", {"question": ""}, 422, "question", "问题为空"),
    ("/api/ask", {"question": "   "}, 422, "question", "问题为空"),
    ("/api/ask", {"question": 3}, 422, "question", "\"question\" must be a string"),
    ("/api/ask", {"question": "？？？"}, 422, "question", "问题只包含标点或符号"),
    ("/api/ask", {"question": "😀👍🎉"}, 422, "question", "问题只包含标点或符号"),
    ("/api/ask", {"question": "长" * (MAX_QUESTION_CHARS + 1)}, 422, "question",
     f"问题过长（{MAX_QUESTION_CHARS + 1} 个字符，最多 {MAX_QUESTION_CHARS} 个），请精简后再问 / "),
    ("/api/ask", {"question": "补助", "mode": "magic"}, 422, "mode", "回答方式无效 / \"mode\" must be one of extractive, llm"),
    ("/api/ask", {"question": "补助", "mode": "llm"}, 400, "mode", "RAG_LLM_BASE_URL"),
    ("/api/ask", {"question": "补助", "docs": "pilot"}, 422, "docs", "检索范围（docs）必须是文件编号列表"),
    ("/api/ask", {"question": "补助", "docs": ["nope"]}, 422, "docs", "valid ids: pilot, script-note"),
    ("/api/ask", {"question": "补助", "query": "x", "top": 1}, 422, "query", "未知字段 query, top，可用字段：question, mode, docs, id"),
    ("/api/ask", {"question": "补助", "id": [1]}, 422, "id", "请求编号（id）必须是字符串或整数"),
    ("/api/ask", {"question": "补助", "id": True}, 422, "id", "请求编号（id）"),
    ("/api/ask", [1, 2], 400, None, "请求体必须是 JSON 对象"),
    ("/api/search", {"question": "补助", "k": 0}, 422, "k", "1 to 200"),
    ("/api/search", {"question": "补助", "k": "5"}, 422, "k", "integer"),
    ("/api/search", {"question": "补助", "k": True}, 422, "k", "integer"),
    ("/api/search", {"question": "😀"}, 422, "question", "问题只包含标点或符号"),
    ("/api/search", {"question": "补助", "mode": "llm"}, 422, "mode", "未知字段 mode"),
])
def test_malformed_requests_get_a_clear_4xx_in_our_shape(url, path, body, status, field, says):
    r = post(url, path, body)
    assert r.status_code == status, r.text
    err = r.json()
    assert says in err["error"], err
    assert err.get("field") == field
    assert set(err) <= {"error", "field"} and CHINESE.search(err["error"].split(" / ")[0])


def test_empty_and_emoji_only_questions_are_refused_alike(url):
    """Same status and field for both, each a Chinese message about 问题 (the field question)."""
    replies = [post(url, "/api/ask", {"question": q}) for q in ("", "😀😀", "👍")]
    assert {r.status_code for r in replies} == {422}
    for r in replies:
        chinese = r.json()["error"].split(" / ")[0]
        assert r.json()["field"] == "question" and chinese.startswith("问题") and CHINESE.search(chinese)


def test_over_long_question_message_is_the_pages(url):
    """One limit and one wording: the API's Chinese half is what the chat page shows (html.error_text)."""
    q = "长" * (MAX_QUESTION_CHARS + 1)
    r = post(url, "/api/ask", {"question": q})
    with pytest.raises(InputError) as page:
        check_question_length(q)
    assert r.status_code == 422 and r.json()["error"] == str(page.value)
    assert r.json()["error"].split(" / ")[0] == error_text(page.value)
    assert post(url, "/api/search", {"question": q}).json()["error"] == str(page.value)
    assert post(url, "/api/ask", {"question": "长" * MAX_QUESTION_CHARS}).status_code == 200


def test_body_that_is_not_json(url):
    r = post(url, "/api/ask", content=b"question=hi", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["error"] and "请求体" in r.json()["error"]
    empty = post(url, "/api/ask", content=b"")
    assert empty.status_code == 422 and empty.json()["field"] == "question"


def test_json_is_read_whatever_the_content_type(url):
    """``curl -d '{...}'`` sends application/x-www-form-urlencoded: still JSON to us."""
    body = '{"question": "人才团队资助", "k": 1}'.encode()
    r = post(url, "/api/search", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and len(r.json()["results"]) == 1


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/api/ask", "POST"), ("PUT", "/api/ask", "POST"), ("DELETE", "/api/search", "POST"),
    ("GET", "/api/search/", "POST"), ("POST", "/api/health", "GET"),
])
def test_wrong_method_is_405_in_our_shape(url, method, path, allow):
    r = httpx.request(method, url + path, timeout=30)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allow
    err = r.json()
    assert set(err) == {"error"} and f"请用 {allow}" in err["error"] and method in err["error"]


@pytest.mark.parametrize("path", ["/api/x", "/api/ask/more", "/api", "/api/", "/api/docs/nope.js"])
def test_unknown_api_path_is_404_in_our_shape(url, path):
    for method in ("GET", "POST"):
        r = httpx.request(method, url + path, timeout=30)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json"), (method, r.text)
        assert set(r.json()) == {"error"} and "没有这个" in r.json()["error"]


class BrokenPipeline(Pipeline):
    """A pipeline whose answering fails unexpectedly (a bug, not a user error)."""

    def ask(self, *args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")


def test_unexpected_error_is_a_generic_500(pipeline):
    with live_server(build_app(BrokenPipeline(pipeline.settings))) as base:
        r = post(base, "/api/ask", {"question": "补助"})
    assert r.status_code == 500
    assert "internal server error" in r.json()["error"]
    assert "secret" not in r.text and "Traceback" not in r.text


def test_auth_protects_api_and_ui(pipeline):
    with live_server(build_app(pipeline, auth=("staff", "s3cret"))) as base:
        anon = post(base, "/api/ask", {"question": "补助"})
        assert anon.status_code == 401
        assert anon.headers["www-authenticate"].startswith("Basic")
        assert post(base, "/api/ask", {"question": "补助"}, auth=("staff", "wrong")).status_code == 401
        assert httpx.get(base + "/api/health", timeout=30).status_code == 401
        ok = post(base, "/api/ask", {"question": "新建中试平台能拿多少补助？"}, auth=("staff", "s3cret"))
        assert ok.status_code == 200 and ok.json()["citations"]
        # the UI: its config (and so every component and event) needs a login
        assert httpx.get(base + "/config", timeout=30).status_code == 401
        login = httpx.post(base + "/login", data={"username": "staff", "password": "s3cret"}, timeout=30)
        assert login.status_code == 200
        assert httpx.get(base + "/config", cookies=login.cookies, timeout=30).status_code == 200


def test_ui_page_is_served(url):
    r = httpx.get(url + "/", timeout=30)
    assert r.status_code == 200
    assert "<title>政策问答助手</title>" in r.text or "政策问答助手" in r.text
