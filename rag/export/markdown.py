"""Markdown export: one answer (question, answer, notices, sources with their full paragraphs) or a session."""

from __future__ import annotations

from collections.abc import Sequence

from ..types import Answer
from .text import EXPORT_TITLE, answer_lines, citation_location, export_note


def answer_to_markdown(answer: Answer) -> str:
    """Markdown for export: question, answer (a paragraph per line), notices, and the sources with their full paragraphs."""
    out = [f"## {answer.question.strip()}", "", "\n\n".join(answer_lines(answer)), ""]
    if answer.notices:
        out += [f"> 注意：{n}" for n in answer.notices] + [""]
    if answer.citations:
        out += ["### 最接近的段落" if answer.abstained else "### 来源", ""]
        for c in answer.citations:
            out.append(f"{c.n}. {c.memo}")
            out.append(f"   - 位置：{citation_location(c)}")
            out.append("   - 原段落：" + c.text.replace("\n", " "))
        out.append("")
    return "\n".join(out)


def conversation_markdown(answers: Sequence[Answer]) -> str:
    """Every answer of the session, in order, as one Markdown document."""
    parts = [f"# {EXPORT_TITLE}", "", export_note(answers), ""]
    for a in answers:
        parts += [answer_to_markdown(a).rstrip(), ""]
    return "\n".join(parts)
