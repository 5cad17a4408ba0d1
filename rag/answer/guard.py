"""Document text is data: passages that address the reader or the model never support an answer.

Passages are flagged when answering, by :func:`rag.ingest.hostile.hostile_reason` (a few cached
regular expressions over the retrieved passages; see that module for why not at build time).
Two layers:

1. :class:`ScreenedAnswerer` (every mode, from :func:`rag.answer.make_answerer`) hands the
   answerer only the unflagged passages — neither the extractive composer nor the model sees a
   flagged one as a numbered source — and puts a notice naming the withheld passages on the
   answer; ``Answer.retrieved`` still lists them (the retrieval view shows them).
2. :func:`guard_sentences` (in :func:`rag.answer.base.verify_draft`, whatever composed the draft):
   a sentence whose every cited passage is flagged is dropped; one citing flagged and unflagged
   passages is checked again against the unflagged ones alone and keeps only those citations, or
   is marked unverified. A claim found only in a flagged passage is thus never a supported sentence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

from ..ingest.hostile import hostile_reason
from ..types import Answer, AnswerSentence, Chunk, DocumentInfo, ScoredChunk
from .verify import Verified, check_sentence

__all__ = ["ScreenedAnswerer", "flag_reason", "guard_sentences", "screen", "unflagged", "withheld_notice"]


def flag_reason(chunk: Chunk) -> str:
    """Why ``chunk`` is flagged (it addresses the reader or the model), or "" when it is ordinary text."""
    return hostile_reason(chunk.text)


def unflagged(chunks: Sequence[Chunk]) -> list[Chunk]:
    """``chunks`` without the flagged ones, in order."""
    return [c for c in chunks if not flag_reason(c)]


def screen(retrieved: Sequence[ScoredChunk]) -> tuple[list[ScoredChunk], list[tuple[Chunk, str]]]:
    """(the unflagged retrieved passages, [(flagged chunk, reason)])."""
    clean: list[ScoredChunk] = []
    flagged: list[tuple[Chunk, str]] = []
    for sc in retrieved:
        reason = flag_reason(sc.chunk)
        if reason:
            flagged.append((sc.chunk, reason))
        else:
            clean.append(sc)
    return clean, flagged


def withheld_notice(flagged: Sequence[tuple[Chunk, str]], documents: Mapping[str, DocumentInfo]) -> str:
    """The notice naming passages that were not used because they look like instructions."""
    named = []
    for chunk, reason in flagged:
        doc = documents.get(chunk.doc_id)
        named.append(f"《{doc.title if doc else chunk.title}》{chunk.id}（{reason}）")
    return (f"检索到的段落中有 {len(flagged)} 段含有疑似指令性文字，可能是插入的提示词，已不作为回答依据："
            f"{'；'.join(named)}。")


def guard_sentences(verified: Verified, sources: Mapping[int, Chunk]) -> tuple[Verified, set[int], list[str]]:
    """Apply the flagged-passage rule to verified sentences: (sentences re-checked, indices to drop, notices)."""
    out: list[AnswerSentence] = []
    checks = list(verified.checks)
    drop: set[int] = set()
    notices: list[str] = []
    for i, s in enumerate(verified.sentences):
        bad = [n for n in s.citations if flag_reason(sources[n])]
        if not bad:
            out.append(s)
            continue
        good = [n for n in s.citations if n not in bad]
        if not good:
            drop.add(i)
            notices.append(f"第{i + 1}句仅依据含有疑似指令性文字的段落（{flag_reason(sources[bad[0]])}），已删除。")
            out.append(replace(s, citations=(), supported=False))
            continue
        check = check_sentence(s.text, [sources[n].text for n in good])
        checks[i] = check
        out.append(replace(s, citations=tuple(good) if check.supported else (), supported=check.supported))
        notices.append(f"第{i + 1}句引用了含有疑似指令性文字的段落，已去掉该引用"
                       f"{'' if check.supported else '，其余来源不能核实该句'}。")
    return Verified(tuple(out), verified.unknown_ids, tuple(checks)), drop, notices


class ScreenedAnswerer:
    """An answerer that composes only from unflagged passages (see the module docstring)."""

    def __init__(self, inner):
        self.inner = inner
        self.mode = inner.mode

    def __getattr__(self, name):  # the wrapped answerer's other attributes (settings, fallback, client ...)
        if name == "compose" and hasattr(self.inner, "compose"):
            return self._compose
        return getattr(self.inner, name)

    def _compose(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]):
        """The inner answerer's Draft over the unflagged passages (for answerers that compose, e.g. extractive)."""
        clean, flagged = screen(retrieved)
        draft = self.inner.compose(question, clean, documents)
        if flagged:
            draft = replace(draft, retrieved=tuple(retrieved),
                            notices=(*draft.notices, withheld_notice(flagged, documents)))
        return draft

    def stream(self, question: str, retrieved: Sequence[ScoredChunk],
               documents: Mapping[str, DocumentInfo]) -> Iterator[str | Answer]:
        """The inner answerer's stream over the unflagged passages; the Answer lists all retrieved passages."""
        clean, flagged = screen(retrieved)
        for item in self.inner.stream(question, clean, documents):
            yield _restored(item, retrieved, flagged, documents) if isinstance(item, Answer) else item

    def answer(self, question: str, retrieved: Sequence[ScoredChunk], documents: Mapping[str, DocumentInfo]) -> Answer:
        """The inner answerer's answer over the unflagged passages (a blocking call where it has one)."""
        clean, flagged = screen(retrieved)
        return _restored(self.inner.answer(question, clean, documents), retrieved, flagged, documents)


def _restored(answer: Answer, retrieved, flagged, documents) -> Answer:
    if not flagged:
        return answer
    return replace(answer, retrieved=tuple(retrieved), notices=(*answer.notices, withheld_notice(flagged, documents)))
