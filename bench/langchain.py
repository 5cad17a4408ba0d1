"""What the LangChain layer costs: warm ``Pipeline.as_runnable().invoke`` vs ``Pipeline.ask`` (extractive), and
``Pipeline.as_retriever().invoke`` vs ``Pipeline.search``, over the gold questions, interleaved.

    .venv/bin/python bench/langchain.py [--gold eval/gold.jsonl] [--rounds 3]

Uses the index of the current settings (``rag build`` first). Prints p50 of each and the p50 of the
per-question difference, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def _ms(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from rag.pipeline import Pipeline

    questions = [json.loads(line)["question"] for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    p = Pipeline()
    chain, retriever = p.as_runnable(mode="extractive"), p.as_retriever()
    p.ask(questions[0], mode="extractive")  # warm-up: index, retriever, jieba, IDF table
    chain.invoke(questions[0])
    rows: dict[str, list[float]] = {"ask": [], "chain": [], "search": [], "retriever": []}
    for _ in range(args.rounds):
        for q in questions:
            rows["ask"].append(_ms(lambda q: p.ask(q, mode="extractive"), q))
            rows["chain"].append(_ms(chain.invoke, q))
            rows["search"].append(_ms(p.search, q))
            rows["retriever"].append(_ms(retriever.invoke, q))
    out = {"questions": len(questions), "runs": len(rows["ask"])}
    out.update({f"{k}_p50_ms": round(statistics.median(v), 2) for k, v in rows.items()})
    out["chain_minus_ask_p50_ms"] = round(statistics.median(c - a for c, a in zip(rows["chain"], rows["ask"], strict=True)), 2)
    out["retriever_minus_search_p50_ms"] = round(
        statistics.median(r - s for r, s in zip(rows["retriever"], rows["search"], strict=True)), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
