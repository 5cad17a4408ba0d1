"""Build the index directory atomically.

A build writes into a temporary sibling directory and swaps it in with renames, so a crash or a
bad file never leaves a half-written index: the previous one stays usable until the new one is
complete. What the retrieval stage writes is supplied by an :class:`ArtifactWriter` (the pipeline
passes :class:`rag.retrieval.RetrievalArtifacts`), so this package never imports retrieval.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import IndexDamagedError
from ..settings import Settings
from ..types import Chunk
from .manifest import FORMAT, BuildKey, Manifest, corpus_fingerprint, damaged_files, file_table, jsonable, read_manifest
from .store import recover_swap, sweep_leftovers, write_local

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class ArtifactWriter(Protocol):
    """Writes derived files (e.g. BM25 arrays, vectors) for the chunks of a build."""

    @property
    def versions(self) -> dict[str, str]: ...

    def write(self, chunks: Sequence[Chunk], out_dir: Path, progress: Progress | None = None,
              previous: Path | None = None) -> dict[str, Any]:
        """Write the files for ``chunks`` into ``out_dir``; ``previous`` = the index an incremental build replaces."""
        ...


@dataclass
class BuildReport:
    """What ``rag build`` did: "built", or "fresh" (skipped, nothing changed)."""

    status: str
    reason: str
    documents: int = 0
    chunks: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    inferred: list[dict[str, Any]] = field(default_factory=list)  # metadata read from the text of uncatalogued files
    reused: int = 0  # documents taken from the previous index unchanged (an incremental build)
    mode: str = "full"  # "full" or "incremental"


def package_versions(packages) -> dict[str, str]:
    """Installed versions of ``packages`` ("not installed" where missing)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def library_versions() -> dict[str, str]:
    """Versions recorded in the manifest for information (not part of the staleness key)."""
    return package_versions(("fujian-policy-rag", "jieba", "bm25s", "faiss-cpu", "sentence-transformers", "tiktoken",
                             "opencc-python-reimplemented", "numpy"))


def build_key(settings: Settings, artifacts: ArtifactWriter) -> BuildKey:
    """The current build key: corpus hashes, index settings, version numbers and the token counter."""
    from ..ingest import INGEST_VERSION
    from ..tokens import counter_name

    return BuildKey(
        versions={"format": FORMAT, "ingest": INGEST_VERSION, **artifacts.versions},
        settings=jsonable(settings.index_settings()),
        token_counter=counter_name(),
        corpus_hash=corpus_fingerprint(settings.corpus_dir)["hash"],
    )


def _state(settings: Settings, key: BuildKey) -> tuple[str, str, Manifest | None]:
    recover_swap(settings.index_dir)  # a build killed mid-swap left the previous index aside
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexDamagedError as e:
        return "damaged", str(e), None
    if manifest is None:
        return "missing", f"no index at {settings.index_dir}", None
    bad = damaged_files(settings.index_dir, manifest.files, checksums=True)
    if bad:
        return "damaged", f"damaged index file {bad[0]}", manifest
    state, reason, _ = manifest.compare(key)
    return state, reason, manifest


def index_status(settings: Settings, artifacts: ArtifactWriter) -> tuple[str, str]:
    """("fresh" | "missing" | "stale" | "damaged", human-readable reason); file checksums are verified."""
    state, reason, _ = _state(settings, build_key(settings, artifacts))
    return state, reason


# Index files that the manifest does not list: caches a build may reuse (validated by their own keys).
CACHE_DIR = "cache"


def build_index(settings: Settings, artifacts: ArtifactWriter, force: bool = False,
                progress: Progress | None = None, incremental: bool = True) -> BuildReport:
    """Build ``settings.index_dir`` unless it is fresh (or ``force``). Atomic.

    When only corpus files changed since the last build (and not ``force``), only the changed or added
    files are ingested again and the others' documents and chunks are taken from the old index
    (:mod:`rag.index.incremental`); the result equals a full build. Retrieval artifacts are always
    written over all chunks (the writer may keep its own cache under ``cache/``).
    """
    from ..ingest import bad_names, inferred_record, reason_zh
    from .incremental import ingest_keys, load_all, load_incremental, plan

    t0 = time.perf_counter()
    key = build_key(settings, artifacts)
    state, reason, old = _state(settings, key)
    if state == "fresh" and not force and old is not None:
        return BuildReport("fresh", reason, old.counts.get("documents", 0), old.counts.get("chunks", 0), old.skipped,
                           inferred=old.inferred)
    fingerprint = corpus_fingerprint(settings.corpus_dir)
    keys = ingest_keys(settings.corpus_dir, list(fingerprint["files"]))
    if keys is not None:
        fingerprint = {**fingerprint, "ingest": keys}
    reuse = plan(settings, key, old, fingerprint, keys) if incremental and not force and state == "stale" else None
    if reuse is not None:
        loaded = load_incremental(settings, reuse, progress=progress)
        loaded.problems[:0] = bad_names(settings.corpus_dir)  # not in the fingerprint; load_corpus lists them first
    else:
        loaded = load_all(settings, progress=progress)
    index_dir = settings.index_dir
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(index_dir)  # what killed builds left beside the index
    tmp = index_dir.parent / f".{index_dir.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write_local(tmp, loaded.documents, loaded.chunks)
        retrieval_info = artifacts.write(loaded.chunks, tmp, progress=progress,
                                         previous=index_dir if reuse is not None else None)
        skipped = [{"file": p.path, "reason": p.reason, "reason_zh": reason_zh(p.reason)} for p in loaded.problems]
        inferred = [inferred_record(d) for d in loaded.documents if d.inferred]
        Manifest(
            format=FORMAT,
            versions=key.versions,
            settings=key.settings,
            token_counter=key.token_counter,
            corpus=fingerprint,
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            counts={"documents": len(loaded.documents), "chunks": len(loaded.chunks)},
            skipped=skipped,
            inferred=inferred,
            retrieval=retrieval_info,
            libraries=library_versions(),
            files={k: v for k, v in file_table(tmp).items() if not k.startswith(CACHE_DIR + "/")},
        ).write(tmp)
        _swap_in(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    reused = len(reuse.documents) if reuse is not None else 0
    return BuildReport("built", reason, len(loaded.documents), len(loaded.chunks), skipped, time.perf_counter() - t0,
                       inferred, reused=reused, mode="incremental" if reuse is not None else "full")


def _swap_in(new: Path, target: Path) -> None:
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        if old.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
