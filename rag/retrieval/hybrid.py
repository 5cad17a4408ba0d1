"""Hybrid retrieval: rankers fused by weighted reciprocal rank fusion, then an optional reranker.

With one ranker this is plain BM25 or dense retrieval. Heavy libraries (sentence-transformers)
are imported on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ..errors import ConfigError, InputError
from ..settings import check_top_k
from ..types import Chunk, DocumentInfo, Filters, ScoredChunk
from .fusion import reciprocal_rank_fusion
from .query import indexed_text

if TYPE_CHECKING:
    import numpy as np

# Each ranker returns this many candidates (at least) before fusion and filtering cut-off.
MIN_DEPTH = 100
RERANK_DEPTH = 30


class Retriever(Protocol):
    """Role: a question in, the best chunks out (filters applied before the top-k cut)."""

    name: str

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        """The ``top_k`` best chunks for ``query`` within ``filters``, best first."""
        ...


class Ranker(Protocol):
    """One half of hybrid retrieval: (row, raw score) pairs, best first."""

    name: str

    def rank(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, score) pairs, best first, at most ``depth``; ``allowed`` is a boolean row mask."""
        ...


class Reranker(Protocol):
    """Reorders the fused candidates (e.g. a cross-encoder); returns them best first."""

    def rerank(self, query: str, results: list[ScoredChunk]) -> list[ScoredChunk]:
        """``results`` reordered (best first) for ``query``."""
        ...


# --------------------------------------------------------------------------- retriever
def allowed_docs(filters: Filters | None, documents: dict[str, DocumentInfo]) -> list[str] | None:
    """Doc ids passing ``filters`` (None = everything); InputError naming the valid values of a bad one."""
    if filters is None or filters.is_empty():
        return None
    docs = list(documents.values())
    checks = [
        ("document id", filters.doc_ids, lambda d: d.doc_id),
        ("issuer", filters.issuers, lambda d: d.issuer),
        ("year", filters.years, lambda d: d.year),
        ("kind", filters.kinds, lambda d: d.kind),
    ]
    for label, wanted, get in checks:
        valid = {get(d) for d in docs if get(d) not in (None, "")}
        bad = [w for w in wanted if w not in valid]
        if bad:
            shown = ", ".join(str(v) for v in sorted(valid, key=str))
            raise InputError(f"unknown {label} {', '.join(map(repr, bad))}; valid values: {shown}")
    return [d.doc_id for d in docs if all(not wanted or get(d) in wanted for _, wanted, get in checks)]


class HybridRetriever:
    """Runs each ranker over the allowed rows, fuses by weighted RRF, optionally reranks.

    With one ranker this is plain BM25 or dense retrieval. ``ranks``/``scores`` of each result
    always have the keys "bm25" and "dense" (None where that ranker did not return the chunk).
    """

    def __init__(
        self,
        rankers: Sequence[Ranker],
        chunks: Sequence[Chunk],
        documents: dict[str, DocumentInfo],
        weights: dict[str, float] | None = None,
        rrf_k: int = 60,
        reranker: Reranker | None = None,
        name: str = "hybrid",
    ):
        if not rankers:
            raise ConfigError("a retriever needs at least one ranker (bm25 or dense)")
        self.name = name
        self.rankers = list(rankers)
        self.chunks = list(chunks)
        self.documents = documents
        self.weights = dict(weights or {})
        self.rrf_k = rrf_k
        self.reranker = reranker
        self._by_id = {c.id: c for c in self.chunks}

    def allowed_rows(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean row mask for ``filters`` (None = everything); InputError naming valid values."""
        import numpy as np

        docs = allowed_docs(filters, self.documents)
        if docs is None:
            return None
        wanted = set(docs)
        return np.fromiter((c.doc_id in wanted for c in self.chunks), dtype=bool, count=len(self.chunks))

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        """Rank with every ranker, fuse by weighted RRF, rerank if configured, cut to ``top_k``."""
        check_top_k(top_k)
        allowed = self.allowed_rows(filters)
        depth = max(MIN_DEPTH, 5 * top_k)
        ranked: dict[str, list[str]] = {}
        raw: dict[str, dict[str, float]] = {}
        for ranker in self.rankers:
            hits = ranker.rank(query, depth, allowed)
            ranked[ranker.name] = [self.chunks[r].id for r, _ in hits]
            raw[ranker.name] = {self.chunks[r].id: s for r, s in hits}
        fused = reciprocal_rank_fusion(ranked, self.weights, self.rrf_k)
        results = []
        for f in fused[: max(top_k, RERANK_DEPTH) if self.reranker else top_k]:
            ranks = {"bm25": f.ranks.get("bm25"), "dense": f.ranks.get("dense")}
            scores = {name: raw.get(name, {}).get(f.id) for name in ("bm25", "dense")}
            results.append(ScoredChunk(self._by_id[f.id], f.score, ranks, scores))
        if self.reranker and results:
            results = self.reranker.rerank(query, results)
        return results[:top_k]


class CrossEncoderReranker:
    """Reorders candidates with any sentence-transformers CrossEncoder (name or folder), loaded on first use."""

    def __init__(self, name_or_path: str):
        self.name_or_path = name_or_path
        self._model = None

    @property
    def model(self):
        """The CrossEncoder, loaded on first use (ConfigError when it cannot load)."""
        if self._model is None:
            from sentence_transformers import CrossEncoder

            try:
                self._model = CrossEncoder(self.name_or_path, device="cpu")
            except Exception as e:  # noqa: BLE001 - any load failure becomes one clear message
                raise ConfigError(
                    f"could not load reranker {self.name_or_path!r} ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                    "give a local CrossEncoder folder or set reranker='' to turn reranking off"
                ) from None
        return self._model

    def rerank(self, query: str, results: list[ScoredChunk]) -> list[ScoredChunk]:
        """``results`` reordered by cross-encoder score over (query, indexed text)."""
        from dataclasses import replace

        pairs = [(query, indexed_text(r.chunk)) for r in results]
        scores = [float(s) for s in self.model.predict(pairs, show_progress_bar=False)]
        order = sorted(range(len(results)), key=lambda i: (-scores[i], i))
        return [
            replace(results[i], score=scores[i], scores={**results[i].scores, "rerank": scores[i]}) for i in order
        ]

