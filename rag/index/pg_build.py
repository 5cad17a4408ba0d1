"""``rag build`` / ``rag status`` / ``rag serve``'s build-if-stale with ``store = "postgres"``: the database decides.

The database's active build is the index being served, so it is what "fresh" or "stale" is
measured against (the corpus on this machine and the settings and program version, the same
:meth:`Manifest.compare` as for local files). A build with this store builds the local index in
``index_dir`` as before (incrementally when it can; it is the staging copy) and publishes it in one
transaction, unless the active build already is one of the same corpus, settings and versions,
checked under the build lock, so replicas that start together publish once.

A process whose ``corpus_dir`` holds no files (a replica that serves what others publish) never
publishes: its status is ``"unchecked"`` and it serves the active build as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..db import reading, redact
from ..errors import ConfigError
from ..settings import Settings
from .build import ArtifactWriter, BuildReport, Progress, build_index, build_key
from .manifest import BuildKey, Manifest, corpus_files
from .pg_publish import SearchRows, _json, _other_version, publish_changed, schema_version
from .pgschema import SCHEMA_VERSION


@dataclass
class PublishReport(BuildReport):
    """A :class:`BuildReport` of a build with the postgres store: which build serves, and whether this run published it."""

    build_id: int | None = None
    database: str = ""  # the URL, password masked
    published: bool = False
    local_seconds: float = 0.0  # building the staging index in index_dir
    publish_seconds: float = 0.0


@dataclass(frozen=True)
class DatabaseState:
    """The database's index against this program: state ("fresh" | "stale" | "missing" | "unchecked"), reason, build."""

    state: str
    reason: str
    build_id: int | None = None
    manifest: Manifest | None = None


def _describe(url: str, build_id: int, manifest: Manifest, activated) -> str:
    c = manifest.counts
    when = activated.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if hasattr(activated, "strftime") else str(activated)
    return (f"build {build_id} in {redact(url)} ({c.get('documents', 0)} documents, {c.get('chunks', 0)} chunks, "
            f"active since {when})")


def database_state(url: str, key: BuildKey, corpus_dir: Path) -> DatabaseState:
    """The active build of the database at ``url`` against ``key``; DatabaseUnavailableError when it cannot be reached.

    A database at an older schema is "stale" (a build migrates it); one at a newer schema is refused
    (DatabaseSchemaError), as readers refuse it.
    """
    if not url:
        raise ConfigError("store='postgres' needs RAG_DATABASE_URL; `rag db start` starts a local server and prints it")
    where = redact(url)
    with reading(url) as conn:
        found = schema_version(conn)
        if found == 0:
            return DatabaseState("missing", f"no index in the database at {where}")
        if found > SCHEMA_VERSION:
            raise _other_version(found, url)
        row = conn.execute("SELECT b.build_id, b.manifest, a.activated FROM rag_active a "
                           "JOIN rag_builds b USING (build_id)").fetchone()
    if row is None:
        return DatabaseState("missing", f"no index in the database at {where}")
    build_id, manifest = int(row[0]), Manifest.from_dict(_json(row[1]))
    about = _describe(url, build_id, manifest, row[2])
    if found < SCHEMA_VERSION:
        return DatabaseState("stale", f"{about}: schema version {found}, older than this program's {SCHEMA_VERSION}",
                             build_id, manifest)
    if not corpus_files(corpus_dir):
        return DatabaseState("unchecked", f"{about}: no corpus files in {corpus_dir} to compare it with; "
                                          "serving it as published", build_id, manifest)
    state, reason, _ = manifest.compare(key)
    return DatabaseState(state, f"{about}: {reason}", build_id, manifest)


def db_index_status(settings: Settings, artifacts: ArtifactWriter) -> tuple[str, str]:
    """(state, reason) of the database's active build for ``settings`` — what ``rag status`` prints."""
    st = database_state(settings.database_url, build_key(settings, artifacts), settings.corpus_dir)
    return st.state, st.reason


def build_and_publish(settings: Settings, artifacts: ArtifactWriter, rows: SearchRows, force: bool = False,
                      progress: Progress | None = None) -> PublishReport:
    """``rag build`` with the postgres store: unless the active build is fresh (or ``force``), build
    ``index_dir`` and publish it as the new active build (one transaction)."""
    t0 = time.perf_counter()
    st = database_state(settings.database_url, build_key(settings, artifacts), settings.corpus_dir)
    where = redact(settings.database_url)
    m = st.manifest
    if m is not None and (st.state == "unchecked" or (st.state == "fresh" and not force)):
        return PublishReport("fresh", st.reason, m.counts.get("documents", 0), m.counts.get("chunks", 0), list(m.skipped),
                             inferred=list(m.inferred), build_id=st.build_id, database=where)
    local = build_index(settings, artifacts, force=force, progress=progress)
    t1 = time.perf_counter()
    build_id, published = publish_changed(settings.database_url, settings.index_dir, rows, progress, skip_same=not force)
    t2 = time.perf_counter()
    reason = st.reason if published else f"another process published the same build {build_id} meanwhile"
    return PublishReport("built" if published else "fresh", reason, local.documents, local.chunks, local.skipped, t2 - t0,
                         local.inferred, reused=local.reused, mode=local.mode, build_id=build_id, database=where,
                         published=published, local_seconds=t1 - t0, publish_seconds=t2 - t1)
