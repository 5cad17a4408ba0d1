"""Plain-text rendering of an :class:`~rag.types.Answer` (the terminal, the clipboard) and the pieces
that the Markdown and Word exports share.

Unsupported sentences carry 〔未核实〕 and no citation; an abstention says so and lists the
closest passages as such, never as sources of an answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..text import heading_label
from ..types import Answer, Citation

EXPORT_TITLE = "政策问答记录"


def answer_lines(answer: Answer) -> list[str]:
    """The answer as lines of plain text with ``[n]`` and 〔未核实〕.

    Built from the answer's sentences: one line per paragraph, a line break inside a sentence's
    own text (a quoted passage can have one) kept as a line break. An answer without sentences
    (an abstention) is its text, line by line.
    """
    if not answer.sentences:
        return answer.answer.strip().split("\n")
    return [line for group in answer.paragraphs() for line in "".join(s.marked for s in group).split("\n")]


def citation_location(c: Citation) -> str:
    """Where a cited paragraph sits: ``title › heading path（chunk id）``."""
    return f"{heading_label((c.title, *c.heading_path))}（{c.chunk_id}）"


def export_note(answers: Sequence[Answer]) -> str:
    """The line under an export's title: when it was made and how many questions it holds."""
    return f"导出时间：{time.strftime('%Y-%m-%d %H:%M')}；共 {len(answers)} 问。"


def answer_to_text(answer: Answer) -> str:
    """Plain text: the answer, notices, then one memo-ready line per citation."""
    lines = [answer.answer.strip()]
    if answer.notices:
        lines.append("")
        lines += [f"注意：{n}" for n in answer.notices]
    if answer.citations:
        lines.append("")
        lines.append("最接近的段落：" if answer.abstained else "来源：")
        lines += [f"[{c.n}] {c.memo}" for c in answer.citations]
    return "\n".join(lines)
