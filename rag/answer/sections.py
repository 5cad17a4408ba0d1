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
        found = _best_section(q, focus, v, corpus)
        if found is None:
            continue
        d, heading, items, cov, anchors_ok = found
        # the heading itself (with its document) must be what the question asks about,
        # not a passage under it that happens to share words with the question
        if not anchors_ok or cov < cover_min or len(items) < 2:
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
            item = c.heading_path[d + 1]
            # an item under its own heading line (一、加强组织协调落实) is shown with it: the heading names the
            # item, so its first clause is enough to say what it is about (and more items fit the budget)
            opens = match_key(_NUMBERING.sub("", first.text)).startswith(match_key(_NUMBERING.sub("", item))[:4])
            label = "" if opens else item
            if label and (cut := first.text.find("，")) >= 10:
                first = Span(first.text[:cut], first.start, first.start + cut)
            if picked and used + len(label) + len(first.text) > budget:
                break
            picked.append(Candidate(c, v.rank, first.start, first.end, first.text, match_key(first.text), label=label))
            used += len(label) + len(first.text)
        left = len(items) - len(picked)
        notice = f"“{heading}”共{len(items)}项，限于篇幅列出前{len(picked)}项，其余{left}项见原文该节。" if left else ""
        return (picked, notice) if len(picked) >= 2 else None
    return None


def _best_section(q: QuestionInfo, focus, v: ChunkView, corpus):
    """The heading on ``v``'s path that best covers the question as a section: one that names the asked
    kind (三、保障机制 for 哪些保障机制), or one whose items are each of that kind (第四章 主要任务, whose
    items are 一、实施创新发展行动 …, for 主要任务有哪些行动). The most specific heading that names it wins
    unless a section of such items covers the question better; None if neither exists."""
    path = v.chunk.heading_path
    document = match_key(" ".join(x for x in (v.chunk.title, v.chunk.part, v.chunk.part_issuer) if x))
    named_best = kind_best = None
    for d in reversed(range(len(path))):
        heading = path[d]
        key = match_key(_NUMBERING.sub("", heading))
        named = all(credit(t, key) == 1.0 for t in focus)
        if not named and d + 1 >= len(path):
            continue
        items: dict[str, Chunk] = {}
        for c in corpus.section(v.chunk.doc_id, path[: d + 1]):
            if len(c.heading_path) > d + 1 and c.kind != "heading":
                items.setdefault(c.heading_path[d + 1], c)
        kind_of_items = len(items) >= 2 and all(
            sum(_head_is(t, h) for h in items) >= 0.8 * len(items) for t in focus)
        if not (named or kind_of_items):
            continue
        cov, anchors_ok = coverage(q, key + ("" if named else " ".join(match_key(h) for h in items)), document)
        if named and named_best is None:
            named_best = (d, heading, items, cov, anchors_ok)
        elif not named and (kind_best is None or cov > kind_best[3] + 1e-9):
            kind_best = (d, heading, items, cov, anchors_ok)
    if kind_best is not None and (named_best is None or kind_best[3] > named_best[3] + 1e-9):
        return kind_best
    return named_best


def _head_is(term, heading: str) -> bool:
    """Does an item heading name an instance of ``term``: its first clause ends with it (Chinese noun
    phrases end with their head: 实施创新发展行动 is a 行动; 加强政策引导，鼓励组建产业集群 is not a 产业集群)?"""
    first = re.split(r"[，,：:。；;]", _NUMBERING.sub("", heading), maxsplit=1)[0]
    key = match_key(first)
    return any(key.endswith(k) for k in (term.key, *term.variants))
