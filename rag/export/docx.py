"""Word (.docx) export of a chat session: its answers, citations and sources."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..types import Answer
from .text import EXPORT_TITLE, answer_lines, citation_location, export_note


def write_docx(answers: Sequence[Answer], path: Path) -> Path:
    """Write a .docx: title, then per question the answer with [n] and its numbered sources.

    Each source gives the memo-ready citation, where it sits in its document and the full
    paragraph, with the supporting quote highlighted.
    """
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(11)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    doc.add_heading(EXPORT_TITLE, level=0)
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
            at = c.text.find(c.quote) if c.quote and not a.abstained else -1
            if at < 0:
                para.add_run(c.text)
            else:
                para.add_run(c.text[:at])
                para.add_run(c.quote).font.highlight_color = WD_COLOR_INDEX.YELLOW
                para.add_run(c.text[at + len(c.quote):])
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
