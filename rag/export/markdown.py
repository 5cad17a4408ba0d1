"""Markdown export: one answer (question, answer, notices, sources with their full paragraphs) or a session.

Text from documents, questions and models is data: :func:`md_text` escapes it, so markup in a
document (``<img src=x onerror=alert(1)>``, ``[link](javascript:…)``, ``**``) shows as the text
it is in any Markdown viewer, and only this module's own structure (headings, lists, ``[n]``) is markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import Answer
from .text import EXPORT_TITLE, citation_location, export_note

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#!])")


def md_text(text: str) -> str:
    """``text`` as literal Markdown: HTML's & < > as entities, Markdown's punctuation backslash-escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _answer_lines(answer: Answer) -> list[str]:
    """The answer's lines (a paragraph each), sentence text escaped, the [n] / 〔未核实〕 markers as they are."""
    if not answer.sentences:
        return [md_text(line) for line in answer.answer.strip().split("\n")]
    lines: list[str] = []
    for group in answer.paragraphs():
        lines += "".join(md_text(s.shown) + s.marked[len(s.shown):] for s in group).split("\n")
    return lines


def answer_to_markdown(answer: Answer) -> str:
    """Markdown for export: question, answer (a paragraph per line), notices, and the sources with their full paragraphs."""
    out = [f"## {md_text(answer.question.strip())}", "", "\n\n".join(_answer_lines(answer)), ""]
    if answer.notices:
        out += [f"> 注意：{md_text(n)}" for n in answer.notices] + [""]
    if answer.citations:
        out += ["### 最接近的段落" if answer.abstained else "### 来源", ""]
        for c in answer.citations:
            out.append(f"{c.n}. {md_text(c.memo)}")
            out.append(f"   - 位置：{md_text(citation_location(c))}")
            out.append("   - 原段落：" + md_text(c.text.replace("\n", " ")))
        out.append("")
    return "\n".join(out)


def conversation_markdown(answers: Sequence[Answer]) -> str:
    """Every answer of the session, in order, as one Markdown document."""
    parts = [f"# {EXPORT_TITLE}", "", export_note(answers), ""]
    for a in answers:
        parts += [answer_to_markdown(a).rstrip(), ""]
    return "\n".join(parts)
