"""Where a built index lives, behind one small interface.

:class:`IndexStore` is what the rest of the program reads: the manifest, the documents, the
chunks, and the retrieval artifacts (a directory the retrieval package wrote and reads back).
:class:`LocalStore` is the default: files in ``index/``. A database-backed store (PostgreSQL +
pgvector) can sit beside it without changes to retrieval or answers.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import IndexDamagedError, IndexMismatchError, IndexMissingError
from ..types import Chunk, DocumentInfo
from .manifest import BuildKey, Manifest, damaged_files, read_manifest


class IndexStore(Protocol):
    """A built index: manifest, documents, chunks, and the retrieval artifacts' location and info."""

    kind: str
    dir: Path

    # read-only for readers: a store may compute them (PostgresStore: the build this thread reads)
    @property
    def manifest(self) -> Manifest: ...

    @property
    def documents(self) -> dict[str, DocumentInfo]: ...

    @property
    def chunks(self) -> list[Chunk]: ...

    @property
    def chunk_by_id(self) -> dict[str, Chunk]: ...

    @property
    def retrieval_info(self) -> dict[str, Any]: ...

    def verify(self) -> list[str]: ...


@dataclass
class LocalStore:
    """An index in a local directory: ``manifest.json``, ``documents.json``, ``chunks.jsonl``, artifacts."""

    dir: Path
    manifest: Manifest
    documents: dict[str, DocumentInfo]
    chunks: list[Chunk]
    chunk_by_id: dict[str, Chunk] = field(default_factory=dict)
    kind: str = "local"

    def __post_init__(self):
        if not self.chunk_by_id:
            self.chunk_by_id = {c.id: c for c in self.chunks}

    @property
    def retrieval_info(self) -> dict[str, Any]:
        """What the retrieval package recorded when it wrote its artifacts."""
        return self.manifest.retrieval

    @classmethod
    def open(cls, index_dir: Path, key: BuildKey) -> LocalStore:
        """Load the index in ``index_dir``; a clear error when it is missing or cannot be used with ``key``."""
        recover_swap(index_dir)
        manifest = read_manifest(index_dir)
        if manifest is None:
            raise IndexMissingError(f"no index found in {index_dir}; run `rag build` first")
        _, reason, loadable = manifest.compare(key)
        if not loadable:
            raise IndexMismatchError(f"index in {index_dir}: {reason}; run `rag build` to rebuild it")
        # Checksums on every load, not just sizes: an overwritten array of the same size would
        # otherwise rank silently differently. sha256 runs at ~1 GB/s, a few ms for the seed index.
        bad = damaged_files(index_dir, manifest.files, checksums=True)
        if bad:
            raise IndexDamagedError(f"damaged index file {bad[0]}; run `rag build --force`")
        path = index_dir / "documents.json"
        try:
            docs_raw = json.loads(path.read_text(encoding="utf-8"))
            documents = {k: DocumentInfo.from_dict(v) for k, v in docs_raw.items()}
            path = index_dir / "chunks.jsonl"
            chunks = []
            with path.open(encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        chunks.append(Chunk.from_dict(json.loads(line)))
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as e:
            raise IndexDamagedError(f"index file {path} is damaged ({type(e).__name__}); run `rag build --force`") from None
        return cls(index_dir, manifest, documents, chunks)

    def verify(self) -> list[str]:
        """Every file against the manifest's sizes and checksums; the damaged ones (empty when all is well)."""
        return damaged_files(self.dir, self.manifest.files, checksums=True)


def _leftover(index_dir: Path, kind: str) -> list[tuple[Path, int]]:
    """``.NAME.{kind}-PID`` directories beside ``index_dir`` (what a build writes or moves aside), with their PIDs."""
    pattern = re.compile(rf"\.{re.escape(index_dir.name)}\.{kind}-(\d+)")
    out = []
    for p in index_dir.parent.glob(f".{index_dir.name}.{kind}-*"):
        m = pattern.fullmatch(p.name)
        if m and p.is_dir():
            out.append((p, int(m.group(1))))
    return out


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a build that may still be using its directories)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_swap(index_dir: Path) -> bool:
    """Put the previous index back when a build was killed between its two renames.

    A build moves ``index/`` aside to ``.index.old-PID`` and its new directory in; killed between the two,
    it leaves no ``index/``. The moved-aside index of a process that no longer runs is renamed back
    (a running build is left to finish its swap). True when an index was put back.
    """
    if index_dir.exists():
        return False
    olds = [(p, pid) for p, pid in _leftover(index_dir, "old") if (p / "manifest.json").is_file() and not process_alive(pid)]
    for old, _ in sorted(olds, key=lambda x: x[0].stat().st_mtime, reverse=True):
        try:
            os.replace(old, index_dir)
            return True
        except OSError:
            continue
    return False


def sweep_leftovers(index_dir: Path) -> list[Path]:
    """Remove the temporary and moved-aside directories of builds that were killed (their process is gone)."""
    import shutil

    recover_swap(index_dir)
    gone = [p for kind in ("building", "old") for p, pid in _leftover(index_dir, kind) if not process_alive(pid)]
    for p in gone:
        shutil.rmtree(p, ignore_errors=True)
    return gone


def write_local(out_dir: Path, documents: list[DocumentInfo], chunks: list[Chunk]) -> None:
    """Write ``documents.json`` and ``chunks.jsonl`` (the same lines ``rag chunks`` prints)."""
    (out_dir / "documents.json").write_text(
        json.dumps({d.doc_id: d.to_dict() for d in documents}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    with (out_dir / "chunks.jsonl").open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
