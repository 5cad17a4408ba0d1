"""Writing the ``postgres`` index store: schema versions and migrations, publishing a build, export.

Publishing (:func:`publish`) writes a whole build in ONE transaction and switches ``rag_active``
in it: readers see the old build until the commit and the new one after, never a half-written
one; a killed publisher's transaction is rolled back by the server, leaving the previous build
serving. Old builds are deleted after the commit (the previous one is kept). The reading side is
:mod:`rag.index.postgres`.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..db import DatabaseSchemaError, connect, db_errors, redact
from ..errors import ConfigError, IndexDamagedError, IndexMissingError
from ..types import Chunk, DocumentInfo
from .manifest import MANIFEST, BuildKey, Manifest, damaged_files, read_manifest
from .pgschema import MIGRATIONS, SCHEMA_VERSION, TABLES
from .store import write_local

Progress = Callable[[str, int, int], None]
BUILD_LOCK = 0x7261_6701  # pg_advisory_xact_lock key: one publisher (or schema migration) at a time
KEEP_BUILDS = 2  # the active build and the one before it


class SearchRows(Protocol):
    """What the retrieval package derives from a local index for the database (tokens, vectors)."""

    def tokens(self, chunks: Sequence[Chunk]) -> Iterable[list[str]]: ...

    def vectors(self, index_dir: Path, retrieval_info: dict[str, Any]) -> Any: ...  # float32 (n, dim) array or None

    def bm25_params(self) -> dict[str, float]: ...  # {"k1", "b"} of the local BM25


# --------------------------------------------------------------------------- schema
def _program() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"fujian-policy-rag {version('fujian-policy-rag')}"
    except PackageNotFoundError:
        return "fujian-policy-rag"


def schema_version(conn) -> int:
    """The version ``rag_schema`` records (0 for a database this program never set up)."""
    if conn.execute("SELECT to_regclass('rag_schema')").fetchone()[0] is None:
        return 0
    row = conn.execute("SELECT version FROM rag_schema").fetchone()
    return int(row[0]) if row else 0


def _other_version(found: int, url: str) -> DatabaseSchemaError:
    if found > SCHEMA_VERSION:
        return DatabaseSchemaError(
            f"the database at {redact(url)} has schema version {found}, written by a newer version of this program "
            f"(this one knows up to {SCHEMA_VERSION}); upgrade rag, or point RAG_DATABASE_URL at another database")
    return DatabaseSchemaError(
        f"the database at {redact(url)} has schema version {found}, older than this program's {SCHEMA_VERSION}; "
        "run `rag migrate --to postgres` (it upgrades the schema and publishes the index)")


def migrate_schema(conn, url: str) -> int:
    """Apply the missing migrations in one transaction (under the build lock); returns the version now."""
    with conn.transaction():
        if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone() is None:
            raise DatabaseSchemaError(
                f"the PostgreSQL server at {redact(url)} has no pgvector extension; install pgvector there "
                "(it must be available to CREATE EXTENSION vector), or use `rag db start` for a local server that has it")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (BUILD_LOCK,))
        found = schema_version(conn)
        if found > SCHEMA_VERSION:
            raise _other_version(found, url)
        for version, _desc, sql in MIGRATIONS:
            if version > found:
                conn.execute(sql)
                conn.execute("INSERT INTO rag_schema (version, program) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
                             "SET version = EXCLUDED.version, program = EXCLUDED.program, updated = now()",
                             (version, _program()))
        return SCHEMA_VERSION


def check_schema(conn, url: str) -> None:
    """DatabaseSchemaError unless the database is at this program's schema version (readers never migrate)."""
    found = schema_version(conn)
    if found == 0:
        raise IndexMissingError(f"no index in the database at {redact(url)}; run `rag migrate --to postgres` to publish one")
    if found != SCHEMA_VERSION:
        raise _other_version(found, url)


# --------------------------------------------------------------------------- publish
def _writer(url: str):
    # Writers may run long (COPY, CREATE INDEX): no statement timeout, but a stuck open transaction ends.
    return connect(url, options="-c statement_timeout=0 -c idle_in_transaction_session_timeout=600000")


def _read_local(index_dir: Path) -> tuple[Manifest, list[DocumentInfo], list[Chunk]]:
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexMissingError(f"no index found in {index_dir}; run `rag build` first")
    bad = damaged_files(index_dir, manifest.files, checksums=True)
    if bad:
        raise IndexDamagedError(f"damaged index file {bad[0]}; run `rag build --force`")
    docs = json.loads((index_dir / "documents.json").read_text(encoding="utf-8"))
    chunks = [Chunk.from_dict(json.loads(line)) for line in
              (index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return manifest, [DocumentInfo.from_dict(v) for v in docs.values()], chunks


def _vector_text(v) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def publish(url: str, index_dir: Path, rows: SearchRows, progress: Progress | None = None) -> int:
    """Copy the local index in ``index_dir`` into the database as a new build and make it the active one.

    One transaction: nothing is visible until the commit, which switches ``rag_active``; if this
    process dies first, the server rolls everything back. Returns the new build id.
    """
    return publish_changed(url, index_dir, rows, progress, skip_same=False)[0]


def same_build(active: Manifest, local: Manifest) -> bool:
    """Whether ``active`` was built from the same corpus, settings and program versions as ``local``."""
    key = BuildKey(versions=local.versions, settings=local.settings, token_counter=local.token_counter,
                   corpus_hash=str(local.corpus.get("hash", "")))
    return active.compare(key)[0] == "fresh"


def publish_changed(url: str, index_dir: Path, rows: SearchRows, progress: Progress | None = None,
                    skip_same: bool = True) -> tuple[int, bool]:
    """:func:`publish`, except that with ``skip_same`` nothing is written when the active build is
    already one of the same corpus, settings and versions (checked under the build lock, so replicas
    starting together publish once). (build id now active, whether this call published it)."""
    if not url:
        raise ConfigError("RAG_DATABASE_URL is not set; `rag db start` starts a local server and prints one")
    manifest, documents, chunks = _read_local(index_dir)
    manifest_text = (index_dir / MANIFEST).read_text(encoding="utf-8")
    token_lists = list(rows.tokens(chunks))
    if len(token_lists) != len(chunks):
        raise IndexDamagedError(f"tokens for {len(token_lists)} of {len(chunks)} chunks; run `rag build --force`")
    vectors = rows.vectors(index_dir, manifest.retrieval)
    dim = int(vectors.shape[1]) if vectors is not None else None
    lengths = [max(len(t), 1) for t in token_lists]  # bm25s indexes an empty chunk as one empty token
    avg_len = sum(lengths) / len(lengths) if lengths else 1.0
    df: Counter[str] = Counter()
    for toks in token_lists:
        df.update(set(toks))
    params = rows.bm25_params()
    k1, b, n_docs = float(params["k1"]), float(params["b"]), len(chunks)
    idf = {t: math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) for t, d in df.items()}  # bm25s's Lucene IDF
    # The retrieval files the manifest lists (not documents/chunks, which have tables, nor caches beside them).
    files = [index_dir / rel for rel in sorted(manifest.files) if rel not in ("documents.json", "chunks.jsonl")]
    total = len(chunks)
    conn = _writer(url)
    try:
        with db_errors(url):
            migrate_schema(conn, url)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (BUILD_LOCK,))
                if skip_same:
                    served = conn.execute("SELECT b.build_id, b.manifest FROM rag_active a "
                                          "JOIN rag_builds b USING (build_id)").fetchone()
                    if served is not None and same_build(Manifest.from_dict(_json(served[1])), manifest):
                        return int(served[0]), False
                build_id = conn.execute(
                    "INSERT INTO rag_builds (status, manifest, n_chunks, avg_len, dense_dim, k1, b) "
                    "VALUES ('building', %s, %s, %s, %s, %s, %s) RETURNING build_id",
                    (manifest_text, len(chunks), avg_len, dim, k1, b)).fetchone()[0]
                cur = conn.cursor()
                with cur.copy("COPY rag_documents (build_id, position, doc_id, info) FROM STDIN") as cp:
                    for i, d in enumerate(documents):
                        cp.write_row((build_id, i, d.doc_id, json.dumps(d.to_dict(), ensure_ascii=False)))
                with cur.copy("COPY rag_chunks (build_id, row_no, chunk_id, doc_id, data, embedding) FROM STDIN") as cp:
                    for row, c in enumerate(chunks):
                        emb = _vector_text(vectors[row]) if vectors is not None else None
                        cp.write_row((build_id, row, c.id, c.doc_id, json.dumps(c.to_dict(), ensure_ascii=False), emb))
                        if progress and (row % 500 == 0 or row == total - 1):
                            progress("publishing chunks", row + 1, total)
                with cur.copy("COPY rag_terms (build_id, term, df) FROM STDIN") as cp:
                    for term, n in df.items():
                        cp.write_row((build_id, term, n))
                with cur.copy("COPY rag_postings (build_id, term, row_no, tf, doc_len, doc_id, weight) FROM STDIN") as cp:
                    for row, (toks, c) in enumerate(zip(token_lists, chunks)):
                        norm = k1 * (1 - b + b * lengths[row] / avg_len)
                        for term, tf in Counter(toks).items():
                            cp.write_row((build_id, term, row, tf, lengths[row], c.doc_id, idf[term] * tf / (tf + norm)))
                        if progress and (row % 500 == 0 or row == total - 1):
                            progress("publishing postings", row + 1, total)
                with cur.copy("COPY rag_files (build_id, path, sha256, data) FROM STDIN") as cp:
                    for p in files:
                        data = p.read_bytes()
                        cp.write_row((build_id, p.relative_to(index_dir).as_posix(), hashlib.sha256(data).hexdigest(), data))
                if dim:
                    if progress:
                        progress("building the HNSW index", 0, 1)
                    # One partial index per build: the query names the build id as a literal so the planner uses it.
                    conn.execute(f"CREATE INDEX rag_chunks_hnsw_{int(build_id)} ON rag_chunks USING hnsw "
                                 f"((embedding::vector({dim})) vector_ip_ops) WHERE build_id = {int(build_id)}")
                if progress:
                    progress("committing", 0, 1)
                conn.execute("UPDATE rag_builds SET status = 'ready' WHERE build_id = %s", (build_id,))
                conn.execute("INSERT INTO rag_active (build_id) VALUES (%s) ON CONFLICT (id) DO UPDATE "
                             "SET build_id = EXCLUDED.build_id, activated = now()", (build_id,))
            _cleanup(conn, build_id)
    finally:
        conn.close()
    return int(build_id), True


def _cleanup(conn, active: int) -> None:
    """Delete builds older than the previous one (after the commit: readers of them keep their snapshot)."""
    with conn.transaction():
        old = [r[0] for r in conn.execute(
            "SELECT build_id FROM rag_builds WHERE build_id <> %s ORDER BY build_id DESC OFFSET %s",
            (active, KEEP_BUILDS - 1)).fetchall()]
        if old:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table} WHERE build_id = ANY(%s)", (old,))
            conn.execute("DELETE FROM rag_builds WHERE build_id = ANY(%s)", (old,))
        conn.execute("UPDATE rag_builds SET status = 'retired' WHERE build_id <> %s AND status = 'ready'", (active,))
    conn.autocommit = True
    try:
        for build_id in old:
            conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS rag_chunks_hnsw_{int(build_id)}")
        # VACUUM sets the visibility map, so BM25 reads postings by index-only scans of the covering key.
        conn.execute("VACUUM (ANALYZE) rag_postings, rag_terms, rag_chunks")
    finally:
        conn.autocommit = False


def export_local(url: str, index_dir: Path) -> int:
    """Write the active build back as a local index in ``index_dir`` (atomically; files checked). Returns its build id."""
    from .build import _swap_in

    conn = _writer(url)
    try:
        with db_errors(url), conn.transaction():
            check_schema(conn, url)
            row = conn.execute("SELECT b.build_id, b.manifest FROM rag_active a JOIN rag_builds b USING (build_id)").fetchone()
            if row is None:
                raise IndexMissingError(f"no index in the database at {redact(url)}; run `rag migrate --to postgres`")
            build_id, manifest_text = row
            manifest_text = manifest_text if isinstance(manifest_text, str) else json.dumps(manifest_text, ensure_ascii=False, indent=1)
            docs = [DocumentInfo.from_dict(_json(r[0])) for r in conn.execute(
                "SELECT info FROM rag_documents WHERE build_id = %s ORDER BY position", (build_id,))]
            chunks = [Chunk.from_dict(_json(r[0])) for r in conn.execute(
                "SELECT data FROM rag_chunks WHERE build_id = %s ORDER BY row_no", (build_id,))]
            files = conn.execute("SELECT path, data FROM rag_files WHERE build_id = %s", (build_id,)).fetchall()
    finally:
        conn.close()
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.from-db-", dir=index_dir.parent))
    try:
        write_local(tmp, docs, chunks)
        for path, data in files:
            (tmp / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp / path).write_bytes(bytes(data))
        (tmp / MANIFEST).write_text(manifest_text, encoding="utf-8")
        bad = damaged_files(tmp, Manifest.from_dict(json.loads(manifest_text)).files, checksums=True)
        if bad:
            raise IndexDamagedError(f"the index exported from the database does not match its manifest: {bad[0]}")
        _swap_in(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return int(build_id)


def _json(v):
    return json.loads(v) if isinstance(v, str | bytes) else v
