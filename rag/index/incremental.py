"""Incremental ingestion: re-read only the corpus files that changed, reuse the rest from the old index.

The previous index already holds what ingestion made of every file (``documents.json``,
``chunks.jsonl``, checksum-verified), and its manifest records each file's sha256 and an *ingest key*
(the file's catalog entry and the corpus's non-document files). A file whose hash and ingest key are
unchanged is taken from there; the others are ingested by the ordinary :func:`rag.ingest.load_corpus`
over a temporary directory that links just those files (and the catalog), so the chunks of a changed
file are exactly what a full build makes. The merge walks the files in the order ``load_corpus``
does and repeats its one cross-file rule (a document id used by an earlier file makes a later file
a problem), so the result equals a full build: same documents, same chunk ids and texts, same order.

It applies only when nothing but the corpus changed (same format, versions, index settings and
token counter); otherwise, and with ``--force``, the build is a full one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DocumentError
from ..settings import Settings
from ..types import Chunk, DocumentInfo
from .manifest import BuildKey, Manifest

CATALOG = "catalog.toml"


def ingest_keys(corpus_dir: Path, names: list[str]) -> dict[str, str] | None:
    """Per file, a hash of what besides its bytes decides its chunks; None when the catalog is unreadable."""
    from ..ingest.loaders import SUPPORTED

    catalog: dict[str, Any] = {}
    path = corpus_dir / CATALOG
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            return None
        catalog = {d["file"]: d for d in data.get("document", []) if isinstance(d, dict) and isinstance(d.get("file"), str)}
    # Files that are neither documents nor the catalog (sidecars, notes): any change re-ingests all.
    others = hashlib.sha256()
    for name in names:
        if name != CATALOG and Path(name).suffix.lower() not in SUPPORTED:
            others.update(name.encode() + b"\0" + (corpus_dir / name).read_bytes() + b"\0")
    other = others.hexdigest()
    return {
        name: hashlib.sha256(json.dumps([catalog.get(name), other], sort_keys=True, default=str).encode()).hexdigest()
        for name in names
    }


@dataclass
class Reuse:
    """What an incremental build may take from the old index."""

    documents: dict[str, DocumentInfo]  # file name -> document
    chunks: dict[str, list[Chunk]]  # doc id -> its chunks, in order
    fresh: list[str] = field(default_factory=list)  # files to ingest again


def plan(settings: Settings, key: BuildKey, old: Manifest | None, fingerprint: dict[str, Any],
         keys: dict[str, str] | None) -> Reuse | None:
    """The reusable documents of the old index, or None when the build must be a full one."""
    if old is None or keys is None or not old.corpus.get("ingest"):
        return None
    if (old.versions, old.settings, old.token_counter) != (key.versions, key.settings, key.token_counter):
        return None
    index_dir = settings.index_dir
    try:
        docs_raw = json.loads((index_dir / "documents.json").read_text(encoding="utf-8"))
        old_docs = {d.path: d for d in (DocumentInfo.from_dict(v) for v in docs_raw.values())}
        chunks: dict[str, list[Chunk]] = {}
        with (index_dir / "chunks.jsonl").open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    c = Chunk.from_dict(json.loads(line))
                    chunks.setdefault(c.doc_id, []).append(c)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    old_files, old_keys = old.corpus.get("files", {}), old.corpus["ingest"]
    reuse = Reuse({}, {})
    for name, sha in fingerprint["files"].items():
        doc = old_docs.get(name)
        if (name != CATALOG and doc is not None and old_files.get(name) == sha and old_keys.get(name) == keys.get(name)
                and doc.doc_id in chunks):
            reuse.documents[name] = doc
            reuse.chunks[doc.doc_id] = chunks[doc.doc_id]
        elif name != CATALOG:
            reuse.fresh.append(name)
    return reuse


PARALLEL_FILES = 40  # ingest in worker processes from this many files on (and with more than one core)


def _ingest_subset(settings: Settings, names: list[str]):
    """``load_corpus`` over just ``names`` of the corpus (a temporary directory of links, plus the catalog)."""
    from ..ingest import load_corpus

    corpus_dir = settings.corpus_dir
    tmp = Path(tempfile.mkdtemp(prefix="rag-incremental-"))
    try:
        for name in names + ([CATALOG] if (corpus_dir / CATALOG).is_file() else []):
            src = (corpus_dir / name).resolve()
            try:
                os.symlink(src, tmp / name)
            except OSError:
                shutil.copyfile(src, tmp / name)
        return load_corpus(settings.with_(corpus_dir=tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _ingest(settings: Settings, names: list[str], progress: Callable[[str, int, int], None] | None) -> list:
    """Ingest ``names``: in forked workers (contiguous slices) when there are many, else in-process; one load a slice."""
    workers = _workers()
    if len(names) < PARALLEL_FILES or workers < 2 or not hasattr(os, "fork"):
        if progress:
            progress("reading documents", 0, len(names))
        out = _ingest_subset(settings, names)
        if progress:
            progress("reading documents", len(names), len(names))
        return [out]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n_slices = workers * 4  # smaller slices: progress, and slow files spread over the workers
    size = -(-len(names) // n_slices)
    slices = [names[i:i + size] for i in range(0, len(names), size)]
    loads, done = [], 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for part, load in zip(slices, pool.map(_ingest_subset, [settings] * len(slices), slices)):
            loads.append(load)
            done += len(part)
            if progress:
                progress("reading documents", done, len(names))
    return loads


def load_all(settings: Settings, progress: Callable[[str, int, int], None] | None = None):
    """``load_corpus(settings)`` on both cores for a large corpus (same result: merged as :func:`load_incremental`)."""
    from ..ingest import bad_names, load_corpus
    from .manifest import corpus_files

    corpus_dir = settings.corpus_dir
    if not corpus_dir.is_dir() or bad_names(corpus_dir):
        return load_corpus(settings, progress=progress)
    names = sorted(p.name for p in corpus_files(corpus_dir) if p.name != CATALOG)
    if len(names) < PARALLEL_FILES or _workers() < 2:
        return load_corpus(settings, progress=progress)
    return load_incremental(settings, Reuse({}, {}, names), progress=progress)


def load_incremental(settings: Settings, reuse: Reuse, progress: Callable[[str, int, int], None] | None = None):
    """A :class:`rag.ingest.CorpusLoad` equal to ``load_corpus(settings)``, ingesting only ``reuse.fresh``."""
    from ..ingest import CorpusLoad

    fresh_docs: dict[str, DocumentInfo] = {}
    fresh_chunks: dict[str, list[Chunk]] = {}  # file name -> its chunks (doc ids are unique within one load)
    fresh_problems: dict[str, DocumentError] = {}
    for load in _ingest(settings, list(reuse.fresh), progress):
        by_doc: dict[str, list[Chunk]] = {}
        for c in load.chunks:
            by_doc.setdefault(c.doc_id, []).append(c)
        for d in load.documents:
            fresh_docs[d.path] = d
            fresh_chunks[d.path] = by_doc.get(d.doc_id, [])
        fresh_problems.update((p.path, p) for p in load.problems)
    docs: list[DocumentInfo] = []
    chunks: list[Chunk] = []
    problems: list[DocumentError] = []
    used: set[str] = set()
    for name in sorted(set(reuse.documents) | set(reuse.fresh)):
        if name in reuse.documents:
            doc, doc_chunks = reuse.documents[name], reuse.chunks[reuse.documents[name].doc_id]
        elif name in fresh_docs:
            doc = fresh_docs[name]
            doc_chunks = fresh_chunks[name]
        else:
            if name in fresh_problems:
                problems.append(fresh_problems[name])
            continue
        if doc.doc_id in used:  # the one cross-file rule of load_corpus
            problems.append(DocumentError(name, f"document id {doc.doc_id!r} is already used by another file"))
            continue
        used.add(doc.doc_id)
        docs.append(doc)
        chunks.extend(doc_chunks)
    return CorpusLoad(docs, chunks, problems)
