"""Where a built index lives, behind one small interface.

:class:`IndexStore` is what the rest of the program reads: the manifest, the documents, the
chunks, and the retrieval artifacts (a directory the retrieval package wrote and reads back).
:class:`LocalStore` is the default: files in ``index/``. A database-backed store (PostgreSQL +
pgvector) can sit beside it without changes to retrieval or answers.
"""

from __future__ import annotations

import json
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
    manifest: Manifest
    documents: dict[str, DocumentInfo]
    chunks: list[Chunk]
    chunk_by_id: dict[str, Chunk]

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


def write_local(out_dir: Path, documents: list[DocumentInfo], chunks: list[Chunk]) -> None:
    """Write ``documents.json`` and ``chunks.jsonl`` (the same lines ``rag chunks`` prints)."""
    (out_dir / "documents.json").write_text(
        json.dumps({d.doc_id: d.to_dict() for d in documents}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    with (out_dir / "chunks.jsonl").open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
