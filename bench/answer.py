"""Warm latency of extractive `ask` (retrieve + compose + verify) over the gold questions.

    .venv/bin/python bench/answer.py [--gold eval/gold.jsonl] [--rounds 3]

Loads the index and warms every lazy part with one question, then times ``Pipeline.ask`` for
each gold question ``--rounds`` times and prints p50/p95 in milliseconds (target: p50 <= 100 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from rag.pipeline import Pipeline

    questions = [json.loads(line)["question"] for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    p = Pipeline()
    p.ask(questions[0], mode="extractive")  # warm-up: index, retriever, jieba, IDF table
    times = []
    for _ in range(args.rounds):
        for q in questions:
            t0 = time.perf_counter()
            p.ask(q, mode="extractive")
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(json.dumps({"questions": len(questions), "runs": len(times), "p50_ms": round(statistics.median(times), 2),
                      "p95_ms": round(p95, 2), "max_ms": round(times[-1], 2)}))


if __name__ == "__main__":
    main()
