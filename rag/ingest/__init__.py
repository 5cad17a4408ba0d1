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
from .loaders import SUPPORTED, name_problem, read_document
from .metadata import infer_metadata
from .repair import looks_traditional, pinyin_annotation_count, repair_mojibake, strip_pinyin
from .structure import Parser, Part

# Bump when ingestion or chunking changes its output for the same input: indexes record it, and
# one built by another version counts as stale.
INGEST_VERSION = "3"  # 2: metadata of files the catalog is silent about is read from their text; 3: captions stating a figure are chunks

CATALOG = "catalog.toml"


@dataclass
class CatalogEntry:
    """One ``[[document]]`` entry of ``corpus/catalog.toml``."""
    info: DocumentInfo
    parts: list[Part] = field(default_factory=list)
    given: frozenset[str] = frozenset({"title", "issuer", "date", "number"})  # metadata keys the entry states


# Metadata a document states in its text (rag/ingest/metadata.py), read when the catalog is silent about it.
INFERABLE = ("title", "issuer", "date", "number")


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
        parts = [Part(p["title"], p.get("starts_with", p["title"]), p.get("issuer", ""), p.get("number", "")) for p in d.get("part", [])]
        out[d["file"]] = CatalogEntry(info, parts, frozenset(k for k in INFERABLE if k in d))
    return out


# Why a file was skipped, in Chinese for the chat page (the reasons above and in loaders.py, by their wording).
_REASONS_ZH = (
    ("unsupported file type", "不支持的文件类型（支持 .txt .md .pdf .docx .html）"),
    ("is already used by another file", "文件编号与另一个文件重复"),
    ("no text left after cleaning", "清理后没有正文"),
    ("the file is empty", "文件为空"),
    ("the file has no text", "文件没有文字内容"),
    ("byte-order mark", "文件编码损坏，无法解码"),
    ("binary file", "不是文本文件（二进制内容）"),
    ("could not detect the text encoding", "无法识别文件编码（已尝试 UTF-8、GB18030/GBK、Big5）"),
    ("PDF is encrypted", "PDF 已加密"),
    ("not a readable PDF", "PDF 文件损坏，无法读取"),
    ("no extractable text", "PDF 中没有可提取的文字（可能是扫描件）"),
    ("not a readable .docx", "Word 文件损坏，无法读取"),
    ("cannot be read", "文件无法读取（权限或磁盘问题）"),
    ("the file is too large", "文件过大（文本文件上限 20 MB），请拆分后再放入"),
    ("the text is too long", "正文过长（每个文件上限 200 万字），请拆分后再放入"),
    ("file name is not valid UTF-8", "文件名编码不是 UTF-8（可能是 GBK），请重命名"),
)


def reason_zh(reason: str) -> str:
    """A skip reason in Chinese (for the chat page); a reason not known here becomes 无法读取."""
    return next((zh for en, zh in _REASONS_ZH if en in reason), "无法读取")


def doc_id_from_name(name: str) -> str:
    """A doc id for a file without a catalog entry: its name, lower-cased, letters/digits/dashes."""
    stem = Path(name).stem.lower()
    slug = re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "-", stem).strip("-")
    return slug or hashlib.sha1(name.encode()).hexdigest()[:10]


def inferred_record(info: DocumentInfo) -> dict:
    """What was read from the text of one document for the fields its catalog entry (if any) does not state:
    ``{"file", "doc_id", <field>: value ..., "from": {field: where}, "not_found": [fields]}``."""
    rec: dict = {"file": info.path, "doc_id": info.doc_id}
    rec.update({k: getattr(info, k) for k in info.inferred})
    rec["from"] = {k: where for k, where in info.inferred.items() if where}
    rec["not_found"] = [k for k, where in info.inferred.items() if not where]
    return rec


def inferred_line(rec: dict) -> str:
    """One line for ``rag build``: what was read from a file's text, and from where."""
    found = [f"{k} “{rec[k]}” (from the {rec['from'][k]})" for k in INFERABLE if k in rec.get("from", {})]
    missing = [k for k in INFERABLE if k in rec.get("not_found", [])]
    return f"{rec['file']}: " + "; ".join(found + ([f"not stated: {', '.join(missing)}"] if missing else []))


def resolve_metadata(path: Path, raw: str, entry: CatalogEntry | None, sha: str) -> DocumentInfo:
    """The document's info: the catalog's facts and, for each field the catalog is silent about, what the
    text states (:func:`rag.ingest.metadata.infer_metadata`; the title falls back to the file name), with
    ``inferred`` saying where each came from."""
    if entry:
        info = DocumentInfo(**{**entry.info.to_dict(), "sha256": sha, "aliases": tuple(entry.info.aliases)})
    else:
        info = DocumentInfo(doc_id=doc_id_from_name(path.name), title="", path=path.name, sha256=sha,
                            aliases=(path.name,), title_source="file_name")
    silent = [k for k in INFERABLE if entry is None or k not in entry.given]
    if not silent:
        return info
    found = infer_metadata(raw)
    values: dict = {k: found.get(k) for k in silent if found.get(k)}
    where = {k: found.sources.get(k, "") if found.get(k) else "" for k in silent}
    if "title" in silent:
        values["title_source"] = "title_line" if found.title else "file_name"
        if not found.title:
            values["title"], where["title"] = path.stem, "file name"
    return replace(info, **values, inferred=where)


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


def bad_names(corpus_dir: Path) -> list[DocumentError]:
    """Files of ``corpus_dir`` skipped for their name alone (not valid UTF-8), each with its message."""
    names = sorted(p.name for p in corpus_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    return [e for e in map(name_problem, names) if e is not None]


def load_corpus(settings: Settings, progress: Callable[[str, int, int], None] | None = None) -> CorpusLoad:
    """Read, repair, structure and chunk every file in ``settings.corpus_dir``; bad files are reported, not fatal."""
    corpus_dir = settings.corpus_dir
    if not corpus_dir.is_dir():
        raise ConfigError(f"corpus directory {corpus_dir} does not exist (set RAG_CORPUS_DIR)")
    catalog = read_catalog(corpus_dir)
    files = sorted(p for p in corpus_dir.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != CATALOG)
    problems: list[DocumentError] = bad_names(corpus_dir)
    files = [p for p in files if name_problem(p.name) is None]
    docs: list[DocumentInfo] = []
    chunks: list[Chunk] = []
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
        info = resolve_metadata(path, raw, entry, sha)
        parts = entry.parts if entry else []
        if info.doc_id in used_ids:
            problems.append(DocumentError(path.name, f"document id {info.doc_id!r} is already used by another file"))
            continue
        text, stats = clean_text(raw)
        if not info.language:
            info = DocumentInfo(**{**info.to_dict(), "language": "zh-Hant" if looks_traditional(text) else "zh-Hans"})
        blocks = Parser(parts).parse(text)
        doc_chunks, clean = make_chunks(info.doc_id, info.title, blocks, settings.chunk_max_tokens, settings.chunk_min_chars)
        if any(p.issuer or p.number for p in parts):
            by_title = {p.title: p for p in parts}
            doc_chunks = [replace(c, part_issuer=by_title[c.part].issuer, part_number=by_title[c.part].number)
                          if c.part in by_title else c for c in doc_chunks]
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
