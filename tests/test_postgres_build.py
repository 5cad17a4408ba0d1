"""With RAG_STORE=postgres the database's active build is the index: `rag build`, `rag status`, `rag check`,
`rag serve`'s build-if-stale, and per-build state following a republish (issue #14), against a real server."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

from tests.pg_fixture import rag_cli, rag_env

pytest_plugins = ["tests.pg_fixture"]

NEW_DOC = """关于支持竹缠绕管道推广应用的通知

各县（市、区）工业和信息化局：

为加快竹缠绕管道在县域重点产业链中的推广应用，现将有关事项通知如下。

一、补贴标准

对购置竹缠绕管道的规模以上工业企业，每台给予一次性补贴8000元，每家企业年度补贴总额不超过40万元。

二、申报时间

企业应于每年6月底前向所在县（市、区）工业和信息化局提出申请。

福建省工业和信息化厅
2025年3月10日
"""
NEW_TITLE = "关于支持竹缠绕管道推广应用的通知"
NEW_WORD = "竹缠绕管道"  # in no seed document
# With the corpus words of the old build this question is answered from a finance passage (the new
# word is dropped as "found nowhere"); with the new build's words, from the new document.
QUESTION = "竹缠绕管道企业能拿到什么支持？"


def _corpus_with_new_doc(seed_corpus_dir, dest):
    shutil.copytree(seed_corpus_dir, dest)
    (dest / "bamboo-pipe-notice.txt").write_text(NEW_DOC, encoding="utf-8")
    return dest


def _env(url, corpus, index, **extra):
    return rag_env(RAG_STORE="postgres", RAG_DATABASE_URL=url, RAG_CORPUS_DIR=str(corpus), RAG_INDEX_DIR=str(index),
                   RAG_DATA_DIR=str(index.parent / "data"), **extra)


def test_build_status_and_check_report_the_database(tmp_path, corpus_dir, pg_server):
    url = pg_server.database("cli_build")
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    env = _env(url, corpus, tmp_path / "index")
    r = rag_cli("status", env=env)
    assert r.returncode == 1 and r.stdout.startswith("missing: no index in the database"), r.stdout + r.stderr
    r = rag_cli("build", env=env)
    assert r.returncode == 0, r.stderr
    assert re.search(r"published it to postgresql://\S+ as build 1 in [\d.]+s: 5 documents, \d+ chunks", r.stderr), r.stderr
    r = rag_cli("status", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.match(r"fresh: build 1 in postgresql://\S+ \(5 documents, \d+ chunks, active since [^)]+\): corpus and settings unchanged",
                    r.stdout), r.stdout
    r = rag_cli("check", env=env)
    assert r.returncode == 0 and "index ok" in r.stdout and "fresh: build 1 " in r.stdout, r.stdout + r.stderr
    # the corpus changes: the database's build is stale; the next build publishes build 2 (incrementally built)
    (corpus / "bamboo-pipe-notice.txt").write_text(NEW_DOC, encoding="utf-8")
    r = rag_cli("status", env=env)
    assert r.returncode == 1 and r.stdout.startswith("stale: build 1 ") and "corpus files changed" in r.stdout, r.stdout
    r = rag_cli("build", env=env)
    assert r.returncode == 0 and "as build 2" in r.stderr and "6 documents" in r.stderr, r.stderr
    r = rag_cli("build", env=env)
    assert r.returncode == 0 and "index is up to date (build 2 " in r.stderr, r.stderr
    # the local index is only the staging copy: removing it does not make the database's build stale
    shutil.rmtree(tmp_path / "index")
    r = rag_cli("status", env=env)
    assert r.returncode == 0 and r.stdout.startswith("fresh: build 2 "), r.stdout
    r = rag_cli("ask", QUESTION, "--json", env=env)
    assert r.returncode == 0 and NEW_TITLE in r.stdout, r.stdout + r.stderr


def test_database_down_gives_one_line_for_status_and_build(tmp_path, corpus_dir):
    env = _env("postgresql://postgres@/rag?host=/nonexistent-socket-dir", corpus_dir, tmp_path / "index")
    for cmd in ("status", "build"):
        r = rag_cli(cmd, env=env)
        assert r.returncode == 6 and "Traceback" not in r.stderr and "not reachable" in r.stderr, (cmd, r.stderr)


def test_corpus_words_follow_a_republish_without_restart(tmp_path, seed_index, pg_server):
    """A replica's answerer uses the corpus words of the new build from the first question after a republish."""
    from rag.index.postgres import publish
    from rag.pipeline import Pipeline, build_index
    from rag.retrieval.pg import PgSearchRows
    from rag.text import match_key

    url = pg_server.database("follow")
    publish(url, seed_index.index_dir, PgSearchRows())
    replica = Pipeline(seed_index.with_(store="postgres", database_url=url))
    before = replica.ask(QUESTION)
    assert NEW_TITLE not in {c.title for c in before.citations}
    assert not replica.corpus_terms.occurs(match_key(NEW_WORD))
    sb = seed_index.with_(corpus_dir=_corpus_with_new_doc(seed_index.corpus_dir, tmp_path / "corpus-b"),
                          index_dir=tmp_path / "index-b")
    build_index(sb)
    build_b = publish(url, sb.index_dir, PgSearchRows())
    after = replica.ask(QUESTION)  # the same process, no restart
    assert replica.index.build_id == build_b
    assert replica.corpus_terms.occurs(match_key(NEW_WORD))
    assert [c.title for c in after.citations] and {c.title for c in after.citations} == {NEW_TITLE}, after.to_dict()
    assert "8000元" in after.answer
    assert replica.corpus_terms.section("bamboo-pipe-notice", ())  # the section lookup reads the new build too
    assert NEW_TITLE in replica.documents["bamboo-pipe-notice"].title


def test_replica_without_a_corpus_serves_the_published_build(tmp_path, seed_index, pg_server):
    from rag.index.postgres import publish
    from rag.pipeline import Pipeline
    from rag.retrieval.pg import PgSearchRows

    url = pg_server.database("nocorpus")
    first = publish(url, seed_index.index_dir, PgSearchRows())
    empty = tmp_path / "empty"
    empty.mkdir()
    p = Pipeline(seed_index.with_(store="postgres", database_url=url, corpus_dir=empty, index_dir=tmp_path / "index"))
    state, reason = p.status()
    assert state == "unchecked" and f"build {first} " in reason and "serving it as published" in reason, reason
    report = p.build()
    assert report.status == "fresh" and report.build_id == first and not report.published
    assert not (tmp_path / "index").exists()  # nothing was built, nothing published
    assert p.ask("试点县能得到哪些支持？").citations


def test_publishing_the_same_build_twice_writes_once(seed_index, pg_server):
    """Replicas that find the database stale at the same moment publish once (checked under the build lock)."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    from rag.index.pg_publish import publish_changed
    from rag.retrieval.pg import PgSearchRows

    url = pg_server.database("twice")
    with ThreadPoolExecutor(2) as pool:
        out = list(pool.map(lambda _: publish_changed(url, seed_index.index_dir, PgSearchRows()), range(2)))
    assert sorted(p for _, p in out) == [False, True] and out[0][0] == out[1][0], out
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM rag_builds").fetchone()[0] == 1


def test_serve_builds_into_the_database_and_follows_a_republish(tmp_path, corpus_dir, pg_server):
    """`rag serve` on an empty database builds and publishes; a third process republishes; the replica answers from it."""
    import httpx
    import psycopg

    from tests.live_server import free_port
    from tests.test_postgres import _start_replica, _wait_ready, replica_log

    url = pg_server.database("serve_build")
    port = free_port()
    replica = _start_replica(port, _env(url, corpus_dir, tmp_path / "index-a"), tmp_path / "replica.log")
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, replica, timeout=240)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT build_id FROM rag_active").fetchone()[0] == 1
        health = httpx.get(base + "/api/health", timeout=30).json()
        assert health["index"]["state"] == "fresh" and "build 1 " in health["index"]["reason"], health["index"]
        ask = {"question": QUESTION, "mode": "extractive"}
        before = httpx.post(base + "/api/ask", json=ask, timeout=60).json()
        assert NEW_TITLE not in {c["title"] for c in before["citations"]}
        corpus_b = _corpus_with_new_doc(corpus_dir, tmp_path / "corpus-b")
        r = rag_cli("build", env=_env(url, corpus_b, tmp_path / "index-b"))
        assert r.returncode == 0 and "as build 2" in r.stderr, r.stderr
        after = httpx.post(base + "/api/ask", json=ask, timeout=60).json()
        assert {c["title"] for c in after["citations"]} == {NEW_TITLE}, after
        assert "8000元" in after["answer"]
    finally:
        replica.terminate()
        try:
            replica.wait(timeout=10)
        except subprocess.TimeoutExpired:
            replica.kill()
    lines = replica_log(replica, tail=100_000).splitlines()
    # log lines of rag.serve.app (rag/logs.py format: time, level, logger, message)
    assert any("rag.serve.app: index missing (no index in the database" in line for line in lines), lines
    assert any(re.search(r"rag\.serve\.app: built \S+ and publishing it to the database as build 1: 5 documents", line)
               for line in lines), lines


def test_serve_on_a_fresh_database_does_not_build(tmp_path, seed_index, pg_server):
    """A replica whose corpus matches the active build starts without building anything locally."""
    from rag.index.postgres import publish
    from rag.pipeline import Pipeline
    from rag.retrieval.pg import PgSearchRows
    from rag.serve.app import prepare

    url = pg_server.database("serve_fresh")
    publish(url, seed_index.index_dir, PgSearchRows())
    settings = seed_index.with_(store="postgres", database_url=url, index_dir=tmp_path / "index")
    t0 = time.perf_counter()
    p = prepare(settings)
    assert isinstance(p, Pipeline) and p.status()[0] == "fresh"
    assert not (tmp_path / "index").exists(), f"prepare built a local index ({time.perf_counter() - t0:.1f}s)"
