"""The server under faults (loopback only): auth leaves nothing but the login page, LLM questions
against a hanging endpoint never delay extractive answers, and Gradio's queue is set as the README says.
"""

from __future__ import annotations

import re
import statistics
import threading
import time

import gradio as gr
import httpx
import pytest
from starlette.routing import Mount

from rag.pipeline import Pipeline
from rag.serve import app as serve_app
from rag.serve.app import build_app
from rag.settings import Settings

from .fake_openai import FakeOpenAI
from .live_server import live_server
from .temp_corpus import build_temp_corpus

CORPUS = {
    "pilot.txt": "试点县支持政策\n\n一、资金支持\n\n"
                 "省财政每年安排专项资金五千万元，支持试点县建设公共技术平台和产业园区，对新建中试平台按投资额给予百分之二十的补助。\n\n"
                 "二、人才支持\n\n"
                 "试点县引进的高层次人才团队，经认定后给予最高三百万元的项目资助，并优先安排人才公寓和子女入学。\n",
}
AUTH = ("staff", "s3cret")


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    s = build_temp_corpus(tmp_path_factory.mktemp("serve-rel"), CORPUS)
    return s


def routes(app, prefix=""):
    """(method, path) of every route of the app, mounted sub-apps included; path parameters filled in."""
    out = []
    for r in app.routes:
        if isinstance(r, Mount):
            out += routes(r.app, prefix + r.path)
            continue
        if hasattr(r, "original_router"):  # FastAPI's included router: its routes under its prefix
            out += routes(r.original_router, prefix + r.include_context.prefix)
            continue
        path = re.sub(r"\{[^}]+\}", "x", prefix + getattr(r, "path", ""))
        for m in sorted(getattr(r, "methods", None) or {"GET"}):
            out.append((m, path or "/"))
    return sorted(set(out))


def test_with_auth_an_unauthenticated_crawl_finds_only_the_login_page(settings):
    app = build_app(Pipeline(settings), auth=AUTH)
    crawl = routes(app)
    assert len(crawl) > 50 and ("POST", "/gradio_api/reset") in crawl and ("POST", "/gradio_api/cancel") in crawl
    extra = [("GET", "/openapi.json"), ("GET", "/gradio_api/openapi.json"), ("GET", "/gradio_api/info"),
             ("GET", "/config"), ("GET", "/docs"), ("GET", "/gradio_api/queue/data"), ("GET", "/theme.css"),
             ("GET", "/?view=api"), ("HEAD", "/")]
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as anon:
        for method, path in crawl + extra:
            r = anon.request(method, path, json={} if method == "POST" else None)
            body = r.text
            where = f"{method} {path} -> {r.status_code}"
            assert "gradio_api_info" not in body and "gradio_config" not in body, where
            assert "pilot" not in body and "/api/ask" not in body and '"paths"' not in body, where
            if (method, path) in (("POST", "/login"), ("POST", "/login/")):
                assert r.status_code in (400, 422), where  # Gradio's login refusing empty credentials
            elif method in ("GET", "HEAD") and path.split("?")[0] == "/":
                assert r.status_code == 200 and (method == "HEAD" or "请登录" in body), where
            else:
                assert r.status_code == 401, where
        # the login page's form logs in through Gradio's /login; the cookie then opens the UI
        login = anon.post("/login", data={"username": AUTH[0], "password": AUTH[1]})
        assert login.status_code == 200
        page = anon.get("/")
        assert "window.gradio_api_info" in page.text and anon.get("/config").status_code == 200
        assert anon.post("/login", data={"username": AUTH[0], "password": "wrong"}).status_code == 400
    with live_server(app) as base:
        assert httpx.get(base + "/api/health", auth=AUTH, timeout=30).status_code == 200
        assert httpx.get(base + "/api/health", auth=("staff", "wrong"), timeout=30).status_code == 401
        assert httpx.get(base + "/", headers={"Cookie": "access-token-unsecure-x=forged"}, timeout=30).text.count(
            "gradio_api_info") == 0


def test_gradio_queue_is_configured_deliberately(settings):
    app = build_app(Pipeline(settings))
    blocks = next(r.app for r in app.routes if isinstance(r, Mount)).get_blocks()
    assert isinstance(blocks, gr.Blocks) and blocks.max_threads == serve_app.UI_THREADS
    asks = [fn for fn in blocks.fns.values() if getattr(fn.fn, "__name__", "") == serve_app.ASK_EVENT]
    assert len(asks) >= 2  # the send button and Enter in the question box
    assert all(fn.concurrency_id == "ask" and fn.concurrency_limit == serve_app.UI_ASK_CONCURRENCY for fn in asks)
    assert blocks._queue.max_size == serve_app.UI_QUEUE_MAX
    assert blocks._queue.default_concurrency_limit == serve_app.UI_OTHER_CONCURRENCY


def test_llm_questions_against_a_hanging_endpoint_do_not_delay_extractive_ones(settings):
    fake = FakeOpenAI()
    fake.reply = FakeOpenAI.hang()
    timeout, n_llm = 2.0, 16
    pipeline = Pipeline(settings.with_(llm_base_url=fake.base_url, llm_model="fake", llm_timeout=timeout))
    pipeline.ask("预热")
    llm_took: list[float] = []
    llm_modes: list[str] = []
    try:
        with live_server(build_app(pipeline)) as base:
            def llm_question():
                t0 = time.perf_counter()
                r = httpx.post(base + "/api/ask", json={"question": "试点县能得到哪些支持？", "mode": "llm"}, timeout=30)
                llm_took.append(time.perf_counter() - t0)
                llm_modes.append(r.json()["mode"])

            threads = [threading.Thread(target=llm_question) for _ in range(n_llm)]
            for t in threads:
                t.start()
            time.sleep(0.3)  # every LLM question is now waiting on the endpoint
            fast = []
            with httpx.Client(base_url=base, timeout=30) as c:
                for i in range(10):
                    t0 = time.perf_counter()
                    path, body = [("/api/ask", {"question": "新建中试平台能拿多少补助？"}),
                                  ("/api/search", {"question": "人才团队"}), ("/api/health", None)][i % 3]
                    r = c.get(path) if body is None else c.post(path, json=body)
                    assert r.status_code == 200
                    fast.append(time.perf_counter() - t0)
            for t in threads:
                t.join(15)
    finally:
        fake.close()
    assert len(llm_took) == n_llm and set(llm_modes) == {"extractive"}
    assert max(llm_took) < timeout + 1.0, llm_took
    # none waited behind the LLM questions (that would be >= the 2 s timeout); a burst of CPU work may cost one
    assert sorted(fast)[8] < 1.0 and max(fast) < 1.5 and statistics.median(fast) < 0.3, fast
