"""`rag bench`: build and query the scaled corpus, ours against the LangChain peer, side by side.

Per scale (a corpus from :mod:`rag.bench.scale` under ``--workdir``):

1. ``rag build --force`` in a subprocess: wall time and peak RSS (``wait4``), index size on disk;
   optionally an incremental rebuild after one changed and one added file (``--incremental``);
2. a query worker subprocess: builds the peer first (its build time and the process's peak RSS then),
   loads our index (``load_s``: manifest check with checksums, chunks, BM25/dense arrays; jieba is
   already initialised), then runs the queries alternately through ours (``Pipeline.search``, the real
   query path) and the peer, warm, k=10; then ``Pipeline.ask`` (extractive); hit@5 of the gold
   evidence for the answerable gold questions, from those same runs;
3. ``rag serve`` in a subprocess: seconds until ``/api/health`` answers, then the first ``/api/ask``.

Queries: the answerable questions of ``eval/gold.jsonl`` first, then the frozen split and the
paraphrases, up to ``--queries``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
EVAL = ROOT / "eval"


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))]


def _env(corpus: Path, index: Path, embedding: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(RAG_CORPUS_DIR=str(corpus), RAG_INDEX_DIR=str(index), RAG_EMBEDDING_MODEL=embedding,
               RAG_DATA_DIR=str(index.parent / "data"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", RAG_STORE="local")
    return env


def _popen_wait4(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Run ``cmd``; (wall seconds, the child's own peak RSS in MB via wait4, exit code, output tail)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        tail = log.read()[-600:]
    return wall, ru.ru_maxrss / 1024, proc.returncode, tail


def _dir_mb(path: Path, skip: str | None = None) -> float:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not (skip and p.relative_to(path).parts[0] == skip):
            total += p.stat().st_size
    return total / 1e6


def load_queries(n: int) -> tuple[list[str], list[Any]]:
    """(questions, answerable gold items) — gold answerable first, then frozen and paraphrases."""
    from ..eval import load_gold

    gold = [g for g in load_gold(EVAL / "gold.jsonl") if g.answerable and g.evidence]
    qs = [g.question for g in gold]
    for extra in ("frozen.jsonl", "paraphrases.jsonl"):
        path = EVAL / extra
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    obj = json.loads(line)
                    qs.append(obj.get("question") or "")
                    qs.extend(obj.get("paraphrases", []) if isinstance(obj.get("paraphrases"), list) else [])
    seen, out = set(), []
    for q in qs:
        if q and isinstance(q, str) and q not in seen:
            seen.add(q)
            out.append(q)
    return out[:n], gold


# --------------------------------------------------------------------------- the query worker
def worker(args: dict[str, Any]) -> dict[str, Any]:
    """Runs in its own process (``python -m rag.bench.run worker JSON``): peer build, our load, queries."""
    import resource

    from ..eval import evidence_ranks, hit_at_k
    from ..pipeline import Pipeline
    from ..retrieval.tokenize import jieba_module
    from ..settings import Settings
    from ..types import Chunk
    from .peer import Peer, embedding_for

    settings = Settings.load()
    queries, gold = load_queries(args["queries"])
    jieba_module()
    # The peer first, so the process's peak RSS then is the peer's (Python, LangChain, its indexes).
    index_dir = settings.index_dir
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    with (index_dir / "chunks.jsonl").open(encoding="utf-8") as f:
        peer_chunks = [Chunk.from_dict(json.loads(line)) for line in f if line.strip()]
    embedding, emb_name = embedding_for(index_dir, manifest.get("retrieval", {}))
    t0 = time.perf_counter()
    peer = Peer(peer_chunks, embedding, k=10)
    peer_build = time.perf_counter() - t0
    peer_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p = Pipeline(settings)
    t0 = time.perf_counter()
    p.index.chunks  # noqa: B018 - load the index (checksums, chunks)
    p.retriever  # noqa: B018 - and the retrieval arrays
    load_s = time.perf_counter() - t0
    chunks = p.index.chunks
    by_id = p.index.chunk_by_id
    p.search(queries[0], top_k=10)
    peer.search(queries[0])
    ours_ms, peer_ms, ours_res, peer_res = [], [], {}, {}
    for i, q in enumerate(queries):
        order = ("ours", "peer") if i % 2 == 0 else ("peer", "ours")
        for who in order:
            t = time.perf_counter()
            if who == "ours":
                ours_res[q] = [(r.chunk.doc_id, r.chunk.text) for r in p.search(q, top_k=10)]
                ours_ms.append((time.perf_counter() - t) * 1000)
            else:
                peer_res[q] = [(by_id[cid].doc_id, by_id[cid].text) for cid in peer.search(q)]
                peer_ms.append((time.perf_counter() - t) * 1000)
    ask_ms = []
    for q in queries[: args.get("asks", 100)]:
        t = time.perf_counter()
        p.ask(q, mode="extractive")
        ask_ms.append((time.perf_counter() - t) * 1000)

    def hit5(results, any_doc=False):
        hits = []
        for g in gold:
            got = results.get(g.question)
            if got is None:
                continue
            ev = [("" if any_doc else e.doc, e.quote) for e in g.evidence]
            hits.append(hit_at_k(evidence_ranks(got, ev), 5))
        return round(sum(hits) / len(hits), 3) if hits else None

    return {
        "chunks": len(chunks), "queries": len(queries), "gold_items": sum(1 for g in gold if g.question in ours_res),
        "embedding": emb_name,
        "ours": {"load_s": round(load_s, 3), "search_p50_ms": round(_pct(ours_ms, 50), 2),
                 "search_p95_ms": round(_pct(ours_ms, 95), 2), "ask_p50_ms": round(_pct(ask_ms, 50), 1),
                 "ask_p95_ms": round(_pct(ask_ms, 95), 1), "hit5": hit5(ours_res), "hit5_any_doc": hit5(ours_res, True)},
        "peer": {"build_s": round(peer_build, 2), "rss_mb": round(peer_rss, 1),
                 "search_p50_ms": round(_pct(peer_ms, 50), 2), "search_p95_ms": round(_pct(peer_ms, 95), 2),
                 "hit5": hit5(peer_res), "hit5_any_doc": hit5(peer_res, True)},
    }


# --------------------------------------------------------------------------- serve
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_first_answer(env: dict[str, str], question: str, timeout: float = 120) -> dict[str, float | str]:
    """Start ``rag serve``; seconds until /api/health answers, then ms of the first /api/ask (``serve_error`` if not)."""
    import httpx

    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        ready = None
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                return {"serve_error": f"rag serve exited with {proc.returncode}"}
            try:
                if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                    ready = time.perf_counter() - t0
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        if ready is None:
            return {"serve_error": f"not ready after {timeout:.0f} s"}
        t1 = time.perf_counter()
        r = httpx.post(base + "/api/ask", json={"question": question, "mode": "extractive"}, timeout=60)
        first = (time.perf_counter() - t1) * 1000
        t2 = time.perf_counter()
        httpx.post(base + "/api/ask", json={"question": question, "mode": "extractive"}, timeout=60)
        second = (time.perf_counter() - t2) * 1000
        return {"serve_ready_s": round(ready, 2), "serve_first_answer_ms": round(first, 1),
                "serve_second_answer_ms": round(second, 1), "serve_status": r.status_code}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- one scale
def _touch_one_file(corpus: Path) -> list[tuple[Path, bytes | None]]:
    """Change one document and add one (a copy with a new name); returns how to undo it."""
    files = sorted(p for p in corpus.glob("copy*.txt")) or sorted(corpus.glob("*.txt"))
    changed = files[len(files) // 2]
    added = corpus / "zz-bench-added.txt"
    undo = [(changed, changed.read_bytes()), (added, None)]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n（本段为基准测试追加内容：支持县域重点产业链项目用地。）\n",
                       encoding="utf-8")
    added.write_bytes(files[0].read_bytes())
    return undo


def _undo(undo: list[tuple[Path, bytes | None]]) -> None:
    for path, data in undo:
        if data is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(data)


def bench_scale(scale: int, workdir: Path, embedding: str = "static", queries: int = 200, serve: bool = True,
                incremental: bool = False, log=print, store: str = "local") -> dict[str, Any]:
    """Everything for one scale; the object ``rag bench --json`` prints."""
    from .scale import scale_corpus

    base = workdir / f"x{scale}"
    corpus, index = base / "corpus", base / "index"
    marker = base / "scaled.json"
    if not marker.is_file() or json.loads(marker.read_text()).get("source_mtime") != _corpus_mtime():
        log(f"×{scale}: writing the scaled corpus to {corpus}")
        info = scale_corpus(ROOT / "corpus", corpus, scale)
        marker.write_text(json.dumps({**info, "source_mtime": _corpus_mtime()}))
    env = _env(corpus, index, embedding)
    rag = [sys.executable, "-m", "rag"]
    log(f"×{scale}: rag build --force")
    build_s, build_rss, code, tail = _popen_wait4(rag + ["build", "--force"], env)
    if code not in (0, 4):
        raise RuntimeError(f"rag build failed ({code}): {tail}")
    ours: dict[str, Any] = {"build_s": round(build_s, 2), "build_rss_mb": round(build_rss, 1),
                            "index_mb": round(_dir_mb(index, skip="cache"), 1),
                            "token_cache_mb": round(_dir_mb(index / "cache"), 1) if (index / "cache").is_dir() else 0.0}
    if incremental:
        undo = _touch_one_file(corpus)
        try:
            log(f"×{scale}: incremental rag build (one file changed, one added)")
            inc_s, inc_rss, code, tail = _popen_wait4(rag + ["build"], env)
        finally:
            _undo(undo)
        log(f"×{scale}: restoring the index (incremental build back)")
        back_s, _, _, _ = _popen_wait4(rag + ["build"], env)
        ours.update(incremental_build_s=round(inc_s, 2), incremental_rss_mb=round(inc_rss, 1),
                    incremental_back_s=round(back_s, 2))
    log(f"×{scale}: queries (ours and the peer, alternately)")
    wall, _, code, tail = _popen_wait4(rag[:1] + ["-m", "rag.bench.run", "worker", json.dumps({"queries": queries}),
                                                   str(base / "worker.json")], env)
    if code != 0:
        raise RuntimeError(f"query worker failed ({code}): {tail}")
    w = json.loads((base / "worker.json").read_text(encoding="utf-8"))
    ours.update(w["ours"])
    t0 = time.perf_counter()
    cold = subprocess.run(rag + ["search", "试点县能得到哪些支持？", "--json"], env=env, capture_output=True)
    ours["cold_search_s"] = round(time.perf_counter() - t0, 2) if cold.returncode == 0 else None
    if serve:
        log(f"×{scale}: rag serve, time to first answer")
        ours.update(serve_first_answer(env, "试点县能得到哪些支持？"))
    peer = w["peer"]
    ratio = {k: round(ours[k] / peer[k], 3) for k in ("build_s", "search_p50_ms", "search_p95_ms") if peer.get(k)}
    if peer.get("rss_mb"):
        ratio["rss_mb"] = round(ours["build_rss_mb"] / peer["rss_mb"], 3)
    row = {"scale": scale, "chunks": w["chunks"], "embedding": w["embedding"], "queries": w["queries"],
           "gold_items": w["gold_items"], "ours": ours, "peer": peer, "ratio": ratio}
    if store == "postgres":  # the same index published to PostgreSQL (rag/bench/pg.py)
        from .pg import bench_postgres

        row["postgres"] = bench_postgres(scale, base, workdir, env, queries, log)
    return row


def _corpus_mtime() -> float:
    return max(p.stat().st_mtime for p in (ROOT / "corpus").iterdir())


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the rows (one column per scale)."""
    def g(r, side, k, fmt="{}"):
        v = r[side].get(k)
        return "—" if v is None else fmt.format(v)

    lines = ["| figure | " + " | ".join(f"×{r['scale']} ({r['chunks']:,} chunks)" for r in rows) + " |",
             "|---|" + "---|" * len(rows)]
    spec = [
        ("our `rag build` (wall, s)", "ours", "build_s", "{}"), ("peer build (in process, s)", "peer", "build_s", "{}"),
        ("our build peak RSS (MB)", "ours", "build_rss_mb", "{}"), ("peer process peak RSS after its build (MB)", "peer", "rss_mb", "{}"),
        ("our index on disk (MB)", "ours", "index_mb", "{}"), ("our index load (s)", "ours", "load_s", "{}"),
        ("our search p50 / p95 (ms)", "ours", ("search_p50_ms", "search_p95_ms"), None),
        ("peer search p50 / p95 (ms)", "peer", ("search_p50_ms", "search_p95_ms"), None),
        ("our ask p50 / p95 (ms)", "ours", ("ask_p50_ms", "ask_p95_ms"), None),
        ("gold hit@5 ours / peer", None, "hit5", None), ("gold hit@5 any doc ours / peer", None, "hit5_any_doc", None),
        ("cold `rag search` (s)", "ours", "cold_search_s", "{}"), ("`rag serve` ready (s)", "ours", "serve_ready_s", "{}"),
        ("serve first answer (ms)", "ours", "serve_first_answer_ms", "{}"),
        ("incremental build, 1 changed + 1 added (s)", "ours", "incremental_build_s", "{}"),
    ]
    for label, side, k, fmt in spec:
        cells = []
        for r in rows:
            if side is None:
                cells.append(f"{r['ours'].get(k)} / {r['peer'].get(k)}")
            elif isinstance(k, tuple):
                cells.append(f"{g(r, side, k[0])} / {g(r, side, k[1])}")
            else:
                cells.append(g(r, side, k, fmt))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    ratio_cells = [", ".join(f"{k} {v}×" for k, v in r["ratio"].items()) for r in rows]
    lines.append("| ours ÷ peer | " + " | ".join(ratio_cells) + " |")
    from .pg import table_lines

    return "\n".join(lines + table_lines(rows))


def run(scales: list[int], workdir: Path, embedding: str, queries: int, serve: bool, incremental: bool,
        log=print, store: str = "local") -> list[dict[str, Any]]:
    """Every scale in turn; results also saved as ``workdir/results.json``."""
    workdir.mkdir(parents=True, exist_ok=True)
    rows = [bench_scale(s, workdir, embedding, queries, serve, incremental, log, store) for s in scales]
    (workdir / "results.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "worker":
        result = worker(json.loads(sys.argv[2]))
        Path(sys.argv[3]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    else:
        sys.exit("usage: python -m rag.bench.run worker ARGS_JSON OUT_JSON")
