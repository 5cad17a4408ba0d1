"""The ``postgres`` index store: the same index in PostgreSQL + pgvector, shared by many app processes.

Layout (``rag/index/pgschema.py``): one row per build in ``rag_builds`` (its manifest, BM25
statistics), documents, chunks (with the embedding in a pgvector column and a per-build HNSW
index), BM25 terms and postings over the jieba search tokens, and the retrieval files of the local
index (``rag_files``: what ``rag migrate --to local`` writes back, and the dense query encoder).
``rag_active`` names the build being served.

Publishing (:func:`publish`, in :mod:`rag.index.pg_publish`) writes a whole build in ONE transaction and switches ``rag_active``
in it: readers see the old build until the commit and the new one after, never a half-written
one; a killed publisher's transaction is rolled back by the server, leaving the previous build
serving. Old builds are deleted after the commit (the previous one is kept).

Reading (:class:`PostgresStore`): app processes hold no BM25 arrays or vectors; each search runs
in one REPEATABLE READ snapshot (:meth:`PostgresStore.reading`) that reads ``rag_active`` and
ranks and fetches from that build only, so every result comes from one build. Documents (small)
are cached per build; the chunk list is loaded only when something asks for all of it.

This package never imports retrieval: the search tokens and vectors of a build come from an
injected :class:`SearchRows` (``rag.retrieval.pg.PgSearchRows``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..db import reading, redact
from ..errors import ConfigError, IndexDamagedError, IndexMismatchError, IndexMissingError
from ..types import Chunk, DocumentInfo
from .manifest import BuildKey, Manifest
from .pg_publish import (  # noqa: F401 - the writing side, re-exported for callers of this module
    BUILD_LOCK,
    KEEP_BUILDS,
    Progress,
    SearchRows,
    _cleanup,
    _json,
    _other_version,
    _program,
    _read_local,
    _vector_text,
    _writer,
    check_schema,
    export_local,
    migrate_schema,
    publish,
    schema_version,
)

T = TypeVar("T")


# --------------------------------------------------------------------------- reading
@dataclass
class BuildView:
    """One build as a search sees it: id, BM25 statistics, dense dimension, documents, retrieval info."""

    build_id: int
    manifest: Manifest
    n_chunks: int
    avg_len: float
    dense_dim: int | None
    documents: dict[str, DocumentInfo]
    cache: dict[str, Any] = field(default_factory=dict)  # per-build objects (the dense query encoder)


class PostgresStore:
    """The active build in PostgreSQL, behind the :class:`rag.index.store.IndexStore` interface.

    ``manifest``/``documents``/``chunks`` describe the build this thread's last search used (the
    newest seen before any); a search (:meth:`reading`) follows ``rag_active`` and uses a newer
    build from the moment it is committed.
    """

    kind = "postgres"

    def __init__(self, url: str, key: BuildKey):
        self.url = url
        self.key = key
        self.dir = Path(f"postgres:{redact(url)}")  # for messages only: nothing is read from it
        self._lock = threading.Lock()
        self._view: BuildView | None = None  # the newest build any search of this process saw
        self._local = threading.local()  # the build this thread's last search used
        self._chunks: dict[int, tuple[list[Chunk], dict[str, Chunk]]] = {}  # the last KEEP_BUILDS builds' chunks
        self._chunks_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, key: BuildKey) -> PostgresStore:
        """The active build at ``url``; a clear error when the server is down, the schema differs or no build exists."""
        if not url:
            raise ConfigError("store='postgres' needs RAG_DATABASE_URL; `rag db start` starts a local server and prints it")
        store = cls(url, key)
        with store.reading():
            pass
        return store

    # ---------------------------------------------------------------- snapshots
    @contextlib.contextmanager
    def reading(self) -> Iterator[tuple[Any, BuildView]]:
        """(connection, build) inside one read-only snapshot; the build is the one active in that snapshot."""
        with reading(self.url) as conn:
            view = self._current(conn)
            self._local.view = view
            yield conn, view

    def _current(self, conn) -> BuildView:
        try:
            row = conn.execute("SELECT a.build_id FROM rag_active a").fetchone()
        except Exception as e:  # noqa: BLE001 - an undefined table: this program never set the database up
            import psycopg

            if isinstance(e, psycopg.errors.UndefinedTable):
                raise IndexMissingError(
                    f"no index in the database at {redact(self.url)}; run `rag migrate --to postgres` to publish one") from None
            raise
        if row is None:
            raise IndexMissingError(f"no index in the database at {redact(self.url)}; run `rag migrate --to postgres` to publish one")
        view = self._view
        if view is not None and view.build_id == row[0]:
            return view
        check_schema(conn, self.url)
        b = conn.execute("SELECT build_id, manifest, n_chunks, avg_len, dense_dim FROM rag_builds WHERE build_id = %s",
                         (row[0],)).fetchone()
        try:
            manifest = Manifest.from_dict(_json(b[1]))
        except (TypeError, ValueError, KeyError) as e:
            raise IndexDamagedError(f"the manifest of build {b[0]} in the database at {redact(self.url)} is unreadable "
                                    f"({type(e).__name__}); run `rag migrate --to postgres` to republish the index") from None
        _, reason, loadable = manifest.compare(self.key)
        if not loadable:
            raise IndexMismatchError(f"index in the database at {redact(self.url)}: {reason}; "
                                     "run `rag build` and `rag migrate --to postgres` with this version to republish it")
        docs = {r[0]: DocumentInfo.from_dict(_json(r[1])) for r in conn.execute(
            "SELECT doc_id, info FROM rag_documents WHERE build_id = %s ORDER BY position", (b[0],))}
        new = BuildView(int(b[0]), manifest, int(b[2]), float(b[3]), b[4], docs)
        with self._lock:
            if self._view is None or self._view.build_id < new.build_id:
                self._view = new
        return new

    def refresh(self) -> BuildView:
        """Follow ``rag_active`` now (one short query): this thread's build becomes the active one.

        The pipeline calls it once per question, so per-build state it keeps (the corpus words)
        is that of the build the question will be searched in, right after a republish."""
        with self.reading() as (_, view):
            return view

    @property
    def view(self) -> BuildView:
        """The build of this thread's last search (so an answer cites the documents of the build it
        retrieved from, even while another thread already sees a newer one), else the newest seen."""
        mine = getattr(self._local, "view", None)
        if mine is not None:
            return mine
        if self._view is None:
            with self.reading():
                pass
        assert self._view is not None
        return self._view

    # ---------------------------------------------------------------- IndexStore
    @property
    def build_id(self) -> int:
        return self.view.build_id

    @property
    def manifest(self) -> Manifest:
        return self.view.manifest

    @property
    def documents(self) -> dict[str, DocumentInfo]:
        return self.view.documents

    @property
    def retrieval_info(self) -> dict[str, Any]:
        return {**self.view.manifest.retrieval, "store": "postgres"}

    def chunks_of(self, view: BuildView) -> tuple[list[Chunk], dict[str, Chunk]]:
        """Every chunk of the build ``view`` (and by id), loaded once per build and kept for the last two builds.

        A build deleted meanwhile (two newer ones published since ``view`` was read) gives what is
        left of it, uncached; the next question follows the active build again."""
        with self._chunks_lock:
            cached = self._chunks.get(view.build_id)
            if cached is None:
                with reading(self.url) as conn:
                    chunks = [Chunk.from_dict(_json(r[0])) for r in conn.execute(
                        "SELECT data FROM rag_chunks WHERE build_id = %s ORDER BY row_no", (view.build_id,))]
                cached = (chunks, {c.id: c for c in chunks})
                if len(chunks) == view.n_chunks:
                    self._chunks[view.build_id] = cached
                    for old in sorted(self._chunks)[:-KEEP_BUILDS]:
                        del self._chunks[old]
            return cached

    def _all_chunks(self) -> tuple[list[Chunk], dict[str, Chunk]]:
        return self.chunks_of(self.view)

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk of the current build, loaded on first use (``rag chunks``, corpus-wide word checks)."""
        return self._all_chunks()[0]

    @property
    def chunk_by_id(self) -> dict[str, Chunk]:
        return self._all_chunks()[1]

    def fetch(self, conn, build_id: int, rows: Sequence[int]) -> dict[int, Chunk]:
        """The chunks at ``rows`` of ``build_id`` (inside a :meth:`reading` snapshot)."""
        if not rows:
            return {}
        return {int(r[0]): Chunk.from_dict(_json(r[1])) for r in conn.execute(
            "SELECT row_no, data FROM rag_chunks WHERE build_id = %s AND row_no = ANY(%s)", (build_id, list(rows)))}

    def files_dir(self, conn, view: BuildView, prefix: str, skip: tuple[str, ...] = ()) -> Path:
        """The build's retrieval files under ``prefix`` (e.g. the dense model) unpacked into a local cache dir."""
        rows = conn.execute("SELECT path, sha256 FROM rag_files WHERE build_id = %s AND path LIKE %s ORDER BY path",
                            (view.build_id, prefix.rstrip("/") + "/%")).fetchall()
        wanted = [(p, s) for p, s in rows if p not in skip]
        digest = hashlib.sha256(json.dumps(wanted).encode()).hexdigest()[:16]
        root = Path(tempfile.gettempdir()) / "rag-pg-files" / digest
        if not (root / ".complete").is_file():
            tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=root.parent if root.parent.exists() else None))
            for path, _ in wanted:
                data = conn.execute("SELECT data FROM rag_files WHERE build_id = %s AND path = %s",
                                    (view.build_id, path)).fetchone()[0]
                (tmp / path).parent.mkdir(parents=True, exist_ok=True)
                (tmp / path).write_bytes(bytes(data))
            (tmp / ".complete").write_text("ok")
            root.parent.mkdir(parents=True, exist_ok=True)
            try:
                tmp.rename(root)
            except OSError:  # another process unpacked the same files first
                shutil.rmtree(tmp, ignore_errors=True)
        return root / prefix.rstrip("/")

    def verify(self) -> list[str]:
        """Counts and artifact checksums of the active build against its manifest (empty when all is well)."""
        bad = []
        with reading(self.url) as conn:
            view = self._current(conn)
            b = view.build_id
            n = conn.execute("SELECT count(*) FROM rag_chunks WHERE build_id = %s", (b,)).fetchone()[0]
            if n != view.manifest.counts.get("chunks", n) or n != view.n_chunks:
                bad.append(f"rag_chunks of build {b} (rows {n}, expected {view.manifest.counts.get('chunks')})")
            d = conn.execute("SELECT count(*) FROM rag_documents WHERE build_id = %s", (b,)).fetchone()[0]
            if d != view.manifest.counts.get("documents", d):
                bad.append(f"rag_documents of build {b} (rows {d}, expected {view.manifest.counts.get('documents')})")
            stored = {p: (s, hashlib.sha256(bytes(data)).hexdigest()) for p, s, data in conn.execute(
                "SELECT path, sha256, data FROM rag_files WHERE build_id = %s", (b,))}
            for rel, want in view.manifest.files.items():
                if rel in ("documents.json", "chunks.jsonl"):
                    continue
                got = stored.get(rel)
                if got is None:
                    bad.append(f"rag_files {rel} of build {b} (missing)")
                elif got[1] != want.get("sha256") or got[0] != got[1]:
                    bad.append(f"rag_files {rel} of build {b} (checksum differs)")
        return bad


class PerBuild(Generic[T]):
    """A value derived from one build (the answerer's corpus words), made again for each build a thread uses.

    :meth:`get` gives the value for the build of this thread's last search (:attr:`PostgresStore.view`),
    made by ``make(view)`` the first time; the last two builds' values are kept (threads still
    answering from the previous build keep theirs).
    """

    def __init__(self, store: PostgresStore, make: Callable[[BuildView], T]):
        self.store = store
        self._make = make
        self._values: dict[int, T] = {}
        self._lock = threading.Lock()

    def get(self) -> T:
        view = self.store.view
        with self._lock:
            value = self._values.get(view.build_id)
            if value is None:
                value = self._values[view.build_id] = self._make(view)
                for old in sorted(self._values)[:-KEEP_BUILDS]:
                    del self._values[old]
            return value


def wait_for_build(url: str, build_id: int, timeout: float = 10.0) -> None:
    """Block until ``build_id`` is the active build (for scripts and tests)."""
    deadline = time.monotonic() + timeout
    while True:
        with reading(url) as conn:
            row = conn.execute("SELECT build_id FROM rag_active").fetchone()
        if row and row[0] >= build_id:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"build {build_id} did not become active")
        time.sleep(0.05)
