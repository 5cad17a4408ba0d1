"""Questions about a section (哪些保障机制, 有哪些重点任务), answered by that section's items."""

from __future__ import annotations

import re

from ..text import Span, match_key, split_sentences
from ..types import Chunk
from .candidates import Candidate, ChunkView, coverage, typed
from .question import QuestionInfo, credit

SECTION_DEPTH = 3  # how many top passages' heading paths are searched for the section
ITEM_HEADING_MAX = 25  # an item's first sentence this short is its heading: the next sentence comes too
_NUMBERING = re.compile(r"^[（(]?[一二三四五六七八九十\d]+[)）、.．]\s*")


def section_answer(q: QuestionInfo, views: list[ChunkView], corpus, cover_min: float, budget: int
                   ) -> tuple[list[Candidate], str] | None:
    """A question about a section (哪些保障机制, 有哪些重点任务) answered by that section's items.

    The section is the most specific heading, among the top retrieved passages' heading paths, that
    holds every focus term of a list question (保障机制 in 三、保障机制) and, with its document's title,
    covers the question as much as an answering passage must; each of its sub-headings
    contributes its first sentence (the item's heading and what it says), in document order, up to
    ``budget`` characters; a notice says how many items were left out. None when the question
    names no such section or the section has fewer than two items.
    """
    focus = [t for t in q.terms if t.focus]
    if not (q.is_list and focus) or typed(q):
        return None
    for v in views[:SECTION_DEPTH]:
        path = v.chunk.heading_path
        document = match_key(" ".join(x for x in (v.chunk.title, v.chunk.part, v.chunk.part_issuer) if x))
        for d in reversed(range(len(path))):  # the most specific heading that names the section
            heading = path[d]
            key = match_key(_NUMBERING.sub("", heading))
            if not all(credit(t, key) == 1.0 for t in focus):
                continue
            # the heading itself (with its document) must be what the question asks about,
            # not a passage under it that happens to share words with the question
            cov, anchors_ok = coverage(q, key, document)
            if not anchors_ok or cov < cover_min:
                return None
            items: dict[str, Chunk] = {}
            for c in corpus.section(v.chunk.doc_id, path[: d + 1]):
                if len(c.heading_path) > d + 1 and c.kind != "heading":
                    items.setdefault(c.heading_path[d + 1], c)
            if len(items) < 2:
                return None
            picked: list[Candidate] = []
            used = 0
            for c in items.values():
                sentences = split_sentences(c.text, min_chars=10)
                if not sentences:
                    continue
                first = sentences[0]
                if len(first.text) <= ITEM_HEADING_MAX and len(sentences) > 1:  # the item's heading: add what it says
                    first = Span(c.text[first.start:sentences[1].end], first.start, sentences[1].end)
                if picked and used + len(first.text) > budget:
                    break
                picked.append(Candidate(c, v.rank, first.start, first.end, first.text, match_key(first.text)))
                used += len(first.text)
            left = len(items) - len(picked)
            notice = f"“{heading}”共{len(items)}项，限于篇幅列出前{len(picked)}项，其余{left}项见原文该节。" if left else ""
            return (picked, notice) if len(picked) >= 2 else None
    return None
