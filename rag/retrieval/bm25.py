"""BM25 over jieba search tokens (bm25s; arrays + JSON on disk, no pickle)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexMismatchError
from .tokenize import tokenize

# Lucene BM25 with the usual parameters; chunks are short paragraphs, so length
# normalisation (b) matters less than for whole documents.
BM25_PARAMS: dict[str, Any] = {"method": "lucene", "k1": 1.2, "b": 0.75}


# Bump when the saved layout or scoring changes; the index records it.
VERSION = "bm25s-lucene/1"


def _first_seen_vocab(token_lists: Sequence[Sequence[str]]) -> dict[str, int]:
    """Token -> column, in order of first occurrence (deterministic, unlike a set's order)."""
    vocab: dict[str, int] = {}
    for toks in token_lists:
        for t in toks:
            if t not in vocab:
                vocab[t] = len(vocab)
    return vocab


def score_matrix(token_lists: Sequence[Sequence[str]], vocab: dict[str, int]) -> Any:
    """The chunk x token BM25 matrix (CSC, float32) that ``bm25s.BM25.index`` builds, vectorised.

    bm25s computes it one document at a time in Python (a Counter and small arrays per chunk; ~35 s
    and ~800 MB of Python ints at 200k chunks); this is the same arithmetic on whole arrays, in the
    same order and precision — IDF by ``math.log`` in float64 stored as float32, the term-frequency
    part in float64, their product stored as float32 — so the values are bit for bit bm25s's
    (tested against it).
    """
    import math

    from .static import count_matrix

    k1, b = float(BM25_PARAMS["k1"]), float(BM25_PARAMS["b"])
    x = count_matrix(token_lists, vocab, len(vocab), dtype=np.float32)  # CSR counts (exact in float32)
    n_docs = len(token_lists)
    lens = np.fromiter(map(len, token_lists), dtype=np.int64, count=n_docs)
    l_avg = lens.mean()
    df = np.bincount(x.indices, minlength=len(vocab))
    idf_of = {int(d): math.log(1 + (n_docs - int(d) + 0.5) / (int(d) + 0.5)) for d in np.unique(df) if d}
    idf = np.zeros(len(vocab), dtype=np.float32)
    nz = df > 0
    idf[nz] = np.array([idf_of[int(d)] for d in df[nz]], dtype=np.float64)
    denom = k1 * ((1 - b) + b * lens / l_avg)  # float64, one per chunk, as bm25s computes it per document
    tf = x.data
    per_entry = np.repeat(denom, np.diff(x.indptr))
    per_entry += tf  # float64 + float32 -> float64, as bm25s's (denominator + tf)
    tfc = tf / per_entry
    del per_entry
    tfc *= idf[x.indices]  # float32 IDF times the float64 part, as bm25s's idf * tfc
    x.data = tfc.astype(np.float32)
    del tfc
    return x.tocsc()


def build(out_dir: Path, token_lists: Sequence[list[str]], chunk_ids: Sequence[str]) -> dict:
    """Index ``token_lists`` (one per chunk) for bm25s and save to ``out_dir``; returns manifest info.

    The score matrix is computed by :func:`score_matrix` (what ``BM25.index`` computes, on whole arrays)
    and saved by bm25s itself, so the files are bm25s's and ``BM25.load`` reads them.
    """
    import bm25s

    retriever = bm25s.BM25(**BM25_PARAMS)
    # A chunk with no tokens would make bm25s fail; the empty-string token bm25s reserves keeps rows aligned.
    corpus = [toks if toks else [""] for toks in token_lists]
    vocab = _first_seen_vocab(corpus)
    m = score_matrix(corpus, vocab)
    retriever.scores = {"data": m.data, "indices": m.indices.astype(np.int32, copy=False),
                        "indptr": m.indptr.astype(np.int32, copy=False) if m.nnz < 2**31 else m.indptr,
                        "num_docs": len(corpus)}
    retriever.nonoccurrence_array = None
    if "" not in vocab:  # what BM25.index(create_empty_token=True) adds after the matrix
        vocab[""] = len(vocab)
    retriever.vocab_dict = vocab
    retriever.unique_token_ids_set = set(vocab.values())
    out_dir.mkdir(parents=True, exist_ok=True)
    retriever.save(str(out_dir), show_progress=False)
    (out_dir / "chunk_ids.json").write_text(json.dumps(list(chunk_ids), ensure_ascii=False), encoding="utf-8")
    return {"params": BM25_PARAMS, "vocab_size": len(vocab), "documents": len(corpus)}


def load(bm25_dir: Path, info: dict, chunk_ids: Sequence[str]) -> BM25Ranker:
    """The ranker saved by :func:`build` in ``bm25_dir`` (``info`` is what build returned)."""
    return BM25Ranker(bm25_dir, chunk_ids)


class BM25Ranker:
    """Ranks chunk rows by BM25 score; only rows with a positive score are candidates."""

    name = "bm25"

    def __init__(self, bm25_dir: Path, chunk_ids: Sequence[str]):
        import bm25s

        saved_ids = json.loads((bm25_dir / "chunk_ids.json").read_text(encoding="utf-8"))
        if saved_ids != list(chunk_ids):
            raise IndexMismatchError(f"BM25 index in {bm25_dir} does not match chunks.jsonl; run `rag build --force`")
        self._bm25 = bm25s.BM25.load(str(bm25_dir), show_progress=False)
        self._vocab = self._bm25.vocab_dict
        self._n = len(saved_ids)

    def rank(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, score) pairs, best first, at most ``depth``; ``allowed`` is a boolean row mask."""
        ids = list(dict.fromkeys(self._vocab[t] for t in tokenize(query) if t in self._vocab))
        if not ids:
            return []
        scores = self._bm25.get_scores(ids)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        return top_rows(scores, depth, positive_only=True)


def top_rows(scores: np.ndarray, depth: int, positive_only: bool = False) -> list[tuple[int, float]]:
    """Rows of the ``depth`` highest scores, best first; ties broken by row order (deterministic)."""
    rows = np.flatnonzero(scores > 0) if positive_only else np.arange(len(scores))
    if len(rows) == 0:
        return []
    sub = scores[rows]
    if len(rows) > depth:
        # Keep everything tied with the depth-th score, so ties are cut by row order below.
        threshold = np.partition(sub, len(sub) - depth)[len(sub) - depth]
        keep = sub >= threshold
        rows, sub = rows[keep], sub[keep]
    order = np.lexsort((rows, -sub))[:depth]
    return [(int(rows[i]), float(sub[i])) for i in order]
