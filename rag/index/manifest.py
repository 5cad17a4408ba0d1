"""The index manifest: what an index was built from and with, and the one compatibility check.

An index is *fresh* when its build key equals the current one: corpus file hashes, the
index-relevant settings, explicit format/ingest/retrieval version numbers and the token counter in
use. Source files are not hashed: editing a docstring never makes an index stale, while a change
that alters output must bump a version number (``INGEST_VERSION``, ``TOKENIZER_VERSION`` ...).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "rag-index/3"  # 3: per-file sizes and checksums
MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Files in the corpus dir that the build looks at (hidden files and names that are not UTF-8 ignored)."""
    if not corpus_dir.is_dir():
        return []
    return sorted(p for p in corpus_dir.iterdir() if p.is_file() and not p.name.startswith(".") and _utf8(p.name))


def _utf8(name: str) -> bool:
    """A name the index can record (files named otherwise are skipped by ingestion, with a message)."""
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def corpus_fingerprint(corpus_dir: Path) -> dict[str, Any]:
    """``{"files": {name: sha256}, "hash": sha256 of that mapping}``."""
    files = {p.name: _sha256(p) for p in corpus_files(corpus_dir)}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"files": files, "hash": digest}


def jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` as it reads back from JSON (Paths as strings), so comparisons are like for like."""
    return json.loads(json.dumps(d, default=str))


@dataclass(frozen=True)
class BuildKey:
    """Everything whose change makes a built index stale."""

    versions: dict[str, str]  # format, ingest, tokenizer, bm25, dense ...
    settings: dict[str, Any]  # Settings.index_settings()
    token_counter: str  # rag.tokens.counter_name()
    corpus_hash: str


@dataclass(frozen=True)
class Manifest:
    """``index/manifest.json``: self-description of a built index."""

    format: str
    versions: dict[str, str]
    settings: dict[str, Any]
    token_counter: str
    corpus: dict[str, Any]
    created: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason", "reason_zh"} per skipped file
    inferred: list[dict[str, Any]] = field(default_factory=list)  # per file the catalog is silent about: what was read from its text
    retrieval: dict[str, Any] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # relative path -> {"size", "sha256"}

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to manifest.json."""
        return asdict(self)

    def corpus_report(self) -> dict[str, Any]:
        """The corpus files this index left out (and why) and the metadata it read from uncatalogued files'
        text, as /api/health and the chat page show them."""
        return {"skipped": list(self.skipped), "inferred": list(self.inferred)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """The manifest read from manifest.json's object."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def write(self, index_dir: Path) -> None:
        """Write ``manifest.json`` into ``index_dir``."""
        (index_dir / MANIFEST).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")

    def compare(self, key: BuildKey) -> tuple[str, str, bool]:
        """(state, reason, loadable) against the current build key; the one compatibility check.

        state is "fresh" or "stale". An index built by another format/version or with other index
        settings cannot be loaded; one whose corpus or token counter changed can (it is just out
        of date until the next ``rag build``).
        """
        if self.format != FORMAT:
            return "stale", f"index has format {self.format!r}, this program writes {FORMAT!r}", False
        if self.versions != key.versions:
            diff = ", ".join(f"{k}: index={self.versions.get(k)!r} now={v!r}"
                             for k, v in key.versions.items() if self.versions.get(k) != v)
            return "stale", f"index was written by another version of this program ({diff})", False
        if self.settings != key.settings:
            diff = ", ".join(f"{k}: index={self.settings.get(k)!r} now={v!r}"
                             for k, v in key.settings.items() if self.settings.get(k) != v)
            return "stale", f"index was built with other settings ({diff})", False
        if self.token_counter != key.token_counter:
            return "stale", f"token counter changed (index: {self.token_counter}, now: {key.token_counter})", True
        if self.corpus.get("hash") != key.corpus_hash:
            return "stale", "corpus files changed since the index was built", True
        return "fresh", "corpus and settings unchanged", True


def file_table(index_dir: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file under ``index_dir`` except the manifest itself."""
    return {
        p.relative_to(index_dir).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(index_dir.rglob("*")) if p.is_file() and p.name != MANIFEST
    }


def damaged_files(index_dir: Path, files: dict[str, dict[str, Any]], checksums: bool = False) -> list[str]:
    """Files of the table that are missing, of another size, or (``checksums``) of other content."""
    bad = []
    for rel, want in files.items():
        p = index_dir / rel
        try:
            size = p.stat().st_size
        except OSError:
            bad.append(f"{p} (missing)")
            continue
        if size != want.get("size"):
            bad.append(f"{p} (size {size}, expected {want.get('size')})")
        elif checksums and _sha256(p) != want.get("sha256"):
            bad.append(f"{p} (checksum differs)")
    return bad


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of ``index_dir``; None when there is none; IndexDamagedError when it is unreadable."""
    from ..errors import IndexDamagedError

    path = index_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "format" not in data:
            raise ValueError("not a manifest object")
        return Manifest.from_dict(data)
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as e:
        raise IndexDamagedError(f"index file {path} is damaged ({type(e).__name__}); run `rag build --force`") from None
