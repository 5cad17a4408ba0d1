"""Retrieval: BM25 and dense rankers fused by weighted reciprocal rank fusion, optional reranker.

Entry points used by the rest of the system: :class:`Retriever` (the role), :func:`clean_query`,
:func:`build_retrieval_artifacts` (called by ``rag build``) and :func:`load_retriever`.
Heavy libraries (bm25s, faiss, sentence-transformers) are imported on first use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .errors import ConfigError, IndexMismatchError, InputError
from .fusion import reciprocal_rank_fusion
from .settings import Settings
from .text import match_key
from .types import Chunk, DocumentInfo, Filters, ScoredChunk

if TYPE_CHECKING:
    import numpy as np

    from .index import LoadedIndex

# Questions longer than this are cut to their first MAX_QUERY_CHARS characters: anything longer
# is a pasted document, not a question; BM25 cost grows with query length and dense models
# truncate at ~512 tokens anyway. The start of a question usually carries its topic.
MAX_QUERY_CHARS = 512
# Each ranker returns this many candidates (at least) before fusion and filtering cut-off.
MIN_DEPTH = 100
RERANK_DEPTH = 30

Progress = Callable[[str, int, int], None]
_SPACE = re.compile(r"\s+")


class Retriever(Protocol):
    """Role: a question in, the best chunks out (filters applied before the top-k cut)."""

    name: str

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]: ...


class Ranker(Protocol):
    """One half of hybrid retrieval: (row, raw score) pairs, best first."""

    name: str

    def rank(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]: ...


# --------------------------------------------------------------------------- queries
def clean_query(query: str) -> str:
    """Strip control characters, collapse whitespace, keep the first 512 characters.

    Raises InputError for empty, whitespace-only or punctuation-only input. English-only
    queries are allowed.
    """
    if not isinstance(query, str):
        raise InputError(f"问题必须是文本 / the question must be text, not {type(query).__name__}")
    # Control (Cc) and format (Cf: zero-width, BOM, bidi marks) characters become spaces.
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in query)
    text = _SPACE.sub(" ", text).strip()
    if not text:
        raise InputError("问题为空，请输入一个问题 / the question is empty; type a question, e.g. 试点县能得到哪些支持")
    text = text[:MAX_QUERY_CHARS].strip()
    if not match_key(text):
        raise InputError(
            "问题只包含标点或符号，请输入文字 / the question contains only punctuation or symbols; type words, e.g. 试点县能得到哪些支持"
        )
    return text


# --------------------------------------------------------------------------- build
def build_retrieval_artifacts(
    chunks: Sequence[Chunk],
    documents: Sequence[DocumentInfo],
    settings: Settings,
    out_dir: Path,
    progress: Progress | None = None,
) -> dict:
    """Write ``out_dir/bm25`` and (unless embedding_model="none") ``out_dir/dense``; return manifest info."""
    from .dense import build_dense
    from .lexical import INDEXED_TEXT, build_bm25, chunk_search_text
    from .tokenize import tokenize, tokenizer_info

    texts = [chunk_search_text(c) for c in chunks]
    ids = [c.id for c in chunks]
    token_lists = []
    for i, t in enumerate(texts):
        token_lists.append(tokenize(t))
        if progress and (i % 200 == 0 or i == len(texts) - 1):
            progress("tokenizing chunks", i + 1, len(texts))
    info: dict = {"tokenizer": tokenizer_info(), "indexed_text": INDEXED_TEXT}
    info["bm25"] = build_bm25(token_lists, ids, out_dir / "bm25")
    if settings.embedding_model == "none":
        info["dense"] = None
    else:
        info["dense"] = build_dense(
            texts, token_lists, ids, settings.embedding_model, settings.static_dim, out_dir / "dense", progress
        )
    info["embedding_model"] = settings.embedding_model
    info["versions"] = _versions()
    return info


def _versions() -> dict[str, str]:
    from .index import package_versions

    return package_versions(("jieba", "bm25s", "faiss-cpu", "sentence-transformers", "opencc-python-reimplemented", "numpy"))


# --------------------------------------------------------------------------- load
def load_retriever(index: LoadedIndex, settings: Settings) -> Retriever:
    """The retriever for ``settings.retrieval_mode`` over ``index``; refuses a mismatched index."""
    from .lexical import INDEXED_TEXT
    from .tokenize import TOKENIZER_VERSION

    info = index.manifest.get("retrieval") or {}
    built = ((info.get("tokenizer") or {}).get("version"), info.get("indexed_text"))
    if built != (TOKENIZER_VERSION, INDEXED_TEXT):
        raise IndexMismatchError(
            f"index in {index.dir} was built with tokenizer {built[0]!r} over {built[1]!r}; this program uses "
            f"{TOKENIZER_VERSION!r} over {INDEXED_TEXT!r}; run `rag build --force` to rebuild it"
        )
    built_model = info.get("embedding_model")
    if built_model != settings.embedding_model:
        raise IndexMismatchError(
            f"index in {index.dir} was built with embedding_model={built_model!r} but settings say "
            f"{settings.embedding_model!r}; run `rag build` to rebuild it"
        )
    mode = settings.retrieval_mode
    ids = [c.id for c in index.chunks]
    rankers: list[Ranker] = []
    if mode in ("hybrid", "bm25"):
        from .lexical import BM25Retriever

        rankers.append(BM25Retriever(index.dir / "bm25", ids))
    if mode in ("hybrid", "dense"):
        if not info.get("dense"):
            if mode == "dense":
                raise IndexMismatchError(
                    f"retrieval_mode='dense' needs dense vectors, but the index in {index.dir} was built with "
                    "embedding_model='none'; set RAG_EMBEDDING_MODEL (e.g. static) and run `rag build`"
                )
        else:
            from .dense import DenseRetriever

            rankers.append(DenseRetriever(index.dir / "dense", ids))
    reranker = CrossEncoderReranker(settings.reranker) if settings.reranker else None
    return HybridRetriever(
        rankers,
        index.chunks,
        index.documents,
        weights={"bm25": settings.bm25_weight, "dense": settings.dense_weight},
        rrf_k=settings.rrf_k,
        reranker=reranker,
        name=mode,
    )


# --------------------------------------------------------------------------- retriever
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
        reranker: CrossEncoderReranker | None = None,
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
        self._row_docs = [documents.get(c.doc_id) for c in self.chunks]
        self._by_id = {c.id: c for c in self.chunks}

    def allowed_rows(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean row mask for ``filters`` (None = everything); InputError naming valid values."""
        import numpy as np

        if filters is None or filters.is_empty():
            return None
        docs = list(self.documents.values())
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
        mask = np.zeros(len(self.chunks), dtype=bool)
        for row, doc in enumerate(self._row_docs):
            mask[row] = doc is not None and all(not wanted or get(doc) in wanted for _, wanted, get in checks)
        return mask

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if top_k < 1:
            raise InputError(f"top_k={top_k} is not valid; it must be at least 1")
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
        from dataclasses import replace

        from .lexical import chunk_search_text

        pairs = [(query, chunk_search_text(r.chunk)) for r in results]
        scores = [float(s) for s in self.model.predict(pairs, show_progress_bar=False)]
        order = sorted(range(len(results)), key=lambda i: (-scores[i], i))
        return [
            replace(results[i], score=scores[i], scores={**results[i].scores, "rerank": scores[i]}) for i in order
        ]

