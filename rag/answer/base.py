"""The answerer role and the steps every mode shares: compose a draft, then verify it.

An answerer *composes* a :class:`Draft` (sentences with ``[n]`` ids into the
numbered sources it was given), and :func:`verify_draft` turns the draft into the
final :class:`~rag.types.Answer`: unknown ids removed and reported, every sentence
checked against its cited chunks, unsupported sentences flagged (shown without a
citation), citations renumbered 1..m in order of use and rendered for memos.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from ..types import (
    UNVERIFIED_MARK,
    Answer,
    AnswerSentence,
    Chunk,
    Citation,
    DocumentInfo,
    ScoredChunk,
    mark_runs,
    sentences_text,
)
from .citations import best_span, make_citation, merge_spans, quote_span
from .guard import guard_sentences, unflagged
from .verify import CitedSentence, verify_sentences

ABSTAIN_PREFIX = "文件中未找到"
__all__ = ["ABSTAIN_PREFIX", "UNVERIFIED_MARK", "Answerer", "BaseAnswerer", "Draft", "abstain_text", "final_answer",
           "verify_draft"]


@runtime_checkable
class Answerer(Protocol):
    """Turns a question and its retrieved chunks into a verified, cited answer."""

    mode: str

    def stream(
        self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]
    ) -> Iterator[str | Answer]:
        """Yield text deltas, then the final verified :class:`Answer` as the last item."""
        ...

    def answer(
        self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]
    ) -> Answer:
        """The final verified :class:`Answer` (the last item of ``stream``)."""
        ...


@dataclass(frozen=True)
class Draft:
    """What composing produced, before verification (immutable: derive changes with ``dataclasses.replace``).

    ``sources`` maps the ids used in ``sentences`` to chunks. ``spans`` optionally
    gives, per sentence index, the exact character span in each cited chunk
    (extractive mode knows it; for model output it is searched for).
    ``separators`` gives the text put before each sentence: "" (same paragraph) or "\n" (a new one).
    For an abstention, ``sentences`` is empty and ``closest`` lists the nearest chunks.
    Sequences given as lists are stored as tuples.
    """

    question: str
    mode: str
    sentences: tuple[CitedSentence, ...]
    sources: Mapping[int, Chunk]
    retrieved: tuple[ScoredChunk, ...]
    abstained: bool = False
    abstain_reason: str = ""
    closest: tuple[Chunk, ...] = ()
    spans: Mapping[int, Mapping[int, tuple[int, int]]] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
    separators: tuple[str, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("sentences", "retrieved", "closest", "notices", "separators"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


def verify_draft(draft: Draft, documents: Mapping[str, DocumentInfo]) -> Answer:
    """Verify a draft and build the final Answer (see module docstring)."""
    notices = list(draft.notices)
    if draft.abstained:
        return _abstained_answer(draft, documents, notices)
    verified = verify_sentences(draft.sentences, draft.sources)
    # document text is data: a passage that addresses the reader/model is never a sentence's only support
    verified, dropped, guard_notices = guard_sentences(verified, draft.sources)
    notices += guard_notices
    if verified.unknown_ids:
        ids = "、".join(f"[{n}]" for n in verified.unknown_ids)
        notices.append(f"回答引用了不存在的来源编号 {ids}，已删除。")
    renumber: dict[int, int] = {}
    quote_spans: dict[int, list[tuple[int, int]]] = {}
    final: list[AnswerSentence] = []
    paragraph = 0
    for i, (s, check) in enumerate(zip(verified.sentences, verified.checks)):
        if final and i < len(draft.separators) and "\n" in draft.separators[i]:
            paragraph += 1
        if i in dropped:
            continue
        if not s.supported:
            final.append(AnswerSentence(s.text, (), False, paragraph, draft.sentences[i].display))
            why = f"（未见于引文的数字：{'、'.join(check.missing_facts)}）" if check.missing_facts else ""
            if not s.citations:
                why = "（没有有效的来源编号）"
            notices.append(f"第{i + 1}句未能在所引段落中核实{why}，已标注为未核实。")
            continue
        new_ids = []
        for old in s.citations:
            if old not in renumber:
                renumber[old] = len(renumber) + 1
            new_ids.append(renumber[old])
            chunk = draft.sources[old]
            span = draft.spans.get(i, {}).get(old)
            if span is None:
                b = best_span(s.text, chunk.text)
                span = (b.start, b.end)
            quote_spans.setdefault(old, []).append(span)
        final.append(AnswerSentence(s.text, tuple(new_ids), True, paragraph, draft.sentences[i].display))
    citations = tuple(
        make_citation(new, draft.sources[old], documents, quote_span(draft.sources[old].text, quote_spans[old]),
                      merge_spans(draft.sources[old].text, quote_spans[old]))
        for old, new in sorted(renumber.items(), key=lambda kv: kv[1])
    )
    if not any(s.supported for s in final):
        # Nothing verifiable: answer as an abstention instead of showing unsourced text.
        notices.append("回答中没有能在来源中核实的句子。")
        closest = tuple(unflagged([sc.chunk for sc in draft.retrieved])[:3])
        return _abstained_answer(replace(draft, abstained=True, closest=closest), documents, notices)
    marked = mark_runs(final)
    return Answer(
        question=draft.question,
        answer=sentences_text(marked),
        abstained=False,
        mode=draft.mode,
        sentences=marked,
        citations=citations,
        retrieved=draft.retrieved,
        notices=tuple(notices),
        timings_ms=dict(draft.timings_ms),
    )


def abstain_text(question: str, reason: str = "") -> str:
    """The text of an abstention: 文件中未找到<reason or the question>。 and a pointer to the closest passages."""
    what = reason or f"能回答“{question.strip()}”的内容"
    return f"{ABSTAIN_PREFIX}{what}。以下是最接近的段落，仅供参考。"


def _abstained_answer(draft: Draft, documents: Mapping[str, DocumentInfo], notices: list[str]) -> Answer:
    citations: list[Citation] = []
    for n, chunk in enumerate(draft.closest, 1):
        citations.append(make_citation(n, chunk, documents, chunk.text))
    if citations:
        notices.append("未能作答；所列来源为最接近的段落，不是答案的出处。")
    return Answer(
        question=draft.question,
        answer=abstain_text(draft.question, draft.abstain_reason),
        abstained=True,
        mode=draft.mode,
        sentences=(),
        citations=tuple(citations),
        retrieved=draft.retrieved,
        notices=tuple(notices),
        timings_ms=dict(draft.timings_ms),
    )


def final_answer(stream: Iterable[str | Answer]) -> Answer:
    """Consume an answer stream (text deltas, then the Answer) and return the Answer."""
    final = None
    for item in stream:
        if isinstance(item, Answer):
            final = item
    if final is None:
        raise RuntimeError("the answer stream ended without an Answer")
    return final


class BaseAnswerer:
    """Shared ``answer``: consume ``stream`` and return its final Answer."""

    mode = ""

    def stream(self, question, retrieved, documents) -> Iterator[str | Answer]:  # pragma: no cover - abstract
        """Yield text deltas, then the final verified Answer (each mode implements this)."""
        raise NotImplementedError

    def answer(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> Answer:
        """The last item of ``stream``: the verified Answer."""
        return final_answer(self.stream(question, retrieved, documents))
