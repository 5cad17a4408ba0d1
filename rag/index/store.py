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

from ..errors import IndexMismatchError, IndexMissingError
from ..types import Chunk, DocumentInfo
from .manifest import BuildKey, Manifest, read_manifest


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
        docs_raw = json.loads((index_dir / "documents.json").read_text(encoding="utf-8"))
        documents = {k: DocumentInfo.from_dict(v) for k, v in docs_raw.items()}
        chunks = []
        with (index_dir / "chunks.jsonl").open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    chunks.append(Chunk.from_dict(json.loads(line)))
        return cls(index_dir, manifest, documents, chunks)


def write_local(out_dir: Path, documents: list[DocumentInfo], chunks: list[Chunk]) -> None:
    """Write ``documents.json`` and ``chunks.jsonl`` (the same lines ``rag chunks`` prints)."""
    (out_dir / "documents.json").write_text(
        json.dumps({d.doc_id: d.to_dict() for d in documents}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    with (out_dir / "chunks.jsonl").open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
