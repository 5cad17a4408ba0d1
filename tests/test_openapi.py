"""The API's OpenAPI schema and docs pages (issue #11): /api/openapi.json (and /openapi.json) document
/api/* with our request, response and error models; /api/docs (Swagger UI) loads only from this
server (a real Chromium run blocks and records every other request); with --auth all of it needs the login.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rag.pipeline import Pipeline
from rag.serve.app import build_app
from rag.serve.docs import ASSET_FILES
from rag.serve.models import AskRequest, AskResponse, ErrorReply, SearchRequest

from .live_server import live_server
from .temp_corpus import build_temp_corpus

CORPUS = {"pilot.txt": "试点县支持政策\n\n一、资金支持\n\n"
                       "省财政每年安排专项资金五千万元，对新建中试平台按投资额给予百分之二十的补助。\n"}
AUTH = ("staff", "s3cret")
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    return Pipeline(build_temp_corpus(tmp_path_factory.mktemp("openapi"), CORPUS))


@pytest.fixture(scope="module")
def base(pipeline):
    with live_server(build_app(pipeline)) as url:
        yield url


@pytest.fixture(scope="module")
def schema(base) -> dict:
    r = httpx.get(base + "/api/openapi.json", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    return r.json()


def _ref(content: dict) -> str:
    return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


def test_schema_documents_the_api_routes_only(base, schema):
    assert schema["openapi"].startswith("3.") and schema["info"]["title"] == "政策问答助手"
    assert {p: sorted(ops) for p, ops in schema["paths"].items()} == \
        {"/api/ask": ["post"], "/api/search": ["post"], "/api/health": ["get"]}
    assert httpx.get(base + "/openapi.json", timeout=30).json() == schema  # the same document at the root


def test_request_bodies_are_the_pydantic_models(schema):
    for path, model in (("/api/ask", AskRequest), ("/api/search", SearchRequest)):
        body = schema["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        s = body["content"]["application/json"]["schema"]
        assert set(s["properties"]) == set(model.model_fields) and s["title"] == model.__name__
        assert s["required"] == ["question"] and s["additionalProperties"] is False
        assert s["properties"]["question"]["maxLength"] == 2000 and s["properties"]["question"]["minLength"] == 1
    ask = schema["paths"]["/api/ask"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert ask["properties"]["mode"]["anyOf"][0]["enum"] == ["extractive", "llm"]
    search = schema["paths"]["/api/search"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert search["properties"]["k"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 200}


def test_responses_and_errors_are_our_models(schema):
    ops = {"/api/ask": "AskResponse", "/api/search": "SearchResponse", "/api/health": "HealthResponse"}
    for path, name in ops.items():
        op = next(iter(schema["paths"][path].values()))
        assert _ref(op["responses"]["200"]["content"]) == name
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert errors and all(_ref(r["content"]) == "ErrorReply" for r in errors.values()), path
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # FastAPI's {"detail"} shape is not ours
    assert set(schema["components"]["schemas"]["ErrorReply"]["properties"]) == set(ErrorReply.model_fields)
    answer = schema["components"]["schemas"]["AskResponse"]
    assert set(answer["properties"]) == set(AskResponse.model_fields)
    assert {"answer", "sentences", "citations", "abstained", "notices"} <= set(answer["required"])


def test_a_real_answer_fits_the_documented_response(base):
    body = httpx.post(base + "/api/ask", json={"question": "新建中试平台能拿多少补助？"}, timeout=30).json()
    model = AskResponse.model_validate(body)
    assert model.model_dump(exclude_unset=True) == body  # nothing undocumented, nothing dropped


def test_docs_pages_reference_only_this_server(base):
    r = httpx.get(base + "/api/docs", timeout=30)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "http://" not in r.text and "https://" not in r.text and "//cdn" not in r.text
    assert "/api/openapi.json" in r.text
    for name in ASSET_FILES:
        assert f"/api/docs/{name}" in r.text
    for name, ctype in ASSET_FILES.items():
        r = httpx.get(base + f"/api/docs/{name}", timeout=30)
        assert r.status_code == 200 and r.headers["content-type"].startswith(ctype) and len(r.content) > 1000, name


def test_with_auth_schema_and_docs_need_the_login(pipeline):
    paths = ["/api/openapi.json", "/openapi.json", "/api/docs", "/api/docs/swagger-ui-bundle.js"]
    with live_server(build_app(pipeline, auth=AUTH)) as url:
        for path in paths:
            anon = httpx.get(url + path, timeout=30)
            assert anon.status_code == 401, path
            assert '"paths"' not in anon.text and "swagger" not in anon.text.lower(), path
            assert httpx.get(url + path, auth=AUTH, timeout=30).status_code == 200, path


@pytest.mark.browser
@pytest.mark.timeout(180)
@pytest.mark.skipif(not CHROMIUM.exists(), reason="browser test skipped: /usr/bin/chromium not found")
def test_docs_pages_render_in_chromium_without_the_network(base, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser test skipped: playwright not installed")
    outside: list[str] = []

    def only_local(route):
        url = route.request.url
        if url.startswith(base) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.route("**/*", only_local)
        page.goto(base + "/api/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        shown = page.locator(".opblock-summary-path").all_inner_texts()
        assert {"/api/ask", "/api/search", "/api/health"} <= {s.strip() for s in shown}
        page.click(".opblock-post .opblock-summary")  # open POST /api/ask: its body schema renders
        page.wait_for_selector(".opblock-body", timeout=30_000)
        assert "回答一个问题" in page.inner_text("body")  # the summaries (and descriptions) are ours
        page.click(".opblock-post button.execute")  # try it out with the documented example body
        status = page.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for(timeout=30_000)
        assert status.inner_text().strip() == "200"
        assert "citations" in page.locator(".live-responses-table tbody .response-col_description").first.inner_text()
        page.screenshot(path=str(tmp_path / "api-docs.png"))
        browser.close()
    assert outside == []
