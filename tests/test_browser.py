"""End to end in real headless Chromium (Debian's package) against the app over the seed corpus.

Ask 试点县能得到哪些支持？, see the answer with [n] citations, open a source from its [1] and find the
highlighted quote, copy its memo citation and the answer, rate the answer, switch back to an earlier
answer's sources, export .docx and Markdown (opening the
.docx with python-docx), and check that HTML typed as a question stays text.

Skipped with a message when /usr/bin/chromium is missing (``apt-get install chromium``; .ci/run does it).
The screenshot goes to a temp dir; set RAG_UPDATE_SCREENSHOT=1 to refresh docs/screenshot-chat.png
(only on a machine with CJK fonts, e.g. ``apt-get install fonts-noto-cjk``, or the text shows as boxes).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from rag.eval.feedback import feedback_path
from rag.export import answer_to_text
from rag.pipeline import Pipeline
from rag.serve.app import build_app

from .live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot-chat.png"
QUESTION = "试点县能得到哪些支持？"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="browser test skipped: /usr/bin/chromium not found (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def app_url(seed_index, tmp_path_factory):
    settings = seed_index.with_(data_dir=tmp_path_factory.mktemp("browser-data"))
    pipeline = Pipeline(settings)
    with live_server(build_app(pipeline)) as url:
        yield url, pipeline


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser test skipped: playwright not installed")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1440, "height": 1000}, accept_downloads=True, locale="zh-CN",
        )
        context.set_default_timeout(30_000)
        yield context.new_page()
        context.close()


def ask(page, question: str) -> None:
    page.fill("#rag-question textarea", question)
    page.click("#rag-send")


def test_ask_read_sources_copy_rate_and_export(app_url, page, tmp_path):
    url, pipeline = app_url
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    load_s = time.perf_counter() - t0

    # ask: the answer arrives with [n] links
    t0 = time.perf_counter()
    ask(page, QUESTION)
    first_cite = page.locator("#rag-chat a.rag-cite").first
    first_cite.wait_for()
    answer_s = time.perf_counter() - t0
    print(f"\npage load {load_s:.2f}s, question to answer {answer_s:.2f}s")
    assert first_cite.inner_text() == "[1]"
    expected = pipeline.ask(QUESTION)
    assert not expected.abstained and expected.citations
    answer_text = page.locator("#rag-chat .rag-answer").first.inner_text()
    assert expected.sentences[0].text[:20] in answer_text

    # [1] opens source 1 in the panel: title, issuer, heading path, and the quote highlighted
    first_cite.click()
    source = page.locator("#src-1-1")
    mark = source.locator(".rag-para mark")
    mark.wait_for(state="visible")
    assert source.get_attribute("open") is not None
    c1 = expected.citations[0]
    assert mark.inner_text() == c1.quote
    summary = source.locator("summary").inner_text()
    assert c1.title in summary and c1.issuer in summary
    assert c1.heading_path[-1] in source.locator(".rag-path").inner_text()
    assert page.locator("#rag-sources details.rag-source").count() == len(expected.citations)

    shot = SCREENSHOT if os.environ.get("RAG_UPDATE_SCREENSHOT") else tmp_path / SCREENSHOT.name
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))

    # copy the memo citation
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    copy = source.locator("button.rag-copy")
    copy.click()
    page.wait_for_function("() => document.querySelector('#src-1-1 button.rag-copy').textContent === '已复制'")
    assert page.evaluate("() => navigator.clipboard.readText()") == c1.memo
    page.locator("#rag-sources .rag-sources-head button.rag-copy").click()  # the whole answer, as plain text
    page.wait_for_function("() => document.querySelector('#rag-sources .rag-sources-head button').textContent === '已复制'")
    assert page.evaluate("() => navigator.clipboard.readText()") == answer_to_text(expected)

    # the retrieval view: ranked passages with BM25 / dense / fused ranks; cited ones marked
    page.get_by_role("tab", name="检索过程").click()
    table = page.locator("#rag-retrieval table.rag-retrieval")
    table.wait_for()
    assert "BM25" in table.locator("thead").inner_text() and "融合分数" in table.locator("thead").inner_text()
    assert table.locator("tbody tr").count() == len(expected.retrieved)
    assert table.locator(".rag-used").first.inner_text() == "[1]"
    page.get_by_role("tab", name="来源").click()

    # feedback: thumbs up with a comment, appended to data/feedback.jsonl
    page.fill("#rag-comment textarea", "引用准确")
    page.click("#rag-up")
    page.locator("#rag-status").get_by_text("已记录").wait_for()
    record = json.loads(feedback_path(pipeline.settings).read_text(encoding="utf-8").splitlines()[-1])
    assert (record["question"], record["rating"], record["comment"]) == (QUESTION, "up", "引用准确")
    assert record["citations"][0]["chunk_id"] == c1.chunk_id

    # a second question whose text is HTML: shown as text, never run
    ask(page, "<img src=x onerror=\"window.__xss=1\">泉州对首次认定的单项冠军企业奖多少钱？")
    page.locator("#rag-chat .rag-answer").nth(1).wait_for()
    assert page.locator("#rag-chat .rag-q").nth(1).inner_text().startswith("<img src=x")
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("#rag-chat img[src='x']").count() == 0
    page.locator("#rag-sources .rag-sources-head", has_text="第 2 问").wait_for()

    # [1] of the first answer switches the sources panel back to it
    page.locator("#rag-chat a.rag-cite").first.click()
    page.locator("#rag-sources .rag-sources-head", has_text="第 1 问").wait_for()
    page.locator("#src-1-1[open] mark").wait_for(state="visible")

    # export the whole session as .docx and open it
    docx_path = download(page, "#rag-export-docx", tmp_path, ".docx")
    from docx import Document

    text = "\n".join(p.text for p in Document(str(docx_path)).paragraphs)
    assert "政策问答记录" in text
    assert f"问题 1：{QUESTION}" in text and "问题 2：" in text
    assert expected.sentences[0].text in text and "[1]" in text
    assert f"[1] {c1.memo}" in text

    md = download(page, "#rag-export-md", tmp_path, ".md").read_text(encoding="utf-8")
    assert f"## {QUESTION}" in md and c1.memo in md and md.count("\n## ") == 2


def download(page, button: str, tmp_path: Path, suffix: str) -> Path:
    """Click an export button, then the file link it produces; return the saved file."""
    page.click(button)
    link = page.locator(f"#rag-download a[href*='{suffix}']")
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    target = tmp_path / f"export{suffix}"
    shutil.copy(info.value.path(), target)
    assert info.value.suggested_filename.endswith(suffix)
    return target
