"""Build, describe and load the index directory.

Layout of ``index/`` (every file describes itself; no pickle):

- ``manifest.json``: format version, corpus file hashes, index-affecting settings,
  library versions, counts, skipped files, and what the retrieval stage wrote.
- ``documents.json``: the catalog as resolved at build time.
- ``chunks.jsonl``: one chunk per line (the same lines ``rag chunks`` prints).
- retrieval artifacts written by :func:`rag.retrieve.build_retrieval_artifacts`
  (BM25 arrays, FAISS index, embedding model folder ...).

A build writes into a temporary sibling directory and swaps it in with renames,
so a crash or a bad file never leaves a half-written index: the previous one
stays usable until the new one is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import IndexMismatchError, IndexMissingError
from .settings import Settings
from .types import Chunk, DocumentInfo

FORMAT = "rag-index/1"
# Bump when ingestion or chunking changes output for the same input, so old indexes count as stale.
INGEST_VERSION = "1"

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class LoadedIndex:
    dir: Path
    manifest: dict[str, Any]
    documents: dict[str, DocumentInfo]
    chunks: list[Chunk]
    chunk_by_id: dict[str, Chunk] = field(default_factory=dict)

    def __post_init__(self):
        if not self.chunk_by_id:
            self.chunk_by_id = {c.id: c for c in self.chunks}


@dataclass
class BuildReport:
    status: str  # "built" | "fresh" (skipped, nothing changed)
    reason: str
    documents: int = 0
    chunks: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Files in the corpus dir that the build looks at (hidden files ignored)."""
    if not corpus_dir.is_dir():
        return []
    return sorted(p for p in corpus_dir.iterdir() if p.is_file() and not p.name.startswith("."))


def corpus_fingerprint(corpus_dir: Path) -> dict[str, Any]:
    files = {p.name: _sha256(p) for p in corpus_files(corpus_dir)}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"files": files, "hash": digest}


# Source files whose changes change what a build writes; their hash is part of the manifest,
# so `rag build` (and `make run`) rebuild after an upgrade of the ingestion or index code.
_BUILD_SOURCES = ("ingest", "tokenize.py", "lexical.py", "dense.py", "retrieve.py", "tokens.py", "index.py")


def code_fingerprint() -> str:
    root = Path(__file__).parent
    h = hashlib.sha256()
    for name in _BUILD_SOURCES:
        p = root / name
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p]
        for f in files:
            if f.is_file():
                h.update(f.name.encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def package_versions(packages) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def library_versions() -> dict[str, str]:
    return package_versions(("fujian-policy-rag", "jieba", "bm25s", "faiss-cpu", "sentence-transformers", "tiktoken"))


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    path = index_dir / "manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def index_status(settings: Settings) -> tuple[str, str]:
    """("fresh" | "missing" | "stale", human-readable reason)."""
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        return "missing", f"no index at {settings.index_dir}"
    if manifest.get("format") != FORMAT or manifest.get("ingest_version") != INGEST_VERSION:
        return "stale", "index was written by another version of this program"
    if manifest.get("code") != code_fingerprint():
        return "stale", "ingestion or index code changed since the index was built"
    if manifest.get("settings") != _jsonable(settings.index_settings()):
        return "stale", f"index settings {manifest.get('settings')} differ from {settings.index_settings()}"
    if manifest.get("corpus", {}).get("hash") != corpus_fingerprint(settings.corpus_dir)["hash"]:
        return "stale", "corpus files changed since the index was built"
    return "fresh", "corpus and settings unchanged"


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(d, default=str))


def build_index(settings: Settings, force: bool = False, progress: Progress | None = None) -> BuildReport:
    """Build ``settings.index_dir`` unless it is fresh (or ``force``). Atomic."""
    from .ingest import load_corpus
    from .retrieve import build_retrieval_artifacts

    t0 = time.perf_counter()
    status, reason = index_status(settings)
    if status == "fresh" and not force:
        m = read_manifest(settings.index_dir) or {}
        return BuildReport("fresh", reason, m.get("counts", {}).get("documents", 0), m.get("counts", {}).get("chunks", 0), m.get("skipped", []))
    fingerprint = corpus_fingerprint(settings.corpus_dir)
    loaded = load_corpus(settings, progress=progress)
    index_dir = settings.index_dir
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = index_dir.parent / f".{index_dir.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        (tmp / "documents.json").write_text(
            json.dumps({d.doc_id: d.to_dict() for d in loaded.documents}, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for c in loaded.chunks:
                f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        retrieval_info = build_retrieval_artifacts(loaded.chunks, loaded.documents, settings, tmp, progress=progress)
        skipped = [{"file": p.path, "reason": p.reason} for p in loaded.problems]
        manifest = {
            "format": FORMAT,
            "ingest_version": INGEST_VERSION,
            "code": code_fingerprint(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corpus": fingerprint,
            "settings": _jsonable(settings.index_settings()),
            "versions": library_versions(),
            "counts": {"documents": len(loaded.documents), "chunks": len(loaded.chunks)},
            "skipped": skipped,
            "retrieval": retrieval_info,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _swap_in(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildReport(
        "built", reason, len(loaded.documents), len(loaded.chunks), skipped, time.perf_counter() - t0
    )


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


def load_index(settings: Settings) -> LoadedIndex:
    """Load chunks and documents; raise a clear error when missing or built with other settings."""
    index_dir = settings.index_dir
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexMissingError(f"no index found in {index_dir}; run `rag build` first")
    if manifest.get("format") != FORMAT:
        raise IndexMismatchError(f"index in {index_dir} has format {manifest.get('format')!r}, expected {FORMAT!r}; run `rag build`")
    built_with = manifest.get("settings", {})
    wanted = _jsonable(settings.index_settings())
    if built_with != wanted:
        diff = ", ".join(f"{k}: index={built_with.get(k)!r} now={wanted.get(k)!r}" for k in wanted if built_with.get(k) != wanted.get(k))
        raise IndexMismatchError(f"index in {index_dir} was built with other settings ({diff}); run `rag build` to rebuild it")
    docs_raw = json.loads((index_dir / "documents.json").read_text(encoding="utf-8"))
    documents = {k: DocumentInfo.from_dict(v) for k, v in docs_raw.items()}
    chunks = []
    with (index_dir / "chunks.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                chunks.append(Chunk.from_dict(json.loads(line)))
    return LoadedIndex(index_dir, manifest, documents, chunks)
