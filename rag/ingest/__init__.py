"""Ingestion: corpus files -> cleaned, structure-aware chunks.

``load_corpus(settings)`` reads every supported file in the corpus dir, resolves its
catalog entry (corpus/catalog.toml, optional per file), repairs the text, parses the
outline and emits chunks. A file that cannot be read is reported in ``problems`` and
the other documents are still indexed.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError, DocumentError
from ..settings import Settings
from ..types import Chunk, DocumentInfo
from .chunker import make_chunks
from .loaders import SUPPORTED, read_document
from .repair import looks_traditional, pinyin_annotation_count, repair_mojibake, strip_pinyin
from .structure import Parser, Part

# Bump when ingestion or chunking changes its output for the same input: indexes record it, and
# one built by another version counts as stale.
INGEST_VERSION = "1"

CATALOG = "catalog.toml"


@dataclass
class CatalogEntry:
    """One ``[[document]]`` entry of ``corpus/catalog.toml``."""
    info: DocumentInfo
    parts: list[Part] = field(default_factory=list)


@dataclass
class CorpusLoad:
    """The result of reading the corpus: documents, chunks, and the files that were skipped (with why)."""
    documents: list[DocumentInfo]
    chunks: list[Chunk]
    problems: list[DocumentError]
    cleaned: dict[str, str] = field(default_factory=dict)  # doc_id -> cleaned text (chunk spans index into it)
    repairs: dict[str, dict[str, int]] = field(default_factory=dict)


def read_catalog(corpus_dir: Path) -> dict[str, CatalogEntry]:
    """Catalog entries keyed by file name."""
    path = corpus_dir / CATALOG
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    out: dict[str, CatalogEntry] = {}
    seen_ids: set[str] = set()
    for i, d in enumerate(data.get("document", []), 1):
        missing = [k for k in ("id", "file", "title") if not d.get(k)]
        if missing:
            raise ConfigError(f"{path}: document #{i} lacks {', '.join(missing)}")
        if d["id"] in seen_ids:
            raise ConfigError(f"{path}: document id {d['id']!r} is used twice")
        seen_ids.add(d["id"])
        info = DocumentInfo(
            doc_id=d["id"], title=d["title"], path=d["file"], issuer=d.get("issuer", ""), date=str(d.get("date", "")),
            number=d.get("number", ""), kind=d.get("kind", ""), language=d.get("language", ""),
            aliases=tuple(d.get("aliases", [])), title_source="catalog",
        )
        parts = [Part(p["title"], p.get("starts_with", p["title"]), p.get("issuer", "")) for p in d.get("part", [])]
        out[d["file"]] = CatalogEntry(info, parts)
    return out


def doc_id_from_name(name: str) -> str:
    """A doc id for a file without a catalog entry: its name, lower-cased, letters/digits/dashes."""
    stem = Path(name).stem.lower()
    slug = re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "-", stem).strip("-")
    return slug or hashlib.sha1(name.encode()).hexdigest()[:10]


def _title_line(text: str) -> str | None:
    for line in text.splitlines()[:15]:
        s = line.strip()
        if 4 <= len(s) <= 60 and not re.search(r"[。；，,]$", s):
            return s
    return None


def clean_text(text: str) -> tuple[str, dict[str, int]]:
    """Document-level repairs that do not depend on structure."""
    text = text.replace("\ufeff", "").replace("\xa0", " ")
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)  # markdown bold left by converters
    stats = {"pinyin": pinyin_annotation_count(text)}
    text = strip_pinyin(text)
    traditional = looks_traditional(text)
    text, moji = repair_mojibake(text, traditional=traditional)
    stats.update(moji)
    if stats["pinyin"] < 5:
        stats["pinyin"] = 0
    return text, stats


def load_corpus(settings: Settings, progress: Callable[[str, int, int], None] | None = None) -> CorpusLoad:
    """Read, repair, structure and chunk every file in ``settings.corpus_dir``; bad files are reported, not fatal."""
    corpus_dir = settings.corpus_dir
    if not corpus_dir.is_dir():
        raise ConfigError(f"corpus directory {corpus_dir} does not exist (set RAG_CORPUS_DIR)")
    catalog = read_catalog(corpus_dir)
    files = sorted(p for p in corpus_dir.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != CATALOG)
    docs: list[DocumentInfo] = []
    chunks: list[Chunk] = []
    problems: list[DocumentError] = []
    cleaned: dict[str, str] = {}
    repairs: dict[str, dict[str, int]] = {}
    used_ids: set[str] = set()
    for i, path in enumerate(files, 1):
        if progress:
            progress("reading documents", i - 1, len(files))
        if path.suffix.lower() not in SUPPORTED:
            problems.append(DocumentError(path.name, f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"))
            continue
        try:
            raw = read_document(path)
        except DocumentError as e:
            problems.append(e)
            continue
        entry = catalog.get(path.name)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if entry:
            info = DocumentInfo(**{**entry.info.to_dict(), "sha256": sha, "aliases": tuple(entry.info.aliases)})
            parts = entry.parts
        else:
            title = _title_line(raw)
            info = DocumentInfo(doc_id=doc_id_from_name(path.name), title=title or path.stem, path=path.name,
                                sha256=sha, aliases=(path.name,), title_source="title_line" if title else "file_name")
            parts = []
        if info.doc_id in used_ids:
            problems.append(DocumentError(path.name, f"document id {info.doc_id!r} is already used by another file"))
            continue
        text, stats = clean_text(raw)
        if not info.language:
            info = DocumentInfo(**{**info.to_dict(), "language": "zh-Hant" if looks_traditional(text) else "zh-Hans"})
        blocks = Parser(parts).parse(text)
        doc_chunks, clean = make_chunks(info.doc_id, info.title, blocks, settings.chunk_max_tokens, settings.chunk_min_chars)
        issuers = {p.title: p.issuer for p in parts if p.issuer}
        if issuers:
            doc_chunks = [replace(c, part_issuer=issuers.get(c.part, "")) for c in doc_chunks]
        if not doc_chunks:
            problems.append(DocumentError(path.name, "no text left after cleaning"))
            continue
        used_ids.add(info.doc_id)
        docs.append(info)
        chunks.extend(doc_chunks)
        cleaned[info.doc_id] = clean
        repairs[info.doc_id] = stats
    if progress:
        progress("reading documents", len(files), len(files))
    return CorpusLoad(docs, chunks, problems, cleaned, repairs)
