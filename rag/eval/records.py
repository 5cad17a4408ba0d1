"""Typed, immutable records of an evaluation run and their JSON form.

- :class:`QuestionRecord` — one question's outcome (one line of ``results.jsonl``), made of
  :class:`EvidenceRank`, :class:`RetrievedChunk`, :class:`RetrievalScores` and :class:`AnswerRecord`;
- :class:`Metrics` — the aggregate over any set of records (also the ``"metrics"`` of a baseline),
  :class:`GroupMetrics` — the same for one group of a breakdown;
- :class:`QuestionSummary` — what a baseline keeps per question to explain flips later;
- :class:`Consistency` — paraphrase consistency over the paraphrased dev questions.

Records carry their split: ``dev`` (eval/gold.jsonl), ``frozen`` (eval/frozen.jsonl) or
``paraphrase`` (eval/paraphrases.jsonl, questions reworded from dev items). Every class has
``to_dict`` / ``from_dict``; ``to_dict`` gives the keys of ``results.jsonl`` and
``eval/baseline.json`` in a fixed order, so runs compare line by line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, ClassVar

SPLITS = ("dev", "frozen", "paraphrase")

# Metric name -> (label, kind). kind: "rate" (0..1), "count", "chars", "ms". The order is the display order.
METRICS: dict[str, tuple[str, str]] = {
    "hit@1": ("hit@1", "rate"),
    "hit@5": ("hit@5", "rate"),
    "hit@10": ("hit@10", "rate"),
    "evidence_recall@5": ("evidence recall@5", "rate"),
    "evidence_recall@10": ("evidence recall@10", "rate"),
    "mrr@10": ("MRR@10", "rate"),
    "chunk_chars_mean": ("mean chars / retrieved chunk", "chars"),
    "key_fact_recall": ("key-fact recall", "rate"),
    "all_facts_rate": ("all-facts rate", "rate"),
    "cited_evidence_recall": ("cited-evidence recall", "rate"),
    "citation_support_rate": ("citation support rate", "rate"),
    "unsupported_sentences": ("unsupported sentences", "count"),
    "abstention_rate": ("abstention (unanswerable)", "rate"),
    "false_abstention_rate": ("false abstention (answerable)", "rate"),
    "answer_chars_median": ("median answer length (chars)", "chars"),
    "latency_p50_ms": ("ask latency p50 (ms)", "ms"),
    "latency_p95_ms": ("ask latency p95 (ms)", "ms"),
    "search_p50_ms": ("search latency p50 (ms)", "ms"),
    "search_p95_ms": ("search latency p95 (ms)", "ms"),
    "paraphrase_consistency": ("paraphrase consistency", "rate"),
}
WHOLE_NUMBER_KINDS = ("count", "chars", "ms")
_ONLY_IN = {"paraphrase_consistency": "paraphrase"}  # metrics defined for one split only


def metric_names(split: str = "dev") -> list[str]:
    """The metrics that apply to ``split``, in display order."""
    return [m for m in METRICS if _ONLY_IN.get(m, split) == split]
TOP_SHOWN = 5  # retrieved chunks kept per question in the baseline and the diff


def _key(name: str, default: Any = MISSING) -> Any:
    """A field whose JSON key is not a Python name (``hit@1``)."""
    return field(default=default, metadata={"key": name})


def _json_key(f) -> str:
    return f.metadata.get("key", f.name)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


class _Record:
    """``to_dict`` / ``from_dict`` for the dataclasses below: tuples are lists in JSON, and a field
    named in ``_NESTED`` holds a record (or a tuple of records) of that class."""

    _NESTED: ClassVar[dict[str, type[_Record]]] = {}
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # every subclass is a dataclass

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in field order."""
        return {_json_key(f): _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        """Inverse of :meth:`to_dict`. A missing key takes the field's default, or None without one."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            key = _json_key(f)
            if key not in data:
                if f.default is MISSING and f.default_factory is MISSING:
                    kwargs[f.name] = None
                continue
            value, nested = data[key], cls._NESTED.get(f.name)
            if isinstance(value, list):
                value = tuple(nested.from_dict(v) for v in value) if nested else tuple(value)
            elif nested and value is not None:
                value = nested.from_dict(value)
            kwargs[f.name] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class EvidenceRank(_Record):
    """One gold evidence quote and the 1-based rank of the first retrieved chunk holding it."""

    doc: str
    quote: str
    rank: int | None


@dataclass(frozen=True)
class RetrievedChunk(_Record):
    """One retrieved chunk as kept in the results (text cut to 160 characters)."""

    rank: int
    chunk_id: str
    doc: str
    chars: int
    score: float
    text: str


@dataclass(frozen=True)
class RetrievalScores(_Record):
    """Per-question retrieval metrics (see :mod:`rag.eval.metrics`)."""

    hit_at_1: float = _key("hit@1")
    hit_at_5: float = _key("hit@5")
    hit_at_10: float = _key("hit@10")
    recall_at_5: float = _key("recall@5")
    recall_at_10: float = _key("recall@10")
    rr_at_10: float = _key("rr@10")


@dataclass(frozen=True)
class AnswerRecord(_Record):
    """What the answer to one question scored: key facts, cited evidence, citation support, latency."""

    text: str
    abstained: bool
    chars: int
    key_facts_found: tuple[str, ...]
    key_facts_missing: tuple[str, ...]
    key_fact_recall: float | None
    all_facts: bool | None
    cited: tuple[str, ...]
    cited_evidence_recall: float | None
    sentences: int
    citation_support: float | None
    unsupported_sentences: int  # sentences the evaluator's check (rag.eval.support) does not find supported
    self_reported_supported: int
    latency_ms: float


@dataclass(frozen=True)
class QuestionRecord(_Record):
    """One question's full outcome: one line of ``results.jsonl``.

    ``split`` is one of :data:`SPLITS`; ``paraphrase_of`` names the dev item a paraphrase
    rewords (None otherwise). ``retrieval`` is None for unanswerable items and items without
    evidence; ``answer`` is None when the answer stage could not be imported; ``search_ms`` is
    None when search did not run.
    """

    _NESTED: ClassVar[dict[str, type]] = {"evidence": EvidenceRank, "retrieved": RetrievedChunk,
                                          "retrieval": RetrievalScores, "answer": AnswerRecord}

    id: str
    split: str
    paraphrase_of: str | None
    question: str
    tags: tuple[str, ...]
    answerable: bool
    docs: tuple[str, ...]
    key_facts: tuple[str, ...]
    evidence: tuple[EvidenceRank, ...] = ()
    retrieved: tuple[RetrievedChunk, ...] = ()
    retrieval: RetrievalScores | None = None
    search_ms: float | None = None
    answer: AnswerRecord | None = None


_METRIC_FIELD = {name: name.replace("@", "_at_") for name in METRICS}


@dataclass(frozen=True)
class Metrics(_Record):
    """The aggregate metrics of a set of records; None = no qualifying item (shown "–", never gated).

    ``unsupported_sentences`` is a total over the answers given, not a mean.

    Field names are the metric names with ``@`` spelled ``_at_``; :meth:`get` takes the metric
    name as in :data:`METRICS` (``"hit@5"``).
    """

    hit_at_1: float | None = _key("hit@1", None)
    hit_at_5: float | None = _key("hit@5", None)
    hit_at_10: float | None = _key("hit@10", None)
    evidence_recall_at_5: float | None = _key("evidence_recall@5", None)
    evidence_recall_at_10: float | None = _key("evidence_recall@10", None)
    mrr_at_10: float | None = _key("mrr@10", None)
    chunk_chars_mean: float | None = None
    key_fact_recall: float | None = None
    all_facts_rate: float | None = None
    cited_evidence_recall: float | None = None
    citation_support_rate: float | None = None
    unsupported_sentences: int | None = None
    abstention_rate: float | None = None
    false_abstention_rate: float | None = None
    answer_chars_median: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    search_p50_ms: float | None = None
    search_p95_ms: float | None = None
    paraphrase_consistency: float | None = None  # set for the paraphrase split (see rag.eval.metrics.consistency)

    def get(self, name: str) -> float | None:
        """The value of metric ``name`` (a key of :data:`METRICS`)."""
        return getattr(self, _METRIC_FIELD[name])

    def rounded(self) -> dict[str, float | None]:
        """The JSON form with floats rounded to 6 places, as a baseline stores it."""
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.to_dict().items()}


assert [_json_key(f) for f in fields(Metrics)] == list(METRICS), "Metrics fields must follow METRICS"


@dataclass(frozen=True)
class GroupMetrics:
    """One group of a breakdown (a tag, a document, tuned or held-out): its size and metrics."""

    n: int
    metrics: Metrics


@dataclass(frozen=True)
class QuestionSummary(_Record):
    """The per-question facts a baseline keeps (one line each in ``eval/baseline.json``)."""

    _NESTED: ClassVar[dict[str, type]] = {"evidence": EvidenceRank}

    question: str
    answerable: bool
    hit_at_5: float | None = _key("hit@5", None)
    recall_at_5: float | None = _key("recall@5", None)
    evidence: tuple[EvidenceRank, ...] = ()
    top: tuple[str, ...] = ()
    top_text: tuple[str, ...] = ()
    abstained: bool | None = None
    all_facts: bool | None = None
    facts_found: tuple[str, ...] | None = None
    answer: str | None = None

    @classmethod
    def of(cls, record: QuestionRecord) -> QuestionSummary:
        """The summary of one question's record (the top :data:`TOP_SHOWN` chunks, answer cut to 300)."""
        ret, ans = record.retrieval, record.answer
        top = record.retrieved[:TOP_SHOWN]
        return cls(
            question=record.question,
            answerable=record.answerable,
            hit_at_5=ret.hit_at_5 if ret else None,
            recall_at_5=ret.recall_at_5 if ret else None,
            evidence=record.evidence,
            top=tuple(c.chunk_id for c in top),
            top_text=tuple(c.text[:60] for c in top),
            abstained=ans.abstained if ans else None,
            all_facts=ans.all_facts if ans else None,
            facts_found=ans.key_facts_found if ans else None,
            answer=ans.text[:300] if ans else None,
        )


def format_metric(name: str | None, v: float | None) -> str:
    """A metric value for tables: "–" for None, whole numbers for lengths and latencies."""
    if v is None:
        return "–"
    kind = METRICS.get(name or "", ("", "rate"))[1]
    return f"{v:.0f}" if kind in WHOLE_NUMBER_KINDS else f"{v:.3f}"


def format_rank(r: int | None) -> str:
    """An evidence rank: ``#3`` or ``not found``."""
    return f"#{r}" if r is not None else "not found"


@dataclass(frozen=True)
class ConsistencyItem(_Record):
    """One paraphrased dev question: the key facts its original and each paraphrase recovered."""

    id: str
    original_found: tuple[str, ...]
    paraphrases_found: tuple[tuple[str, ...], ...]
    consistent: bool


@dataclass(frozen=True)
class Consistency:
    """Paraphrase consistency: the share of paraphrased dev questions whose paraphrases all
    recover exactly the key facts the original recovered (see eval/README.md).

    ``original_key_fact_recall`` is the dev key-fact recall over the same questions, to set
    beside the paraphrase split's key-fact recall.
    """

    items: tuple[ConsistencyItem, ...]
    original_key_fact_recall: float | None

    @property
    def consistent(self) -> int:
        """How many questions are consistent."""
        return sum(it.consistent for it in self.items)

    @property
    def rate(self) -> float | None:
        """``consistent / len(items)``; None for no items."""
        return self.consistent / len(self.items) if self.items else None
