"""Retrieval: BM25 over jieba tokens and optional dense vectors, fused by weighted RRF.

This package never imports the index package. At build time the index hands it the chunks and a
directory (:class:`RetrievalArtifacts`, which also declares the format versions the index records
in its manifest); at query time :func:`load_retriever` gets the directory, the manifest entry it
wrote and the chunks, from whichever store holds them.

    bm25.py / dense.py   build(dir, ...) -> info and load(dir, info, ids) -> Ranker
    fusion.py            reciprocal rank fusion (a pure function)
    hybrid.py            HybridRetriever (rankers -> RRF -> optional Reranker)
    query.py             clean_query, indexed_text
    tokenize.py          jieba search tokens
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import IndexMismatchError
from ..settings import Settings
from ..types import Chunk, DocumentInfo
from .hybrid import CrossEncoderReranker, HybridRetriever, Ranker, Retriever
from .query import INDEXED_TEXT, clean_query, indexed_text

__all__ = ["HybridRetriever", "Retriever", "RetrievalArtifacts", "clean_query", "indexed_text", "load_retriever"]

Progress = Callable[[str, int, int], None]


class IndexedCorpus(Protocol):
    """What retrieval needs from an index store: its directory, chunks, documents, and its own info."""

    dir: Path
    chunks: Sequence[Chunk]
    documents: Mapping[str, DocumentInfo]

    @property
    def retrieval_info(self) -> dict[str, Any]:
        """The manifest's retrieval section (what each ranker wrote at build time)."""
        ...


class RetrievalArtifacts:
    """Writes the retrieval files of an index (``bm25/``, and ``dense/`` with an embedding model)."""

    name = "retrieval"

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def versions(self) -> dict[str, str]:
        """Format versions of what :meth:`write` produces; a change makes an index stale."""
        from . import bm25, dense
        from .tokenize import TOKENIZER_VERSION

        return {"tokenizer": TOKENIZER_VERSION, "indexed_text": INDEXED_TEXT, "bm25": bm25.VERSION, "dense": dense.VERSION}

    def write(self, chunks: Sequence[Chunk], out_dir: Path, progress: Progress | None = None,
              previous: Path | None = None, new_rows: Sequence[int] | None = None) -> dict[str, Any]:
        """Tokenise and index ``chunks`` into ``out_dir``; return the info to keep in the manifest.

        ``previous``: the index this build replaces, given for an incremental build (the dense half may
        keep its fitted model, see :func:`rag.retrieval.dense.reusable_model`); ``new_rows``: the rows whose
        text that index did not have (default: all).
        """
        from . import bm25, dense
        from .tokenize import tokenize, tokenizer_info

        texts = [indexed_text(c) for c in chunks]
        ids = [c.id for c in chunks]
        token_lists = []
        for i, t in enumerate(texts):
            token_lists.append(tokenize(t))
            if progress and (i % 200 == 0 or i == len(texts) - 1):
                progress("tokenizing chunks", i + 1, len(texts))
        info: dict[str, Any] = {"tokenizer": tokenizer_info(), "indexed_text": INDEXED_TEXT}
        info["bm25"] = bm25.build(out_dir / "bm25", token_lists, ids)
        model = self.settings.embedding_model
        info["dense"] = None if model == "none" else dense.build(
            out_dir / "dense", texts, token_lists, ids, model, self.settings.static_dim, progress,
            previous=previous, new_rows=range(len(chunks)) if new_rows is None else new_rows,
        )
        info["embedding_model"] = model
        return info


def load_retriever(index: IndexedCorpus, settings: Settings) -> Retriever:
    """The retriever for ``settings.retrieval_mode`` over ``index`` (whose manifest the index checked)."""
    from . import bm25, dense

    if getattr(index, "kind", "local") == "postgres":  # ranking runs in SQL (rag/retrieval/pg.py)
        from .pg import load_pg_retriever

        return load_pg_retriever(index, settings)
    info = index.retrieval_info
    mode = settings.retrieval_mode
    ids = [c.id for c in index.chunks]
    rankers: list[Ranker] = []
    if mode in ("hybrid", "bm25"):
        rankers.append(bm25.load(index.dir / "bm25", info.get("bm25") or {}, ids))
    if mode in ("hybrid", "dense"):
        if info.get("dense"):
            rankers.append(dense.load(index.dir / "dense", info["dense"], ids))
        elif mode == "dense":
            raise IndexMismatchError(
                f"retrieval_mode='dense' needs dense vectors, but the index in {index.dir} was built with "
                "embedding_model='none'; set RAG_EMBEDDING_MODEL (e.g. static) and run `rag build`"
            )
    reranker = CrossEncoderReranker(settings.reranker) if settings.reranker else None
    return HybridRetriever(
        rankers,
        index.chunks,
        dict(index.documents),
        weights={"bm25": settings.bm25_weight, "dense": settings.dense_weight},
        rrf_k=settings.rrf_k,
        reranker=reranker,
        name=mode,
    )
