"""Retrieval inside PostgreSQL: BM25 over the jieba-token postings in SQL, pgvector HNSW, then the same RRF.

:class:`PgRetriever` is :class:`rag.retrieval.hybrid.HybridRetriever` for the ``postgres`` store:
the same rankers' contract (rows and raw scores, best first, ``depth`` deep), the same
:func:`reciprocal_rank_fusion` with the same weights and ``rrf_k``, the same filters and messages,
the same optional reranker, the same ``ScoredChunk`` out. What differs is where ranking runs: each
search is one read-only snapshot (:meth:`rag.index.postgres.PostgresStore.reading`) that ranks and
fetches from the build active in it, so the process holds no postings or vectors.

Lexical ranking is BM25 in SQL: each posting of ``rag_postings`` holds its Lucene BM25 weight
(bm25s's formula with the build's df, lengths, k1 and b, computed at publish, as bm25s precomputes
its score matrix) and a query sums the weights of its terms, read by index-only scans of the
covering primary key. Not a ``simple`` tsvector with ``ts_rank``: on the gold questions SQL BM25
reproduces the local ranking while ``ts_rank`` (no IDF) ranks far from it (docs/deployment.md;
:func:`compare_lexical` re-runs the measurement).

:class:`PgSearchRows` gives the index package what it stores per build: the search tokens of each
chunk (the same :func:`tokenize` over :func:`indexed_text` as the local build) and the vectors of
the local FAISS index.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, IndexMismatchError
from ..settings import Settings, check_top_k
from ..types import Chunk, Filters, ScoredChunk
from .bm25 import BM25_PARAMS
from .fusion import reciprocal_rank_fusion
from .hybrid import MIN_DEPTH, RERANK_DEPTH, CrossEncoderReranker, Reranker, allowed_docs
from .query import indexed_text
from .tokenize import tokenize


class PgSearchRows:
    """Search tokens and vectors of a local index, for :func:`rag.index.postgres.publish`."""

    def tokens(self, chunks: Sequence[Chunk]):
        return [tokenize(indexed_text(c)) for c in chunks]

    def bm25_params(self) -> dict[str, float]:
        return {"k1": BM25_PARAMS["k1"], "b": BM25_PARAMS["b"]}

    def vectors(self, index_dir: Path, retrieval_info: dict[str, Any]):
        if not retrieval_info.get("dense"):
            return None
        import faiss

        index = faiss.read_index(str(index_dir / "dense" / "faiss.index"))
        if index.ntotal == 0:
            return np.zeros((0, index.d), dtype=np.float32)
        return np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)


# --------------------------------------------------------------------------- SQL rankers
BM25_SQL = """
SELECT p.row_no, round(sum(p.weight)::real::numeric, 5)::float8 AS score
FROM rag_postings p
WHERE p.build_id = %(build)s AND p.term = ANY(%(terms)s) {where}
GROUP BY p.row_no
ORDER BY score DESC, p.row_no
LIMIT %(depth)s
"""


def bm25_rank(conn, view, query: str, depth: int, docs: list[str] | None) -> list[tuple[int, float]]:
    """(row, BM25 score) best first, like ``BM25Ranker.rank``: bm25s's Lucene scores, ties by row.

    Scores are rounded to 5 decimals (~10 float32 ulps at typical scores) before ordering: bm25s
    sums float32 weights, so chunks whose sums agree to the last bit there differ by an ulp here;
    rounding turns those back into ties, broken by row as locally.
    """
    terms = list(dict.fromkeys(tokenize(query)))
    if not terms or view.n_chunks == 0:
        return []
    sql = BM25_SQL.format(where="AND p.doc_id = ANY(%(docs)s)" if docs is not None else "")
    params = {"build": view.build_id, "terms": terms, "depth": depth, "docs": docs}
    return [(int(r), float(s)) for r, s in conn.execute(sql, params).fetchall()]


# Up to this many chunks the dense ranking scans exactly (the same results as the local FAISS flat
# index); above it the build's HNSW index answers (approximate, recall set by ef_search). An exact
# scan reads the whole rag_chunks rows of the build: at 21,007 chunks it doubled search time.
EXACT_DENSE_MAX = 5_000


def dense_rank(conn, view, encoder, query: str, depth: int, docs: list[str] | None) -> list[tuple[int, float]]:
    """(row, cosine) best first: exact scan for builds up to EXACT_DENSE_MAX chunks, else the build's HNSW index."""
    q = encoder.encode_queries([query])
    if not np.any(q):
        return []
    dim, build = int(view.dense_dim), int(view.build_id)
    vec = "[" + ",".join(repr(float(x)) for x in q[0]) + "]"
    exact = view.n_chunks <= EXACT_DENSE_MAX
    if not exact:
        # HNSW: ef_search bounds how many rows a scan returns; iterative scans keep going under a filter.
        conn.execute(f"SET LOCAL hnsw.ef_search = {max(400, min(1000, 2 * depth))}")
        conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
    where = " AND doc_id = ANY(%(docs)s)" if docs is not None else ""
    # Exact: order by the uncast column, which the HNSW index (on embedding::vector(dim)) cannot serve, so
    # the planner scans the build's rows - the results of FAISS IndexFlatIP.
    # HNSW: build id and dimension as literals, so the partial expression index of this build matches the plan.
    dist = "embedding <#> %(q)s::vector" if exact else f"embedding::vector({dim}) <#> %(q)s::vector({dim})"
    order = f"{dist}, row_no" if exact else dist
    sql = (f"SELECT row_no, -({dist}) AS score FROM rag_chunks "
           f"WHERE build_id = {build}{where} ORDER BY {order} LIMIT %(depth)s")
    return [(int(r), float(s)) for r, s in conn.execute(sql, {"q": vec, "docs": docs, "depth": depth}).fetchall()]


class PgRetriever:
    """HybridRetriever over the ``postgres`` store: SQL BM25 ⊕ pgvector, weighted RRF, optional reranker."""

    def __init__(self, store, settings: Settings, reranker: Reranker | None = None):
        self.store = store
        self.name = settings.retrieval_mode
        self.use_bm25 = settings.retrieval_mode in ("hybrid", "bm25")
        self.use_dense = settings.retrieval_mode in ("hybrid", "dense")
        self.weights = {"bm25": settings.bm25_weight, "dense": settings.dense_weight}
        self.rrf_k = settings.rrf_k
        self.reranker = reranker

    def _encoder(self, conn, view):
        from . import dense

        enc = view.cache.get("encoder")
        if enc is None:
            info = view.manifest.retrieval["dense"]
            folder = self.store.files_dir(conn, view, "dense", skip=("dense/faiss.index",)) if info.get("kind") == "static" else None
            enc = view.cache["encoder"] = dense.encoder_for(folder or Path("."), info)
        return enc

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        """Rank in SQL, fuse by weighted RRF, rerank if configured, cut to ``top_k`` — all from one build."""
        check_top_k(top_k)
        depth = max(MIN_DEPTH, 5 * top_k)
        with self.store.reading() as (conn, view):
            docs = allowed_docs(filters, view.documents)
            if docs is not None and not docs:
                return []
            hits: dict[str, list[tuple[int, float]]] = {}
            if self.use_bm25:
                hits["bm25"] = bm25_rank(conn, view, query, depth, docs)
            if self.use_dense:
                if view.dense_dim:
                    hits["dense"] = dense_rank(conn, view, self._encoder(conn, view), query, depth, docs)
                elif self.name == "dense":
                    raise IndexMismatchError(
                        "retrieval_mode='dense' needs dense vectors, but the index in the database was built with "
                        "embedding_model='none'; set RAG_EMBEDDING_MODEL (e.g. static), rebuild and republish")
            ranked = {name: [str(r) for r, _ in h] for name, h in hits.items()}
            raw = {name: {str(r): s for r, s in h} for name, h in hits.items()}
            fused = reciprocal_rank_fusion(ranked, self.weights, self.rrf_k)
            fused = fused[: max(top_k, RERANK_DEPTH) if self.reranker else top_k]
            chunks = self.store.fetch(conn, view.build_id, [int(f.id) for f in fused])
        results = []
        for f in fused:
            ranks = {"bm25": f.ranks.get("bm25"), "dense": f.ranks.get("dense")}
            scores = {name: raw.get(name, {}).get(f.id) for name in ("bm25", "dense")}
            results.append(ScoredChunk(chunks[int(f.id)], f.score, ranks, scores))
        if self.reranker and results:
            results = self.reranker.rerank(query, results)
        return results[:top_k]


def load_pg_retriever(store, settings: Settings) -> PgRetriever:
    """The retriever for ``settings.retrieval_mode`` over a ``postgres`` store."""
    if not hasattr(store, "reading"):
        raise ConfigError("a postgres retriever needs the postgres store")
    reranker = CrossEncoderReranker(settings.reranker) if settings.reranker else None
    return PgRetriever(store, settings, reranker)


# --------------------------------------------------------------------------- measurement
TSV_SQL = """
SELECT row_no, ts_rank(tsv, q, %(norm)s) AS score
FROM pg_temp.rag_tsv, to_tsquery('simple', %(q)s) q
WHERE tsv @@ q {where}
ORDER BY score DESC, row_no LIMIT %(depth)s
"""


def _tsquery(terms: list[str]) -> str:
    return " | ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in terms)


def compare_lexical(store, questions: Sequence[str], local_rank, k: int = 10) -> dict[str, dict[str, float]]:
    """How close SQL BM25 and ``simple``-tsvector ranking come to the local BM25 ranking, over ``questions``.

    ``local_rank(q, depth)`` gives the local (row, score) list. Per variant: mean overlap@k
    (|top-k ∩ local top-k| / size of the local top-k), mean Kendall tau-b over the rows both top-k lists hold, and the
    share of questions with the same top-1.
    """
    from scipy.stats import kendalltau

    from ..db import connect

    view = store.view
    conn = connect(store.url)  # a temp table needs a writable transaction (readers' snapshots are read-only)
    try:
        conn.execute("CREATE TEMP TABLE rag_tsv (row_no int PRIMARY KEY, tsv tsvector)")
        rows = [(i, " ".join(tokenize(indexed_text(c)))) for i, c in enumerate(store.chunks)]
        conn.execute("INSERT INTO pg_temp.rag_tsv SELECT r, to_tsvector('simple', t) FROM unnest(%s::int[], %s::text[]) AS u(r, t)",
                     ([r for r, _ in rows], [t for _, t in rows]))
        variants = {
            "sql-bm25": lambda q: bm25_rank(conn, view, q, k, None),
            "tsvector ts_rank": lambda q: _tsv(conn, q, k, 0),
            "tsvector ts_rank norm=1": lambda q: _tsv(conn, q, k, 1),
            "tsvector ts_rank_cd": lambda q: _tsv(conn, q, k, 0, cd=True),
        }
        out: dict[str, dict[str, float]] = {}
        for name, rank in variants.items():
            overlaps, taus, top1 = [], [], []
            for q in questions:
                a = [r for r, _ in local_rank(q, k)]
                b = [r for r, _ in rank(q)]
                if not a:
                    continue
                common = [r for r in a if r in b]
                overlaps.append(len(common) / min(k, len(a)))
                top1.append(1.0 if b and b[0] == a[0] else 0.0)
                if len(common) >= 2:
                    tau = kendalltau([a.index(r) for r in common], [b.index(r) for r in common]).statistic
                    taus.append(1.0 if np.isnan(tau) else float(tau))
            out[name] = {f"overlap@{k}": float(np.mean(overlaps)), "kendall_tau": float(np.mean(taus)) if taus else float("nan"),
                         "top1_agree": float(np.mean(top1)), "questions": len(overlaps)}
    finally:
        conn.close()
    return out


def _tsv(conn, query: str, depth: int, norm: int, cd: bool = False) -> list[tuple[int, float]]:
    terms = list(dict.fromkeys(tokenize(query)))
    if not terms:
        return []
    sql = TSV_SQL.format(where="")
    if cd:
        sql = sql.replace("ts_rank(tsv, q, %(norm)s)", "ts_rank_cd(tsv, q, %(norm)s)")
    return [(int(r), float(s)) for r, s in conn.execute(sql, {"q": _tsquery(terms), "norm": norm, "depth": depth}).fetchall()]


