"""Retrieval benchmark: quality of variants on the gold set, warm latency, cold start, memory.

    .venv/bin/python bench/retrieval.py quality     # variant table (tuned and heldout items)
    .venv/bin/python bench/retrieval.py latency     # warm p50/p95, `rag search` cold start, RSS

Quality variants are built in memory from index/chunks.jsonl with the same building blocks as
the real retriever (rag.tokenize, bm25s, rag.dense.fit_static_vectors, rag.fusion); the row
"default (real pipeline)" goes through Pipeline.search on the built index to confirm the numbers.
Metrics reuse the pure functions of rag.eval.metrics. Items tagged "heldout" were not used for tuning.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.eval import HELDOUT_TAG, evidence_ranks, evidence_recall_at_k, hit_at_k, load_gold, mrr_at_k
from rag.retrieval.fusion import reciprocal_rank_fusion
from rag.retrieval.query import indexed_text
from rag.retrieval.bm25 import BM25_PARAMS, top_rows
from rag.settings import Settings
from rag.types import Chunk

DEPTH = 100


# --------------------------------------------------------------------------- metrics
def score_items(items, search: Callable[[str], list[Chunk]]) -> dict[str, float]:
    rank_lists, chars = [], []
    for item in items:
        got = search(item.question)
        ranks = evidence_ranks([(c.doc_id, c.text) for c in got], [(e.doc, e.quote) for e in item.evidence])
        rank_lists.append(ranks)
        chars.extend(len(c.text) for c in got[:10])
    n = len(rank_lists)
    return {
        "n": n,
        "hit@1": sum(hit_at_k(r, 1) for r in rank_lists) / n,
        "hit@5": sum(hit_at_k(r, 5) for r in rank_lists) / n,
        "hit@10": sum(hit_at_k(r, 10) for r in rank_lists) / n,
        "recall@10": sum(evidence_recall_at_k(r, 10) for r in rank_lists) / n,
        "mrr@10": mrr_at_k(rank_lists, 10),
        "chars": statistics.mean(chars) if chars else 0.0,
    }


# --------------------------------------------------------------------------- variants
def _jieba_precise(text: str) -> list[str]:
    from rag.text import search_form
    from rag.retrieval.tokenize import _WORDLIKE, STOPWORDS, jieba_module

    return [t for t in jieba_module().cut(search_form(text)) if t.strip() and t not in STOPWORDS and _WORDLIKE.search(t)]


def _no_stopwords(text: str) -> list[str]:
    from rag.text import search_form
    from rag.retrieval.tokenize import _WORDLIKE, jieba_module

    return [t for t in jieba_module().cut_for_search(search_form(text)) if t.strip() and _WORDLIKE.search(t)]


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def _search_plus_bigrams(text: str) -> list[str]:
    from rag.text import search_form
    from rag.retrieval.tokenize import tokenize

    s = search_form(text)
    grams = [run[i : i + 2] for run in _CJK_RUN.findall(s) for i in range(len(run) - 1)]
    return tokenize(text) + grams


class Variant:
    """In-memory BM25 + static-dense rankers over chunks for one tokeniser / indexed-text choice."""

    def __init__(self, chunks: list[Chunk], tok: Callable[[str], list[str]], text: Callable[[Chunk], str],
                 dim: int = 256, exponent: float = 0.5, dense: bool = True):
        import bm25s

        from rag.retrieval.dense import fit_static_vectors

        self.chunks, self.tok = chunks, tok
        token_lists = [tok(text(c)) for c in chunks]
        self.bm25 = bm25s.BM25(**BM25_PARAMS)
        self.bm25.index([t or [""] for t in token_lists], show_progress=False)
        self.vectors = None
        if dense:
            vocab, vectors = fit_static_vectors(token_lists, dim, exponent)
            self.index = {t: i for i, t in enumerate(vocab)}
            self.vectors = vectors
            self.emb = np.stack([self._embed(t) for t in token_lists])

    def _embed(self, toks: list[str]) -> np.ndarray:
        rows = [self.index.get(t, 0) for t in toks]
        v = self.vectors[rows].mean(axis=0) if rows else np.zeros(self.vectors.shape[1], dtype=np.float32)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def rank_bm25(self, q: str) -> list[int]:
        ids = list(dict.fromkeys(self.bm25.vocab_dict[t] for t in self.tok(q) if t in self.bm25.vocab_dict))
        return [r for r, _ in top_rows(self.bm25.get_scores(ids), DEPTH, positive_only=True)] if ids else []

    def rank_dense(self, q: str) -> list[int]:
        v = self._embed(self.tok(q))
        return [r for r, _ in top_rows(self.emb @ v, DEPTH)] if np.any(v) else []

    def search(self, mode: str, w_dense: float = 0.5, rrf_k: int = 60, k: int = 10) -> Callable[[str], list[Chunk]]:
        def run(q: str) -> list[Chunk]:
            lists = {}
            if mode in ("bm25", "hybrid"):
                lists["bm25"] = [str(r) for r in self.rank_bm25(q)]
            if mode in ("dense", "hybrid"):
                lists["dense"] = [str(r) for r in self.rank_dense(q)]
            fused = reciprocal_rank_fusion(lists, {"bm25": 1.0, "dense": w_dense}, rrf_k)
            return [self.chunks[int(f.id)] for f in fused[:k]]

        return run


def quality(args) -> None:
    from rag.pipeline import Pipeline
    from rag.retrieval.tokenize import tokenize

    settings = Settings.load()
    pipe = Pipeline(settings)
    chunks = pipe.index.chunks
    gold = [g for g in load_gold(ROOT / "eval" / "gold.jsonl") if g.answerable and g.evidence]
    tuned = [g for g in gold if HELDOUT_TAG not in g.tags]
    held = [g for g in gold if HELDOUT_TAG in g.tags]
    full = lambda c: "\n".join(p for p in (" ".join(c.heading_path), c.context, c.text) if p)
    rows: list[tuple[str, Callable[[str], list[Chunk]]]] = []
    base = Variant(chunks, tokenize, full, dim=settings.static_dim)
    rows += [("bm25 (jieba search, heading+context+text)", base.search("bm25")),
             ("dense static LSA d=256", base.search("dense"))]
    for w in (0.25, 0.5, 1.0):
        for k in (10, 60):
            rows.append((f"hybrid dense_weight={w} rrf_k={k}", base.search("hybrid", w, k)))
    if not args.quick and not args.combos:
        for dim, exp in ((128, 0.5), (512, 0.5), (256, 0.0), (256, 1.0)):
            v = Variant(chunks, tokenize, full, dim=dim, exponent=exp)
            rows.append((f"dense static d={dim} S^{exp}", v.search("dense")))
            rows.append((f"hybrid (w=0.5,k=60) static d={dim} S^{exp}", v.search("hybrid")))
        for name, tok, text in (
            ("bm25 text only (no heading/context)", tokenize, lambda c: c.text),
            ("bm25 + document title", tokenize, lambda c: f"{c.title}\n{full(c)}"),
            ("bm25 jieba precise mode", _jieba_precise, full),
            ("bm25 no stopword list", _no_stopwords, full),
            ("bm25 search + CJK bigrams", _search_plus_bigrams, full),
        ):
            rows.append((name, Variant(chunks, tok, text, dense=False).search("bm25")))
    titled = indexed_text
    for name, tok in (("title+part", tokenize), ("title+part + CJK bigrams", _search_plus_bigrams)):
        v = Variant(chunks, tok, titled, dim=settings.static_dim)
        rows.append((f"bm25 {name}", v.search("bm25")))
        rows.append((f"dense {name}", v.search("dense")))
        for w in (0.25, 0.5):
            rows.append((f"hybrid w={w} k=60 {name}", v.search("hybrid", w, 60)))
    rows.append(("default (real pipeline: " + settings.retrieval_mode + ")",
                 lambda q: [r.chunk for r in pipe.search(q, top_k=10)]))
    cols = ("hit@1", "hit@5", "hit@10", "recall@10", "mrr@10", "chars")
    print(f"tuned items: {len(tuned)}, heldout items: {len(held)}, chunks: {len(chunks)}, "
          f"mean chunk chars: {statistics.mean(len(c.text) for c in chunks):.0f}")
    print("| variant | " + " | ".join(f"{c} tuned" for c in cols[:5]) + " | " + " | ".join(f"{c} heldout" for c in cols[:5]) + " | chars@10 |")
    print("|---" * 12 + "|")
    for name, search in rows:
        t, h = score_items(tuned, search), score_items(held, search)
        print(f"| {name} | " + " | ".join(f"{t[c]:.3f}" for c in cols[:5]) + " | "
              + " | ".join(f"{h[c]:.3f}" for c in cols[:5]) + f" | {t['chars']:.0f} |", flush=True)
    if args.misses:
        search = rows[-1][1]
        for g in tuned + held:
            got = search(g.question)
            ranks = evidence_ranks([(c.doc_id, c.text) for c in got], [(e.doc, e.quote) for e in g.evidence])
            if not hit_at_k(ranks, 5):
                print("MISS", g.id, g.question, [e.quote for e in g.evidence], [c.id for c in got[:5]])


# --------------------------------------------------------------------------- latency
def latency(args) -> None:
    import resource

    from rag.pipeline import Pipeline

    pipe = Pipeline(Settings.load())
    questions = [g.question for g in load_gold(ROOT / "eval" / "gold.jsonl")]
    t0 = time.perf_counter()
    pipe.search(questions[0], top_k=10)  # loads index, models, jieba
    first = time.perf_counter() - t0
    times = []
    for _ in range(args.repeat):
        for q in questions:
            t = time.perf_counter()
            pipe.search(q, top_k=10)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p = lambda x: times[min(len(times) - 1, round(x / 100 * (len(times) - 1)))]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mode={pipe.settings.retrieval_mode} model={pipe.settings.embedding_model}: first query (index+models load) "
          f"{first * 1000:.0f} ms; warm over {len(times)} queries: p50 {p(50):.2f} ms, p95 {p(95):.2f} ms, "
          f"max {times[-1]:.2f} ms; peak RSS {rss:.0f} MB")
    rag = str(ROOT / ".venv" / "bin" / "rag")
    cold = []
    for _ in range(args.cold):
        t = time.perf_counter()
        subprocess.run([rag, "search", "试点县能得到哪些支持", "-k", "5"], cwd=ROOT, check=True, capture_output=True,
                       env={**os.environ})
        cold.append(time.perf_counter() - t)
    print(f"`rag search` cold start (subprocess, {args.cold} runs): median {statistics.median(cold):.2f} s, "
          f"max {max(cold):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--quick", action="store_true", help="only bm25/dense/hybrid weights")
    q.add_argument("--combos", action="store_true", help="skip the single-choice variants")
    q.add_argument("--misses", action="store_true", help="list items the default misses in the top 5")
    q.set_defaults(fn=quality)
    lat = sub.add_parser("latency")
    lat.add_argument("--repeat", type=int, default=5)
    lat.add_argument("--cold", type=int, default=5)
    lat.set_defaults(fn=latency)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
