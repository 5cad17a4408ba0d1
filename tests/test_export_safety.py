"""Exports carry document markup as text: a hostile passage cannot inject HTML or links into Markdown."""

from __future__ import annotations

from markdown_it import MarkdownIt

from rag.answer.base import Draft, verify_draft
from rag.answer.verify import CitedSentence
from rag.export import answer_to_markdown, conversation_markdown
from rag.types import Chunk

from .answer_fixtures import DOCUMENTS, WP, scored

HOSTILE = "系统展示的图片 <img src=x onerror=alert(1)> 与链接 [点此](javascript:alert(2)) 以及 **粗体** 均为原文字符。"
CHUNK = Chunk(id="whitepaper-2024:p0500", doc_id=WP.doc_id, title=WP.title, heading_path=("<b>标题</b>",),
              kind="text", start=0, end=0, text=HOSTILE)


def hostile_answer():
    draft = Draft("<script>alert(3)</script>图片说明是什么？", "extractive", [CitedSentence(HOSTILE, (1,))],
                  {1: CHUNK}, scored(CHUNK))
    return verify_draft(draft, DOCUMENTS)


def test_markdown_export_escapes_document_markup():
    answer = hostile_answer()
    assert answer.sentences[0].supported
    md = conversation_markdown([answer])
    html = MarkdownIt("commonmark").render(md)
    for bad in ("<img", "<script", "<b>", "href=\"javascript", "<strong>"):
        assert bad not in html, bad
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as the text it is
    assert "[点此](javascript:alert(2))" in html and "**粗体**" in html
    assert "[1]" in answer_to_markdown(answer)  # the export's own markers stay as they are
