"""The postgres store (issue #14) against a real PostgreSQL + pgvector started once per session."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.pg_fixture import ROOT, rag_cli, rag_env, start_server

pytest_plugins = ["tests.pg_fixture"]  # the session server (pg_server) and the published seed index (pg_seed)

GOLD = ROOT / "eval" / "gold.jsonl"


def _questions(n: int | None = None) -> list[str]:
    qs = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    return qs[:n] if n else qs


# --------------------------------------------------------------------------- same results as local
def test_search_and_answers_equal_local_store(seed_index, pg_seed):
    """Gold questions: top-10 lists equal to the local store's (ties may swap), answers identical."""
    from rag.pipeline import Pipeline

    local, pg = Pipeline(seed_index), Pipeline(pg_seed[1])
    qs = _questions()
    same, overlap = 0, []
    for q in qs:
        a = [r.chunk.id for r in local.search(q)]
        b = [r.chunk.id for r in pg.search(q)]
        same += a == b
        overlap.append(len(set(a) & set(b)) / max(len(a), 1))
    print(f"identical top-10: {same}/{len(qs)}, mean overlap@10 {sum(overlap) / len(overlap):.4f}")
    assert same >= 0.97 * len(qs)
    assert sum(overlap) / len(overlap) >= 0.995
    for q in qs[:25]:
        la, pa = local.ask(q).to_dict(), pg.ask(q).to_dict()
        for d in (la, pa):
            d.pop("timings_ms", None)
        assert la["answer"] == pa["answer"], q
        assert la["citations"] == pa["citations"], q


def test_sql_bm25_ranks_like_local_bm25_and_tsvector_does_not(seed_index, pg_seed):
    """The measurement behind the choice of SQL BM25 over a `simple` tsvector (docs/deployment.md)."""
    from rag.pipeline import Pipeline
    from rag.retrieval.pg import compare_lexical
    from rag.retrieval.query import clean_query

    local, pg = Pipeline(seed_index), Pipeline(pg_seed[1])
    bm25 = local.retriever.rankers[0]
    res = compare_lexical(pg.index, [clean_query(q) for q in _questions()], lambda q, k: bm25.rank(q, k))
    print(json.dumps(res, indent=1))
    assert res["sql-bm25"]["overlap@10"] >= 0.99 and res["sql-bm25"]["kendall_tau"] >= 0.99
    assert res["sql-bm25"]["top1_agree"] == 1.0
    assert res["tsvector ts_rank"]["overlap@10"] < res["sql-bm25"]["overlap@10"]


def test_filters_and_unknown_values(seed_index, pg_seed):
    from rag.errors import InputError
    from rag.pipeline import Pipeline
    from rag.types import Filters

    local, pg = Pipeline(seed_index), Pipeline(pg_seed[1])
    f = Filters(doc_ids=("quanzhou-action-plan",))
    q = "试点县能得到哪些支持？"
    assert [r.chunk.id for r in pg.search(q, filters=f)] == [r.chunk.id for r in local.search(q, filters=f)]
    assert all(r.chunk.doc_id == "quanzhou-action-plan" for r in pg.search(q, filters=f))
    with pytest.raises(InputError, match="valid values"):
        pg.search(q, filters=Filters(doc_ids=("nope",)))


def test_dense_half_in_pgvector_matches_faiss(tmp_path, corpus_dir, pg_server):
    """With the static embedding model the vectors go to pgvector (HNSW); the ranking matches FAISS."""
    from rag.index.postgres import publish
    from rag.pipeline import Pipeline, build_index
    from rag.retrieval.pg import PgSearchRows
    from rag.settings import Settings

    s = Settings.load(overrides={"corpus_dir": corpus_dir, "index_dir": tmp_path / "index", "embedding_model": "static",
                                 "retrieval_mode": "dense"}, env={})
    build_index(s)
    url = pg_server.database("dense")
    publish(url, s.index_dir, PgSearchRows())
    local, pg = Pipeline(s), Pipeline(s.with_(store="postgres", database_url=url))
    overlaps = []
    for q in _questions(40):
        a = [r.chunk.id for r in local.search(q)]
        b = [r.chunk.id for r in pg.search(q)]
        overlaps.append(len(set(a) & set(b)) / max(len(a), 1))
    print(f"dense overlap@10 pgvector HNSW vs FAISS flat: {sum(overlaps) / len(overlaps):.4f}")
    assert sum(overlaps) / len(overlaps) >= 0.95
    import psycopg

    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'rag_chunks_hnsw_%'").fetchone()[0] == 1


# --------------------------------------------------------------------------- migrate both ways
def test_migrate_to_postgres_and_back_keeps_files_and_ids(tmp_path, seed_index, pg_server):
    from rag.index.manifest import file_table

    url = pg_server.database("roundtrip")
    env = rag_env(RAG_CORPUS_DIR=str(seed_index.corpus_dir), RAG_INDEX_DIR=str(seed_index.index_dir), RAG_DATABASE_URL=url)
    r = rag_cli("migrate", "--to", "postgres", env=env)
    assert r.returncode == 0, r.stderr
    assert "as build 1" in r.stdout
    back = tmp_path / "back"
    r = rag_cli("migrate", "--to", "local", env={**env, "RAG_INDEX_DIR": str(back)})
    assert r.returncode == 0, r.stderr
    from rag.index import read_manifest

    # every file the manifest lists comes back byte for byte (the build's token cache is not part of the index)
    assert file_table(back) == read_manifest(seed_index.index_dir).files
    assert (back / "manifest.json").read_bytes() == (seed_index.index_dir / "manifest.json").read_bytes()
    r = rag_cli("search", "试点县能得到哪些支持？", "-k", "3", "--json", env={**env, "RAG_STORE": "postgres"})
    assert r.returncode == 0, r.stderr
    ids = [x["id"] for x in json.loads(r.stdout)["results"]]
    chunk_ids = {json.loads(line)["id"] for line in (back / "chunks.jsonl").read_text(encoding="utf-8").splitlines()}
    assert ids and set(ids) <= chunk_ids
    r = rag_cli("check", env={**env, "RAG_STORE": "postgres"})
    assert r.returncode == 0 and "index ok" in r.stdout, r.stdout + r.stderr


# --------------------------------------------------------------------------- schema versions, clear messages
def test_database_of_another_version_is_refused_clearly(seed_index, pg_server):
    import psycopg

    from rag.db import DatabaseSchemaError
    from rag.index.postgres import PostgresStore, publish
    from rag.pipeline import _build_key
    from rag.retrieval import RetrievalArtifacts
    from rag.retrieval.pg import PgSearchRows

    url = pg_server.database("otherversion")
    key = _build_key(seed_index, RetrievalArtifacts(seed_index))
    from rag.errors import IndexMissingError

    with pytest.raises(IndexMissingError, match="rag migrate --to postgres"):
        PostgresStore.open(url, key)
    publish(url, seed_index.index_dir, PgSearchRows())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE rag_schema SET version = 99")
    with pytest.raises(DatabaseSchemaError, match="schema version 99, written by a newer version"):
        PostgresStore.open(url, key)
    with pytest.raises(DatabaseSchemaError, match="newer version"):
        publish(url, seed_index.index_dir, PgSearchRows())
    from rag.index.pgschema import SCHEMA_VERSION

    if SCHEMA_VERSION > 1:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE rag_schema SET version = %s", (SCHEMA_VERSION - 1,))
        with pytest.raises(DatabaseSchemaError, match=f"older than this program's {SCHEMA_VERSION}; run `rag migrate --to postgres`"):
            PostgresStore.open(url, key)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE rag_schema SET version = %s", (SCHEMA_VERSION,))
        # an index written by another program version (its manifest's versions differ)
        m = conn.execute("SELECT manifest FROM rag_builds").fetchone()[0]
        m["versions"]["bm25"] = "bm25s-lucene/0"
        conn.execute("UPDATE rag_builds SET manifest = %s::json", (json.dumps(m),))
    from rag.errors import IndexMismatchError

    with pytest.raises(IndexMismatchError, match="another version of this program"):
        PostgresStore.open(url, key)
    env = rag_env(RAG_STORE="postgres", RAG_DATABASE_URL=url)
    r = rag_cli("search", "试点", env=env)
    assert r.returncode == 3 and "Traceback" not in r.stderr and r.stderr.startswith("error: "), r.stderr


def test_missing_pgvector_extension_is_named():
    from rag.db import DatabaseSchemaError
    from rag.index.postgres import migrate_schema

    class NoVector:
        def transaction(self):
            import contextlib

            return contextlib.nullcontext()

        def execute(self, sql, *a):
            class R:
                def fetchone(self):
                    return None
            return R()

    with pytest.raises(DatabaseSchemaError, match="no pgvector extension"):
        migrate_schema(NoVector(), "postgresql://u:secret@db/x")


def test_unknown_store_and_missing_url():
    from rag.errors import ConfigError
    from rag.settings import Settings

    with pytest.raises(ConfigError, match="local, postgres"):
        Settings.load(overrides={"store": "mysql"}, env={})
    r = rag_cli("search", "试点", env=rag_env(RAG_STORE="postgres"))
    assert r.returncode == 2 and "RAG_DATABASE_URL" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- transactional builds
KILLED_BUILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from rag.index.postgres import publish
    from rag.retrieval.pg import PgSearchRows

    def progress(stage, done, total):
        if stage == "publishing postings" and done == total:
            print("MID-TRANSACTION", flush=True)
            time.sleep(120)

    publish(sys.argv[1], Path(sys.argv[2]), PgSearchRows(), progress=progress)
""")


def test_build_killed_mid_transaction_leaves_previous_index_serving(seed_index, pg_server, tmp_path):
    import psycopg

    from rag.index.postgres import publish
    from rag.pipeline import Pipeline
    from rag.retrieval.pg import PgSearchRows

    url = pg_server.database("killed")
    first = publish(url, seed_index.index_dir, PgSearchRows())
    p = Pipeline(seed_index.with_(store="postgres", database_url=url))
    before = [r.chunk.id for r in p.search("试点县能得到哪些支持？")]
    script = tmp_path / "publish.py"
    script.write_text(KILLED_BUILD, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), url, str(seed_index.index_dir)], cwd=ROOT, env=rag_env(),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "MID-TRANSACTION"
        # while the build's transaction is open, readers see only the previous build
        assert [r.chunk.id for r in p.search("试点县能得到哪些支持？")] == before
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [r.chunk.id for r in p.search("试点县能得到哪些支持？")] == before
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT build_id FROM rag_active").fetchone()[0] == first
        assert conn.execute("SELECT count(*) FROM rag_chunks WHERE build_id <> %s", (first,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM rag_builds").fetchone()[0] == 1
    # the killed writer's lock went with its session: the next build goes through
    assert publish(url, seed_index.index_dir, PgSearchRows()) > first


# --------------------------------------------------------------------------- server down mid-query
def test_server_stopped_mid_query_gives_clear_error_and_recovers(pg_dir, seed_index):
    from rag import db
    from rag.index.postgres import publish
    from rag.pipeline import Pipeline
    from rag.retrieval.pg import PgSearchRows

    server = start_server(pg_dir / "pgdown")
    try:
        publish(server.url, seed_index.index_dir, PgSearchRows())
        p = Pipeline(seed_index.with_(store="postgres", database_url=server.url))
        p.ask("试点县能得到哪些支持？")
        errors: list[BaseException] = []
        ok = [0]
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    p.search("专精特新企业有哪些扶持")
                    ok[0] += 1
                except Exception as e:  # noqa: BLE001 - collected and checked below
                    errors.append(e)
                    time.sleep(0.05)

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        db.stop(server.pgdata)
        time.sleep(1.0)
        assert errors, "queries against a stopped server must fail"
        assert all(isinstance(e, db.DatabaseUnavailableError) for e in errors), {type(e).__name__ for e in errors}
        assert any("not reachable" in str(e) and "rag db start" in str(e) for e in errors), str(errors[-1])
        # the CLI says it in one line, exit 6
        r = rag_cli("search", "试点", env=rag_env(RAG_STORE="postgres", RAG_DATABASE_URL=server.url))
        assert r.returncode == 6 and "Traceback" not in r.stderr and "not reachable" in r.stderr, r.stderr
        db.start(server.pgdata)
        deadline = time.monotonic() + 15
        n0 = ok[0]
        while ok[0] == n0 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(10)
        assert ok[0] > n0, "the store did not recover after the server came back"
        assert p.ask("试点县能得到哪些支持？").citations
    finally:
        db.close_pools()
        db.stop(server.pgdata)


# --------------------------------------------------------------------------- replicas + concurrent rebuilds
REBUILDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from rag.index.postgres import publish
    from rag.retrieval.pg import PgSearchRows

    url, a, b, seconds = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
    rows, n, end = PgSearchRows(), 0, time.monotonic() + seconds
    while time.monotonic() < end:
        publish(url, b if n % 2 == 0 else a, rows)
        n += 1
        print("published", n, flush=True)
""")


def _start_replica(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`rag serve` on ``port``, its output to the file ``log`` (a pipe nobody reads would fill and stall it)."""
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def replica_log(proc: subprocess.Popen, tail: int = 3000) -> str:
    """The end of a replica's output (for failure messages)."""
    log = getattr(proc, "log", None)
    return log.read_text(encoding="utf-8", errors="replace")[-tail:] if log is not None and log.is_file() else ""


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"replica exited: {replica_log(proc)}")
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"replica did not start within {timeout:.0f} s: {replica_log(proc)}")


@pytest.mark.slow
def test_two_replicas_answer_while_a_third_process_rebuilds(tmp_path, seed_index, pg_server):
    """1,000 questions over two `rag serve` replicas during rebuilds: 0 errors, each answer from one build."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from rag.index.postgres import publish
    from rag.pipeline import build_index
    from rag.retrieval.pg import PgSearchRows
    from tests.live_server import free_port

    # index B: the same corpus with every document retitled, so an answer's citations tell which build it came from
    corpus_b = tmp_path / "corpus-b"
    shutil.copytree(seed_index.corpus_dir, corpus_b)
    cat = corpus_b / "catalog.toml"
    lines = [(line.rstrip()[:-1] + "·B\"" if line.startswith("title = \"") else line)
             for line in cat.read_text(encoding="utf-8").splitlines()]
    cat.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings_b = seed_index.with_(corpus_dir=corpus_b, index_dir=tmp_path / "index-b")
    build_index(settings_b)

    url = pg_server.database("replicas")
    publish(url, seed_index.index_dir, PgSearchRows())
    env = rag_env(RAG_STORE="postgres", RAG_DATABASE_URL=url, RAG_CORPUS_DIR=str(seed_index.corpus_dir),
                  RAG_INDEX_DIR=str(seed_index.index_dir))
    ports = [free_port(), free_port()]
    replicas = [_start_replica(port, env, tmp_path / f"replica-{i}.log") for i, port in enumerate(ports)]
    rebuilder = None
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, proc in zip(bases, replicas):
            _wait_ready(base, proc)
        script = tmp_path / "rebuild.py"
        script.write_text(REBUILDER, encoding="utf-8")
        rebuilder = subprocess.Popen([sys.executable, str(script), url, str(seed_index.index_dir), str(settings_b.index_dir), "600"],
                                     cwd=ROOT, env=rag_env(), stdout=subprocess.PIPE, text=True)
        qs = _questions()
        n = 1000
        client = httpx.Client(timeout=30)

        def one(i: int):
            try:
                r = client.post(bases[i % 2] + "/api/ask", json={"question": qs[i % len(qs)], "mode": "extractive"})
            except httpx.HTTPError as e:  # counted as an error, with the replicas' output below
                return f"{type(e).__name__} from replica {i % 2}: {e}", {}
            return r.status_code, r.json()

        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            out = list(pool.map(one, range(n)))
        seconds = time.perf_counter() - t0
        errors = [(s, b) for s, b in out if s != 200]
        versions = []
        for _, body in out:
            titles = {c["title"] for c in body.get("citations", [])}
            kinds = {t.endswith("·B") for t in titles}
            assert len(kinds) <= 1, f"an answer mixes builds: {titles}"
            if kinds:
                versions.append(kinds.pop())
        rebuilder.send_signal(signal.SIGTERM)
        rebuilder.wait(timeout=30)
        published = sum(1 for line in rebuilder.stdout.read().splitlines() if line.startswith("published"))
        print(f"{n} questions in {seconds:.1f}s over 2 replicas, {published} rebuilds published meanwhile; "
              f"errors {len(errors)}; answers from A {versions.count(False)}, from B {versions.count(True)}")
        assert not errors, (errors[:3], [(p.poll(), replica_log(p)) for p in replicas])
        assert published >= 2 and True in versions and False in versions
    finally:
        for proc in [*replicas, *([rebuilder] if rebuilder else [])]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def test_thread_sees_documents_of_the_build_it_retrieved_from(tmp_path, seed_index, pg_server):
    """While another thread already searched a newer build, this thread's answer uses its own build's documents."""
    import shutil

    from rag.index.postgres import publish
    from rag.pipeline import Pipeline, build_index
    from rag.retrieval.pg import PgSearchRows

    corpus_b = tmp_path / "corpus-b"
    shutil.copytree(seed_index.corpus_dir, corpus_b)
    cat = corpus_b / "catalog.toml"
    cat.write_text(cat.read_text(encoding="utf-8").replace('title = "福建省县域重点产业链发展白皮书（2024）"',
                                                            'title = "白皮书B"'), encoding="utf-8")
    sb = seed_index.with_(corpus_dir=corpus_b, index_dir=tmp_path / "index-b")
    build_index(sb)
    url = pg_server.database("threads")
    publish(url, seed_index.index_dir, PgSearchRows())
    p = Pipeline(seed_index.with_(store="postgres", database_url=url))
    p.search("白皮书")
    assert p.documents["whitepaper-2024"].title.endswith("（2024）")
    publish(url, sb.index_dir, PgSearchRows())
    seen = {}

    def other():
        p.search("白皮书")
        seen["other"] = p.documents["whitepaper-2024"].title

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen["other"] == "白皮书B"
    assert p.documents["whitepaper-2024"].title.endswith("（2024）")  # this thread has not searched the new build yet
    p.search("白皮书")
    assert p.documents["whitepaper-2024"].title == "白皮书B"


def test_db_cli_start_status_stop(pg_dir):
    d = pg_dir / "clipg"
    env = rag_env()
    r = rag_cli("db", "status", "--dir", str(d), env=env)
    assert r.returncode == 1 and "not running" in r.stdout
    r = rag_cli("db", "start", "--dir", str(d), env=env)
    try:
        assert r.returncode == 0, r.stderr
        url = r.stdout.strip()
        assert url.startswith("postgresql://postgres@/rag?host=")
        r = rag_cli("db", "status", "--dir", str(d), env=env)
        assert r.returncode == 0 and url in r.stdout
    finally:
        r = rag_cli("db", "stop", "--dir", str(d), env=env)
    assert r.returncode == 0 and "stopped" in r.stdout
    assert rag_cli("db", "status", "--dir", str(d), env=env).returncode == 1

