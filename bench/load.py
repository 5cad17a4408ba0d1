"""Load on loopback: many concurrent clients asking /api/ask of a live `rag serve`, and the server's memory.

    .venv/bin/python bench/load.py [--clients 50] [--questions 20] [--rounds 2] [--mode extractive] [--json out.json]

Builds the index of ``corpus/`` into a temporary directory (so a running ``index/`` is not touched),
starts ``rag serve`` on 127.0.0.1 as a subprocess, waits for ``/api/health``, then runs ``--clients``
concurrent clients (one asyncio loop, one HTTP connection each), each asking ``--questions``
questions of the dev gold set (``eval/gold.jsonl``) in turn, client *i* starting at question *i* (so
all questions are asked), ``--rounds`` times: 50 × 20 × 2 = 2,000 requests by default. Reports errors
(non-200 or failed requests), requests per second, latency p50/p95/max, and the server's resident
memory (psutil) before the first request and after 1,000 and 2,000 (every ``--sample`` requests),
with the growth from 1,000 to 2,000 (target ≤ 10 %). The machine's load average is printed before
and after: client, server and other work share its cores, so figures depend on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions() -> list[str]:
    out = []
    for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line)["question"])
    return out


def start_server(workdir: Path, port: int, mode: str) -> subprocess.Popen:
    env = {**os.environ, "RAG_CORPUS_DIR": str(ROOT / "corpus"), "RAG_INDEX_DIR": str(workdir / "index"),
           "RAG_DATA_DIR": str(workdir / "data"), "RAG_ANSWER_MODE": mode}
    env.setdefault("TIKTOKEN_CACHE_DIR", str(ROOT.parent / "shared" / "tiktoken"))
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    build = subprocess.run([sys.executable, "-m", "rag", "build"], env=env, cwd=ROOT, capture_output=True, text=True)
    if build.returncode != 0:
        raise SystemExit(f"rag build failed ({build.returncode}): {build.stderr[-2000:]}")
    log = (workdir / "serve.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("rag serve did not become ready")


def rss_mb(proc: psutil.Process) -> float:
    """Resident memory of the server and any children it started, in MB."""
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


async def run_load(url: str, qs: list[str], clients: int, per_client: int, rounds: int, server: psutil.Process,
                   sample_every: int) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    rss: dict[int, float] = {0: rss_mb(server)}
    done = 0

    async def client(i: int) -> None:
        nonlocal done
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
            for j in range(per_client * rounds):
                q = qs[(i + j % per_client) % len(qs)]
                t0 = time.perf_counter()
                try:
                    r = await http.post("/api/ask", json={"question": q})
                    ok = r.status_code == 200 and "answer" in r.json()
                    if not ok:
                        errors.append(f"{r.status_code}: {r.text[:200]}")
                except (httpx.HTTPError, ValueError) as e:
                    errors.append(f"{type(e).__name__}: {e}")
                latencies.append(time.perf_counter() - t0)
                done += 1
                if done % sample_every == 0:
                    rss[done] = rss_mb(server)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    return {"requests": len(latencies), "errors": len(errors), "error_samples": errors[:5], "seconds": round(wall, 2),
            "req_per_s": round(len(latencies) / wall, 1), "p50_s": round(statistics.median(latencies), 3),
            "p95_s": round(pct(latencies, 95), 3), "max_s": round(max(latencies), 3),
            "rss_mb": {str(k): round(v, 1) for k, v in sorted(rss.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--questions", type=int, default=20, help="questions per client and round")
    ap.add_argument("--rounds", type=int, default=2, help="how many times each client asks its questions")
    ap.add_argument("--mode", default="extractive", choices=["extractive", "llm"])
    ap.add_argument("--sample", type=int, default=1000, help="sample the server's RSS every N requests")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = ap.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        port = free_port()
        proc = start_server(Path(tmp), port, args.mode)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            server = psutil.Process(proc.pid)
            result = asyncio.run(run_load(url, questions(), args.clients, args.questions, args.rounds, server,
                                          args.sample))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    rss = result["rss_mb"]
    growth = None
    if "1000" in rss and "2000" in rss:
        growth = round(100 * (rss["2000"] - rss["1000"]) / rss["1000"], 1)
    result.update({"clients": args.clients, "questions_per_client": args.questions, "rounds": args.rounds,
                   "mode": args.mode,
                   "rss_growth_1000_to_2000_pct": growth, "loadavg_before": [round(x, 2) for x in load_before],
                   "loadavg_after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()})
    print(f"{args.clients} clients × {args.questions} questions × {args.rounds} rounds on /api/ask ({args.mode}), loopback, "
          f"{os.cpu_count()} CPUs, load average before {load_before[0]:.2f} / after {result['loadavg_after'][0]:.2f}")
    print(f"  {result['requests']} requests, {result['errors']} errors in {result['seconds']} s: "
          f"{result['req_per_s']} req/s, p50 {result['p50_s']} s, p95 {result['p95_s']} s, max {result['max_s']} s")
    print("  server RSS: " + ", ".join(f"{v} MB after {k}" for k, v in rss.items())
          + (f"; growth 1,000 → 2,000: {growth:+.1f} % (target ≤ 10 %)" if growth is not None else ""))
    for e in result["error_samples"]:
        print(f"  error: {e}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
