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


def load_incremental(settings: Settings, reuse: Reuse, progress: Callable[[str, int, int], None] | None = None):
    """A :class:`rag.ingest.CorpusLoad` equal to ``load_corpus(settings)``, ingesting only ``reuse.fresh``."""
    from ..ingest import CorpusLoad, load_corpus

    corpus_dir = settings.corpus_dir
    tmp = Path(tempfile.mkdtemp(prefix="rag-incremental-"))
    try:
        for name in reuse.fresh + ([CATALOG] if (corpus_dir / CATALOG).is_file() else []):
            src = (corpus_dir / name).resolve()
            try:
                os.symlink(src, tmp / name)
            except OSError:
                shutil.copyfile(src, tmp / name)
        fresh = load_corpus(settings.with_(corpus_dir=tmp), progress=progress)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    fresh_docs = {d.path: d for d in fresh.documents}
    fresh_chunks: dict[str, list[Chunk]] = {}
    for c in fresh.chunks:
        fresh_chunks.setdefault(c.doc_id, []).append(c)
    fresh_problems = {p.path: p for p in fresh.problems}
    docs: list[DocumentInfo] = []
    chunks: list[Chunk] = []
    problems: list[DocumentError] = []
    used: set[str] = set()
    for name in sorted(set(reuse.documents) | set(reuse.fresh)):
        if name in reuse.documents:
            doc, doc_chunks = reuse.documents[name], reuse.chunks[reuse.documents[name].doc_id]
        elif name in fresh_docs:
            doc = fresh_docs[name]
            doc_chunks = fresh_chunks[doc.doc_id]
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
