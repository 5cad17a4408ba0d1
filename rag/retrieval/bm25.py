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


def build(out_dir: Path, token_lists: Sequence[list[str]], chunk_ids: Sequence[str]) -> dict:
    """Index ``token_lists`` (one per chunk) with bm25s and save to ``out_dir``; returns manifest info."""
    import bm25s

    retriever = bm25s.BM25(**BM25_PARAMS)
    # A chunk with no tokens would make bm25s fail; the empty-string token bm25s reserves keeps rows aligned.
    corpus = [toks if toks else [""] for toks in token_lists]
    retriever.index(corpus, show_progress=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    retriever.save(str(out_dir), show_progress=False)
    (out_dir / "chunk_ids.json").write_text(json.dumps(list(chunk_ids), ensure_ascii=False), encoding="utf-8")
    return {"params": BM25_PARAMS, "vocab_size": len(retriever.vocab_dict), "documents": len(corpus)}


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
