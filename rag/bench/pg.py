"""`rag bench --store postgres`: the same scaled index published to PostgreSQL + pgvector and queried there.

Per scale, after the local figures (:func:`rag.bench.run.bench_scale`), a worker subprocess
(``python -m rag.bench.pg worker``):

1. publishes the just-built local index into a fresh database ``bench_x<scale>`` on the benchmark's
   own server (``rag db start``'s code, data under ``<workdir>/pg``, a Unix socket on this machine),
   timed, then reads the database's size per table;
2. opens the index twice, local files and the database, and runs the benchmark's queries through
   ``Pipeline.search`` (k=10, warm) alternately on each — so the ratio compares both stores under the
   same load — and ``Pipeline.ask`` (extractive) on the database;
3. counts how many top-10 lists are identical to the local store's, and the mean overlap@10.

The benchmark never publishes into ``RAG_DATABASE_URL``: a served database is not a place for test builds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

TABLES = ("rag_postings", "rag_chunks", "rag_terms", "rag_documents", "rag_files", "rag_builds")


def server_url(workdir: Path) -> str:
    """The benchmark's PostgreSQL (started if needed; data in ``workdir/pg``): its URL."""
    from ..db import start

    return start(workdir / "pg")


def stop_server(workdir: Path) -> None:
    from ..db import stop

    stop(workdir / "pg")


def fresh_database(url: str, name: str) -> str:
    """An empty database ``name`` on the server of ``url`` (dropped first if it exists); its conninfo."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return make_conninfo(url, dbname=name)


def _value(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The first column of the one row ``sql`` returns (aggregates always return a row)."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {sql!r}")
    return row[0]


def worker(args: dict[str, Any]) -> dict[str, Any]:
    """Runs in its own process: publish, then local and postgres searches alternately, then asks."""
    import psycopg

    from ..index.postgres import publish
    from ..pipeline import Pipeline
    from ..retrieval.pg import PgSearchRows
    from ..retrieval.tokenize import jieba_module
    from ..settings import Settings
    from .run import _pct, load_queries

    url = args["url"]
    settings = Settings.load().with_(store="local")
    queries, _ = load_queries(args["queries"])
    jieba_module()
    t0 = time.perf_counter()
    build_id = publish(url, settings.index_dir, PgSearchRows())
    publish_s = time.perf_counter() - t0
    with psycopg.connect(url) as conn:
        sizes = {t: _value(conn, "SELECT pg_total_relation_size(%s)", (t,)) / 1e6 for t in TABLES}
        db_mb = _value(conn, "SELECT pg_database_size(current_database())") / 1e6
        postings = _value(conn, "SELECT count(*) FROM rag_postings WHERE build_id = %s", (build_id,))
    local = Pipeline(settings)
    pg = Pipeline(settings.with_(store="postgres", database_url=url))
    local.search(queries[0], top_k=10)
    t0 = time.perf_counter()
    pg.search(queries[0], top_k=10)  # documents, the dense query encoder (unpacked from rag_files), pool
    first_s = time.perf_counter() - t0
    local_ms: list[float] = []
    pg_ms: list[float] = []
    same, overlap = 0, []
    for i, q in enumerate(queries):
        got = {}
        for who in (("local", "pg") if i % 2 == 0 else ("pg", "local")):
            p = local if who == "local" else pg
            t = time.perf_counter()
            got[who] = [r.chunk.id for r in p.search(q, top_k=10)]
            (local_ms if who == "local" else pg_ms).append((time.perf_counter() - t) * 1000)
        same += got["local"] == got["pg"]
        overlap.append(len(set(got["local"]) & set(got["pg"])) / max(len(got["local"]), 1))
    ask_ms = []
    for q in queries[: args.get("asks", 100)]:
        t = time.perf_counter()
        pg.ask(q, mode="extractive")
        ask_ms.append((time.perf_counter() - t) * 1000)
    return {
        "publish_s": round(publish_s, 2), "db_mb": round(db_mb, 1), "table_mb": {k: round(v, 1) for k, v in sizes.items()},
        "postings": postings, "first_search_s": round(first_s, 2),
        "search_p50_ms": round(_pct(pg_ms, 50), 2), "search_p95_ms": round(_pct(pg_ms, 95), 2),
        "local_search_p50_ms": round(_pct(local_ms, 50), 2), "local_search_p95_ms": round(_pct(local_ms, 95), 2),
        "ask_p50_ms": round(_pct(ask_ms, 50), 1), "ask_p95_ms": round(_pct(ask_ms, 95), 1),
        "same_top10": same, "overlap10": round(sum(overlap) / len(overlap), 4) if overlap else None,
        "queries": len(queries),
    }


def bench_postgres(scale: int, base: Path, workdir: Path, env: dict[str, str], queries: int, log=print) -> dict[str, Any]:
    """The postgres figures of one scale (its local index in ``base/index`` is already built)."""
    from .run import _popen_wait4

    url = fresh_database(server_url(workdir), f"bench_x{scale}")
    log(f"×{scale}: publishing to PostgreSQL, then local and postgres searches alternately")
    out = base / "pg_worker.json"
    _, rss, code, tail = _popen_wait4([sys.executable, "-m", "rag.bench.pg", "worker",
                                      json.dumps({"queries": queries, "url": url}), str(out)], env)
    if code != 0:
        raise RuntimeError(f"postgres worker failed ({code}): {tail}")
    res = json.loads(out.read_text(encoding="utf-8"))
    res["worker_rss_mb"] = round(rss, 1)  # both stores open in one process
    if res.get("local_search_p95_ms"):
        res["p95_ratio"] = round(res["search_p95_ms"] / res["local_search_p95_ms"], 2)
        res["p50_ratio"] = round(res["search_p50_ms"] / res["local_search_p50_ms"], 2)
    return res


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Rows of the benchmark table for the postgres store (none when it was not measured)."""
    if not any("postgres" in r for r in rows):
        return []

    def cell(r, fmt):
        pg = r.get("postgres")
        return "—" if pg is None else fmt(pg)

    spec = [
        ("postgres: publish (s) / database (MB)", lambda p: f"{p['publish_s']} / {p['db_mb']}"),
        ("postgres: search p50 / p95 (ms)", lambda p: f"{p['search_p50_ms']} / {p['search_p95_ms']}"),
        ("local, same process, alternating: search p50 / p95 (ms)",
         lambda p: f"{p['local_search_p50_ms']} / {p['local_search_p95_ms']}"),
        ("postgres ÷ local search p95 (p50)", lambda p: f"{p.get('p95_ratio')}× ({p.get('p50_ratio')}×)"),
        ("postgres: ask p50 / p95 (ms)", lambda p: f"{p['ask_p50_ms']} / {p['ask_p95_ms']}"),
        ("postgres: top-10 identical to local / overlap@10",
         lambda p: f"{p['same_top10']}/{p['queries']} / {p['overlap10']}"),
        ("postgres: first search in a process (s)", lambda p: f"{p['first_search_s']}"),
    ]
    return [f"| {label} | " + " | ".join(cell(r, fmt) for r in rows) + " |" for label, fmt in spec]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "worker":
        result = worker(json.loads(sys.argv[2]))
        Path(sys.argv[3]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    else:
        sys.exit("usage: python -m rag.bench.pg worker ARGS_JSON OUT_JSON")
