"""End to end in real headless Chromium (Debian's package) against the app over the seed corpus.

Ask 试点县能得到哪些支持？, see the answer with [n] citations, open a source from its [1] and find the
highlighted quote, copy its memo citation and the answer, rate the answer, switch back to an earlier
answer's sources, export .docx and Markdown (opening the
.docx with python-docx), and check that HTML typed as a question stays text.

A second run over the seed corpus plus an unreadable file and an uncatalogued notice covers issue #11:
the skipped file and the metadata read from the notice on the page, a memo citation with its 文号, one
current rating per answer (and which answer it is), the question length limit with the API's message,
no English on the page, and an A4 Word export with official fonts and page numbers.

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
    mark.first.wait_for(state="visible")
    assert source.get_attribute("open") is not None
    c1 = expected.citations[0]
    assert mark.all_inner_texts() == c1.quote.split("……")  # exactly the cited sentences are marked
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
    page.locator("#rag-status").get_by_text("已将第 1 问的回答评为").wait_for()
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
    page.locator("#src-1-1[open] mark").first.wait_for(state="visible")

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


NOTICE = """闽工信〔2023〕7 号

福建省工业和信息化厅关于印发
制造业数字化转型若干措施的通知

各设区市工信局：

现将《若干措施》印发给你们，请认真贯彻执行。

一、总体要求

加快推进制造业数字化转型，支持企业建设智能工厂和数字化车间。

福建省工业和信息化厅
2023年3月15日
"""
PLAN_QUESTION = "福建省“十四五”制造业规划提出到2025年制造业增加值占比目标是多少？"
# Latin words that may appear on the Chinese page: names of methods, formats and settings, commands.
LATIN_ALLOWED = {"BM", "LLM", "RRF", "Markdown", "Word", "docx", "RAG", "BASE", "URL", "MODEL", "rag", "build",
                 "catalog", "toml"}


# The page's own visible text: every rendered text node except what comes from the documents and the user
# (answer sentences, paragraphs, memo lines, titles, heading paths, questions, passages), which may be in any language.
VISIBLE_UI_TEXT = """() => {
  const prose = '.rag-text-body, .rag-para, .rag-memo-text, .rag-title, .rag-path, .rag-q, .rag-sources-head span, '
    + 'table.rag-retrieval td:last-child, .rag-id, .rag-banner.rag-abstain, textarea';
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const el = walk.currentNode.parentElement;
    if (!el || el.closest('script, style') || el.closest(prose) || !el.checkVisibility()) continue;
    out.push(walk.currentNode.textContent);
  }
  return out.join(' ');
}"""


@pytest.fixture(scope="module")
def daily_app(tmp_path_factory, corpus_dir):
    """The app over the seed corpus plus an empty file (skipped) and a notice without a catalog entry."""
    from rag.pipeline import build_index
    from rag.settings import Settings

    root = tmp_path_factory.mktemp("daily")
    corpus = root / "corpus"
    shutil.copytree(corpus_dir, corpus)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "new-notice.txt").write_text(NOTICE, encoding="gb18030")
    settings = Settings.load(overrides={"corpus_dir": corpus, "index_dir": root / "index", "data_dir": root / "data"}, env={})
    report = build_index(settings)
    assert [s["file"] for s in report.skipped] == ["empty.txt"]
    pipeline = Pipeline(settings)
    with live_server(build_app(pipeline)) as url:
        yield url, pipeline


def _latin_words(text: str, pipeline) -> set[str]:
    import re

    for d in pipeline.documents.values():  # document ids and file names are identifiers, not English prose
        text = text.replace(d.path, " ").replace(d.doc_id, " ")
    text = re.sub(r"[\w-]+:p\d{4}(-\d+)?|\S+\.(txt|pdf|docx|md|html)", " ", text)
    return set(re.findall(r"[A-Za-z]{2,}", text)) - LATIN_ALLOWED


def test_daily_use_memo_number_rating_limit_chinese_only_and_a4_export(daily_app, page, tmp_path):
    url, pipeline = daily_app
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")

    # the skipped file and what was read from the uncatalogued notice are on the page, in Chinese
    notice = page.locator("#rag-corpus-notice")
    assert "有 1 个文件未能收录：empty.txt（文件为空）" in notice.inner_text()
    notice.locator("summary").click()
    assert "new-notice.txt：标题：福建省工业和信息化厅关于印发制造业数字化转型若干措施的通知" in notice.inner_text()
    assert "文号：闽工信〔2023〕7号" in notice.inner_text()

    # a memo citation of the numbered plan: 《标题》（文号）, and that is what the copy button copies
    ask(page, PLAN_QUESTION)
    page.locator("#rag-chat .rag-answer a.rag-cite").first.wait_for()
    expected = pipeline.ask(PLAN_QUESTION)
    plan = next(c for c in expected.citations if c.doc == "manufacturing-plan-14th")
    assert plan.memo.startswith("《福建省“十四五”制造业高质量发展专项规划》（闽政〔2021〕12号）“")
    source = page.locator(f"#src-1-{plan.n}")
    if source.get_attribute("open") is None:
        source.locator("summary").click()
    assert source.locator(".rag-memo-text").inner_text() == plan.memo
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    source.locator("button.rag-copy").click()
    page.wait_for_function(f"() => document.querySelector('#src-1-{plan.n} button.rag-copy').textContent === '已复制'")
    assert page.evaluate("() => navigator.clipboard.readText()") == plan.memo

    # one current, changeable rating per answer, shown on the answer it is about
    target = page.locator("#rag-rate-target")
    assert "评价第 1 问「" in target.inner_text() and "尚未评价" in target.inner_text()
    assert page.locator("#rag-up").inner_text() == "有用" and page.locator("#rag-down").inner_text() == "没用"
    status = page.locator("#rag-status")
    page.click("#rag-up")
    status.get_by_text("已将第 1 问的回答评为“有用”").wait_for()
    page.click("#rag-up")
    status.get_by_text("第 1 问已评为“有用”，未重复记录").wait_for()
    page.click("#rag-down")
    status.get_by_text("（原为“有用”）").wait_for()
    first_foot = page.locator("#rag-chat .rag-answer .rag-foot").first
    assert "您的评价：没用" in first_foot.inner_text() and "有用" not in first_foot.inner_text()
    assert "当前评价：没用（可改）" in target.inner_text()
    lines = [json.loads(x) for x in feedback_path(pipeline.settings).read_text(encoding="utf-8").splitlines()]
    assert [(r["rating"], r.get("replaces")) for r in lines] == [("up", None), ("down", "up")]
    assert lines[0]["answer_id"] == lines[1]["answer_id"] and lines[1]["question"] == PLAN_QUESTION
    # a second answer: the buttons now rate it, and the first keeps its rating
    ask(page, QUESTION)
    page.locator("#rag-chat .rag-answer").nth(1).locator("a.rag-cite").first.wait_for()
    page.locator("#rag-rate-target", has_text="评价第 2 问").wait_for()
    page.click("#rag-up")
    status.get_by_text("已将第 2 问的回答评为“有用”").wait_for()
    assert "您的评价：有用" in page.locator("#rag-chat .rag-answer .rag-foot").nth(1).inner_text()
    assert "您的评价：没用" in first_foot.inner_text()

    # the question length limit: the API's limit and message, as a Chinese toast; nothing is echoed
    from rag.settings import MAX_QUESTION_CHARS

    page.fill("#rag-question textarea", "长" * (MAX_QUESTION_CHARS + 1))
    page.click("#rag-send")
    toast = page.locator("[data-testid='toast-body']").last
    toast.wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('.toast-title')].every(t => !/Warning/.test(t.textContent))")
    assert "提示" in toast.locator(".toast-title").inner_text()
    assert f"问题过长（{MAX_QUESTION_CHARS + 1} 个字符，最多 {MAX_QUESTION_CHARS} 个），请精简后再问" in toast.inner_text()
    assert page.locator("#rag-chat .rag-q").count() == 2
    assert len(page.input_value("#rag-question textarea")) == MAX_QUESTION_CHARS + 1  # kept for shortening

    # no English on the page (the retrieval view included), toasts and all
    body = page.evaluate(VISIBLE_UI_TEXT)
    page.get_by_role("tab", name="检索过程").click()
    table = page.locator("#rag-retrieval table.rag-retrieval")
    table.wait_for()
    heads = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert not any("向量" in h for h in heads)  # dense retrieval is off: no empty 向量 column
    for th in table.locator("thead th").all():  # every header on one line, never one character per line
        box = th.bounding_box()
        assert box and box["height"] < 2 * 24 and box["width"] > box["height"], th.inner_text()
    body += page.evaluate(VISIBLE_UI_TEXT)
    assert _latin_words(body, pipeline) == set()
    page.get_by_role("tab", name="来源").click()

    # the Word export: A4, a real title and the conversation's date, 仿宋 / 黑体, page numbers
    from datetime import date

    from docx import Document
    from docx.oxml.ns import qn

    doc = Document(str(download(page, "#rag-export-docx", tmp_path, ".docx")))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    today = date.today()
    day = f"{today.year}年{today.month}月{today.day}日"
    assert doc.core_properties.title == f"政策问答记录（{day}）" and doc.core_properties.author == "政策问答助手"
    texts = [p.text for p in doc.paragraphs]
    assert f"对话日期：{day}" in texts and f"[{plan.n}] {plan.memo}" in texts
    assert doc.styles["Normal"].element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"
    assert doc.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert [el.text for el in section.footer.paragraphs[0]._p.iter(qn("w:instrText"))] == [" PAGE "]
    if os.environ.get("RAG_UPDATE_SCREENSHOT"):
        page.screenshot(path=str(tmp_path / "daily.png"))
