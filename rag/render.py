"""Render an :class:`~rag.types.Answer` for the terminal (plain text) or for export (Markdown).

Unsupported sentences carry 〔未核实〕 and no citation; an abstention says so and lists the
closest passages as such, never as sources of an answer.
"""

from __future__ import annotations

from .types import Answer, ScoredChunk


def _source_lines(answer: Answer) -> list[str]:
    return [f"[{c.n}] {c.memo}" for c in answer.citations]


def answer_to_text(answer: Answer) -> str:
    """Plain text: the answer, notices, then one memo-ready line per citation."""
    lines = [answer.answer.strip()]
    if answer.notices:
        lines.append("")
        lines += [f"注意：{n}" for n in answer.notices]
    if answer.citations:
        lines.append("")
        lines.append("最接近的段落：" if answer.abstained else "来源：")
        lines += _source_lines(answer)
    return "\n".join(lines)


def answer_to_markdown(answer: Answer) -> str:
    """Markdown for export: question, answer, notices, and the sources with their full paragraphs."""
    out = [f"## {answer.question.strip()}", "", answer.answer.strip().replace("\n", "\n\n"), ""]
    if answer.notices:
        out += [f"> 注意：{n}" for n in answer.notices] + [""]
    if answer.citations:
        out += ["### 最接近的段落" if answer.abstained else "### 来源", ""]
        for c in answer.citations:
            heading = " › ".join(c.heading_path)
            out.append(f"{c.n}. {c.memo}")
            out.append(f"   - 位置：{c.title}{' › ' + heading if heading else ''}（{c.chunk_id}）")
            out.append("   - 原段落：" + c.text.replace("\n", " "))
        out.append("")
    return "\n".join(out)


def search_result_dict(sc: ScoredChunk) -> dict:
    """One retrieved passage as ``rag search --json`` / ``--batch`` and ``POST /api/search`` print it."""
    c = sc.chunk
    return {"id": c.id, "doc": c.doc_id, "title": c.title, "heading_path": list(c.heading_path), "kind": c.kind,
            "text": c.text, "score": round(sc.score, 6), "ranks": dict(sc.ranks)}
