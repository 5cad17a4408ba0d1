"""Word (.docx) export of a chat session: its answers, citations and sources, laid out like an official
document (GB/T 9704): A4 with 37/35/28/26 mm margins, 仿宋 body, 黑体 headings, the page number
centred in the footer as ``— 1 —``; the file's own properties carry a real title, the date of the
conversation and 政策问答助手 as author.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ..types import Answer
from .text import EXPORT_TITLE, answer_lines, citation_location, export_note

BODY_FONT = "仿宋"  # East Asian body font (FangSong; Windows, WPS and macOS Office map it)
HEADING_FONT = "黑体"  # East Asian heading font (SimHei)
LATIN_FONT = "Times New Roman"
AUTHOR = "政策问答助手"
# (style, size in pt): 四号 body, 二号 title, 三号 / 小三 headings
SIZES = {"Normal": 14, "Title": 22, "Heading 1": 16, "Heading 2": 15}
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}


def conversation_date(when: datetime) -> str:
    """``2025年1月2日``."""
    return f"{when.year}年{when.month}月{when.day}日"


def _fonts(style, east_asian: str) -> None:
    """Set a style's Latin and East-Asian fonts explicitly; theme fonts (which would win) are removed."""
    from docx.oxml.ns import qn

    rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    style.font.name = LATIN_FONT  # w:ascii and w:hAnsi
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:cs"), LATIN_FONT)


def _page_number(paragraph) -> None:
    """``— PAGE —`` with PAGE as a Word field, so every page shows its own number."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph.add_run("— ")
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)
    paragraph.add_run(" —")


def _setup(doc, answers: Sequence[Answer], when: datetime) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    for section in doc.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
        section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _page_number(footer)
    for name, size in SIZES.items():
        style = doc.styles[name]
        _fonts(style, BODY_FONT if name == "Normal" else HEADING_FONT)
        style.font.size = Pt(size)
        if name != "Normal":
            style.font.color.rgb = RGBColor(0, 0, 0)
            style.font.bold = name != "Title"
    doc.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    props = doc.core_properties
    first = answers[0].question.strip() if answers else ""
    props.title = f"{EXPORT_TITLE}（{conversation_date(when)}）"
    props.subject = first[:100]
    props.author = props.last_modified_by = AUTHOR
    props.comments = f"{len(answers)} 个问题及其回答和来源，由{AUTHOR}导出"
    props.keywords = "政策问答；引文"
    props.category = EXPORT_TITLE
    utc = when.astimezone(UTC).replace(tzinfo=None, microsecond=0)  # the file stores UTC
    props.created = props.modified = utc
    props.revision = 1


def write_docx(answers: Sequence[Answer], path: Path, when: datetime | None = None) -> Path:
    """Write a .docx: title, the conversation's date, then per question the answer with [n] and its numbered sources.

    ``when`` is when the conversation took place (its first question; default: now). Each source gives
    the memo-ready citation, where it sits in its document and the full paragraph, with the supporting
    quote highlighted.
    """
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX
    from docx.shared import Pt, RGBColor

    when = when or datetime.now()
    doc = Document()
    _setup(doc, answers, when)
    doc.add_heading(EXPORT_TITLE, level=0)
    doc.add_paragraph(f"对话日期：{conversation_date(when)}")
    doc.add_paragraph(export_note(answers))
    for i, a in enumerate(answers, 1):
        doc.add_heading(f"问题 {i}：{a.question.strip()}", level=1)
        for line in answer_lines(a):
            if line.strip():
                doc.add_paragraph(line.strip())
        for n in a.notices:
            run = doc.add_paragraph().add_run(f"注意：{n}")
            run.italic = True
            run.font.color.rgb = RGBColor(0x92, 0x40, 0x0E)
        if not a.citations:
            continue
        doc.add_heading("最接近的段落（仅供参考，不是答案的出处）" if a.abstained else "来源", level=2)
        for c in a.citations:
            doc.add_paragraph(f"[{c.n}] {c.memo}")
            where = doc.add_paragraph(f"位置：{citation_location(c)}")
            where.paragraph_format.left_indent = Pt(18)
            para = doc.add_paragraph()
            para.paragraph_format.left_indent = Pt(18)
            para.add_run("原段落：").bold = True
            spans = [] if a.abstained else list(c.spans)
            if not spans and c.quote and not a.abstained and (at := c.text.find(c.quote)) >= 0:
                spans = [(at, at + len(c.quote))]
            pos = 0
            for start, end in sorted(spans):  # exactly the cited sentences are marked
                if start < pos:
                    continue
                para.add_run(c.text[pos:start])
                para.add_run(c.text[start:end]).font.highlight_color = WD_COLOR_INDEX.YELLOW
                pos = end
            para.add_run(c.text[pos:])
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path

