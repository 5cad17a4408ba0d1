"""LLM faults and isolation on loopback: fallback latency per fault, and extractive latency under LLM load.

    .venv/bin/python bench/llm_faults.py [--timeout 5] [--llm 40] [--skip-matrix]

Starts the fake OpenAI-compatible server of tests/fake_openai.py and the real app (API + UI,
``rag.serve.app.build_app``) with uvicorn, both on 127.0.0.1, over the index in ``index/`` (built
if missing or stale).

1. Fault matrix: for each fault (hang, slow headers, 500, 429 + Retry-After 60, garbage, unknown
   ids, dropped stream) one ``POST /api/ask`` in LLM mode; prints the seconds to the extractive
   fallback and its notice (target: ≤ RAG_LLM_TIMEOUT + 1 s).
2. Isolation: ``--llm`` concurrent LLM questions against a hanging endpoint while 4 clients send
   extractive /api/ask, /api/search and /api/health; prints their p50/p95 (target: /api/ask p95 < 1 s)
   and the LLM questions' fallback times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.live_server import live_server  # noqa: E402

GOOD = "省工信厅梳理试点县需求清单52项，分由省直相关部门逐项推动落实[1]。"
QUESTION = "试点县能得到哪些支持？"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=5.0, help="RAG_LLM_TIMEOUT for the run")
    ap.add_argument("--llm", type=int, default=40, help="concurrent LLM questions in the isolation run")
    ap.add_argument("--skip-matrix", action="store_true")
    ap.add_argument("--breaker-failures", type=int, default=None,
                    help="RAG_LLM_BREAKER_FAILURES (default: the setting's); a large value shows the deadline alone")
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)  # one warning per failed LLM call would drown the figures

    from rag.pipeline import Pipeline
    from rag.serve.app import build_app
    from rag.settings import Settings

    fake = FakeOpenAI()
    settings = Settings.load(overrides={"llm_base_url": fake.base_url, "llm_model": "fake", "llm_timeout": args.timeout,
                                        "llm_breaker_failures": args.breaker_failures})
    pipeline = Pipeline(settings)
    if pipeline.status()[0] != "fresh":
        pipeline.build()
    pipeline.ask("预热")
    faults = {
        "hang": FakeOpenAI.hang(),
        "slow headers (2×timeout)": FakeOpenAI.slow(args.timeout * 2, GOOD),
        "HTTP 500": FakeOpenAI.status(500),
        "429 + Retry-After: 60": FakeOpenAI.status(429, retry_after="60"),
        "garbage body": FakeOpenAI.raw("<html>not a completion</html>"),
        "unknown ids [37]": FakeOpenAI.text("每个试点县补助1亿元[37]。"),
        "dropped stream": FakeOpenAI.dropped_stream(GOOD * 3, keep=0.6),
    }
    try:
        with live_server(build_app(pipeline)) as base:
            if not args.skip_matrix:
                print(f"fault matrix (RAG_LLM_TIMEOUT={args.timeout:g}s; target ≤ {args.timeout + 1:g}s)")
                for name, reply in faults.items():
                    # a fresh answerer per fault, so the circuit breaker of one does not shorten the next
                    pipeline.__dict__.get("_answerers", {}).pop("llm", None)
                    fake.reply = reply
                    t0 = time.perf_counter()
                    r = httpx.post(base + "/api/ask", json={"question": QUESTION, "mode": "llm"}, timeout=120).json()
                    took = time.perf_counter() - t0
                    why = next((n for n in r["notices"] if "已改用摘录式回答" in n), "")
                    print(f"  {name:26s} {took:6.2f}s  mode={r['mode']:10s} {why}")
            pipeline.__dict__.get("_answerers", {}).pop("llm", None)
            fake.reply = FakeOpenAI.hang()
            llm_took: list[float] = []
            fast: dict[str, list[float]] = {"/api/ask": [], "/api/search": [], "/api/health": []}
            stop = threading.Event()

            def llm_question():
                t0 = time.perf_counter()
                httpx.post(base + "/api/ask", json={"question": QUESTION, "mode": "llm"}, timeout=120)
                llm_took.append(time.perf_counter() - t0)

            def fast_client(i: int):
                with httpx.Client(base_url=base, timeout=60) as c:
                    n = i
                    while not stop.is_set():
                        path = ("/api/ask", "/api/ask", "/api/search", "/api/health")[n % 4]
                        n += 1
                        t0 = time.perf_counter()
                        if path == "/api/health":
                            c.get(path)
                        else:
                            c.post(path, json={"question": "泉州要培育多少条县域重点产业链？"})
                        fast[path].append(time.perf_counter() - t0)

            llm_threads = [threading.Thread(target=llm_question) for _ in range(args.llm)]
            fast_threads = [threading.Thread(target=fast_client, args=(i,)) for i in range(4)]
            t_start = time.perf_counter()
            for t in llm_threads + fast_threads:
                t.start()
            for t in llm_threads:
                t.join()
            stop.set()
            for t in fast_threads:
                t.join()
            wall = time.perf_counter() - t_start
            print(f"\nisolation: {args.llm} concurrent LLM questions against a hanging endpoint "
                  f"(RAG_LLM_TIMEOUT={args.timeout:g}s, breaker after {settings.llm_breaker_failures} failures), "
                  f"4 extractive clients, {wall:.1f}s")
            print(f"  LLM fallback: min {min(llm_took):.2f}s  median {statistics.median(llm_took):.2f}s  "
                  f"max {max(llm_took):.2f}s  (target ≤ {args.timeout + 1:g}s)")
            for path, xs in fast.items():
                print(f"  {path:12s} n={len(xs):4d}  p50 {pct(xs, 50) * 1000:7.1f} ms  p95 {pct(xs, 95) * 1000:7.1f} ms"
                      f"  max {max(xs) * 1000:7.1f} ms")
    finally:
        fake.close()


if __name__ == "__main__":
    main()
