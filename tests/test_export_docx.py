"""Word export: A4 with official margins, real document properties, the conversation's date, 仿宋 body and
黑体 headings set as East-Asian fonts (no theme font overriding them), and a PAGE field in the footer."""

from __future__ import annotations

from datetime import datetime

from docx import Document
from docx.oxml.ns import qn

from rag.export import write_docx
from rag.types import Answer, AnswerSentence, Citation

CITATION = Citation(n=1, chunk_id="plan:p0001", doc="plan", title="福建省“十四五”制造业高质量发展专项规划", issuer="福建省人民政府",
                    date="2021-06-29", heading_path=("第二章",), quote="加快发展先进制造业。", text="总体上，加快发展先进制造业。",
                    memo="《福建省“十四五”制造业高质量发展专项规划》（闽政〔2021〕12号）“第二章”：“加快发展先进制造业。”")
ANSWER = Answer(question="试点县能得到哪些支持？", answer="加快发展先进制造业。[1]", abstained=False, mode="extractive",
                sentences=(AnswerSentence("加快发展先进制造业。", (1,), True),), citations=(CITATION,))


def test_docx_is_a4_titled_dated_with_official_fonts_and_page_numbers(tmp_path):
    when = datetime(2025, 1, 2, 9, 30)
    doc = Document(str(write_docx([ANSWER, ANSWER], tmp_path / "x.docx", when=when)))
    s = doc.sections[0]
    assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)
    assert [round(m.mm) for m in (s.top_margin, s.bottom_margin, s.left_margin, s.right_margin)] == [37, 35, 28, 26]
    props = doc.core_properties
    assert props.title == "政策问答记录（2025年1月2日）" and props.author == "政策问答助手"
    assert "python-docx" not in (props.author + props.comments + props.last_modified_by)
    assert props.subject == "试点县能得到哪些支持？"
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "政策问答记录" and "对话日期：2025年1月2日" in texts
    assert "[1] 《福建省“十四五”制造业高质量发展专项规划》（闽政〔2021〕12号）“第二章”：“加快发展先进制造业。”" in texts
    for style, font in (("Normal", "仿宋"), ("Title", "黑体"), ("Heading 1", "黑体"), ("Heading 2", "黑体")):
        rfonts = doc.styles[style].element.rPr.rFonts
        assert rfonts.get(qn("w:eastAsia")) == font, style
        assert rfonts.get(qn("w:eastAsiaTheme")) is None and rfonts.get(qn("w:asciiTheme")) is None
    footer = s.footer.paragraphs[0]
    assert footer.text.startswith("— ") and footer.text.endswith(" —")
    instr = [el.text for el in footer._p.iter(qn("w:instrText"))]
    assert instr == [" PAGE "]
    assert [el.get(qn("w:fldCharType")) for el in footer._p.iter(qn("w:fldChar"))] == ["begin", "separate", "end"]


def test_docx_date_defaults_to_today(tmp_path):
    doc = Document(str(write_docx([ANSWER], tmp_path / "x.docx")))
    now = datetime.now()
    assert f"对话日期：{now.year}年{now.month}月{now.day}日" in [p.text for p in doc.paragraphs]
