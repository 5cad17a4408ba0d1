"""Typed records passed between pipeline stages.

Data flows one way: ``Document`` -> ``Chunk`` -> ``ScoredChunk`` -> ``Answer``.
Every record is a frozen dataclass with ``to_dict``/``from_dict`` helpers so it
can be written to JSON(L) without pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

CHUNK_KINDS = ("text", "heading", "table_row", "list_item")
UNVERIFIED_MARK = "〔未核实〕"  # follows a sentence that could not be verified, in place of its [n]


def _from_dict(cls, data: dict[str, Any]):
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    for k, v in list(kwargs.items()):
        if isinstance(v, list):
            kwargs[k] = tuple(v)
    return cls(**kwargs)


@dataclass(frozen=True)
class DocumentInfo:
    """Catalog facts about one source document (one file in corpus/)."""

    doc_id: str
    title: str
    path: str = ""  # file name relative to the corpus dir
    issuer: str = ""
    date: str = ""  # ISO-like: "2024-12", "2021-06-29" or "" when unknown
    number: str = ""  # document number, e.g. 闽政〔2021〕12号
    kind: str = ""  # 白皮书, 专项规划, 行动方案, 新闻报道, 汇编 ...
    language: str = "zh-Hans"
    aliases: tuple[str, ...] = ()
    sha256: str = ""
    title_source: str = "catalog"  # catalog | title_line | file_name
    # Metadata the catalog is silent about: field -> where it was read from in the text ("" = not found there)
    inferred: dict[str, str] = field(default_factory=dict)

    @property
    def year(self) -> int | None:
        """The year of ``date``, or None when the date is unknown."""
        head = self.date[:4]
        return int(head) if head.isdigit() else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly fields (as stored in the index)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentInfo:
        """The record stored by ``to_dict`` (unknown keys ignored)."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Chunk:
    """A citable unit: normally one paragraph, one table row or one list item.

    ``text`` holds the cleaned text in the document's original characters (what
    a user quotes). ``context`` holds search-only context (table caption and
    column headers) that is indexed but never cited. ``start``/``end`` are the
    character span of ``text`` in the cleaned document text.
    """

    id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    kind: str
    text: str
    start: int
    end: int
    context: str = ""
    part: str = ""  # for compilations: the title of the part this chunk belongs to
    part_issuer: str = ""  # for compilations: the issuer of that part (from the catalog)
    part_number: str = ""  # for compilations: the 文号 of that part (from the catalog)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly fields plus ``doc`` (= ``doc_id``), as in chunks.jsonl and ``rag chunks``.

        The fields in declaration order, read directly: what ``dataclasses.asdict`` gives for these
        (strings, ints, a tuple of strings), without its recursive deep copy (a quarter of writing
        200k chunks).
        """
        d = {name: getattr(self, name) for name in _CHUNK_FIELDS}
        d["heading_path"] = list(self.heading_path)
        d["doc"] = self.doc_id
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        """The record stored by ``to_dict`` (``doc`` accepted for ``doc_id``)."""
        data = dict(data)
        if "doc_id" not in data and "doc" in data:
            data["doc_id"] = data["doc"]
        return _from_dict(cls, data)


_CHUNK_FIELDS = tuple(f.name for f in fields(Chunk))


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk with its fused score and per-retriever ranks/scores."""

    chunk: Chunk
    score: float
    ranks: dict[str, int | None] = field(default_factory=dict)
    scores: dict[str, float | None] = field(default_factory=dict)
    for_part: str = ""  # set when retrieved for one part of a multi-part question, after the question's own top k

    def to_result(self) -> dict[str, Any]:
        """The passage as ``rag search --json`` / ``--batch`` and ``POST /api/search`` print it."""
        c = self.chunk
        return {"id": c.id, "doc": c.doc_id, "title": c.title, "heading_path": list(c.heading_path), "kind": c.kind,
                "text": c.text, "score": round(self.score, 6), "ranks": dict(self.ranks)}


@dataclass(frozen=True)
class Filters:
    """Retrieval filters; empty tuples mean "no restriction"."""

    doc_ids: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing is restricted."""
        return not (self.doc_ids or self.issuers or self.years or self.kinds)


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer, ready to paste into a memo."""

    n: int
    chunk_id: str
    doc: str
    title: str
    issuer: str
    date: str
    heading_path: tuple[str, ...]
    quote: str  # the cited sentences, verbatim from ``text`` (non-adjacent ones joined by ……)
    text: str  # the full chunk text
    memo: str  # memo-ready rendering
    spans: tuple[tuple[int, int], ...] = ()  # where in ``text`` the cited sentences are (what the UI marks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly fields, as in the ``citations`` of an answer."""
        d = asdict(self)
        d["heading_path"] = list(self.heading_path)
        d["spans"] = [list(s) for s in self.spans]
        return d


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, as verified.

    ``citations`` are the renumbered ``[n]`` of its sources (empty when ``supported`` is false);
    ``paragraph`` is the 0-based paragraph the sentence belongs to (a new paragraph starts on a new line).
    """

    text: str
    citations: tuple[int, ...]
    supported: bool
    paragraph: int = 0
    display: str = ""  # the sentence as shown when it differs from the quoted text (a table row as a phrase)
    shows_citations: bool = True  # False inside a run of sentences citing the same sources: the run's last shows them

    @property
    def marked(self) -> str:
        """The sentence as it reads in ``Answer.answer``: its text, then ``[n]`` markers or 〔未核实〕."""
        if not self.supported:
            return self.shown + UNVERIFIED_MARK
        if not self.shows_citations:
            return self.shown
        return self.shown + "".join(f"[{n}]" for n in self.citations)

    @property
    def shown(self) -> str:
        """The text a reader sees: ``display`` when set, else ``text`` (which is what the source says)."""
        return self.display or self.text

    def to_dict(self) -> dict[str, Any]:
        """``text``, ``citations`` and ``supported``, as in the ``sentences`` of an answer."""
        d = {"text": self.text, "citations": list(self.citations), "supported": self.supported}
        if self.display:
            d["display"] = self.display
        return d


def mark_runs(sentences: Sequence[AnswerSentence]) -> tuple[AnswerSentence, ...]:
    """``sentences`` with one marker per run: a supported sentence followed, in the same paragraph, by
    one citing exactly the same sources leaves the markers to it (…。…。[1] instead of …。[1]…。[1])."""
    out = []
    for i, s in enumerate(sentences):
        nxt = sentences[i + 1] if i + 1 < len(sentences) else None
        same = (nxt is not None and s.supported and nxt.supported and nxt.paragraph == s.paragraph
                and nxt.citations == s.citations)
        out.append(replace(s, shows_citations=not same))
    return tuple(out)


def sentence_paragraphs(sentences: Sequence[AnswerSentence]) -> tuple[tuple[AnswerSentence, ...], ...]:
    """``sentences`` grouped into paragraphs (runs of the same ``paragraph``), in order."""
    groups: list[list[AnswerSentence]] = []
    for s in sentences:
        if groups and groups[-1][-1].paragraph == s.paragraph:
            groups[-1].append(s)
        else:
            groups.append([s])
    return tuple(tuple(g) for g in groups)


def sentences_text(sentences: Sequence[AnswerSentence]) -> str:
    """The plain answer text of ``sentences``: marked sentences, paragraphs on separate lines."""
    return "\n".join("".join(s.marked for s in group) for group in sentence_paragraphs(sentences))


@dataclass(frozen=True)
class Answer:
    """The result of ``rag ask``: the same shape in CLI, API and UI."""

    question: str
    answer: str
    abstained: bool
    mode: str
    sentences: tuple[AnswerSentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[ScoredChunk, ...] = ()
    notices: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    id: str = ""
    query: str = ""  # what retrieval searched for when it differs from the question (LLM mode's rewrite)

    def paragraphs(self) -> tuple[tuple[AnswerSentence, ...], ...]:
        """The sentences grouped into paragraphs (empty for an abstention)."""
        return sentence_paragraphs(self.sentences)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``rag ask --json`` / ``--batch`` and ``POST /api/ask``."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "mode": self.mode,
            "sentences": [s.to_dict() for s in self.sentences],
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [r.chunk.id for r in self.retrieved],
            "notices": list(self.notices),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            **({"query": self.query} if self.query else {}),
        }


@dataclass(frozen=True)
class Evidence:
    """A quote that answers a gold question, optionally with the document it must come from."""

    quote: str
    doc: str = ""


@dataclass(frozen=True)
class GoldItem:
    """One gold question (eval/gold.jsonl)."""

    id: str
    question: str
    answer: str
    key_facts: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answerable: bool
    tags: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GoldItem:
        """One parsed line of a gold file (evidence given as strings or ``{"quote", "doc"}`` objects)."""
        ev = tuple(
            Evidence(quote=e["quote"], doc=e.get("doc", "")) if isinstance(e, dict) else Evidence(quote=str(e))
            for e in data.get("evidence", [])
        )
        return cls(
            id=str(data["id"]),
            question=str(data["question"]),
            answer=str(data.get("answer", "")),
            key_facts=tuple(data.get("key_facts", [])),
            evidence=ev,
            answerable=bool(data.get("answerable", True)),
            tags=tuple(data.get("tags", [])),
        )
