"""Gold files: reading and validating ``eval/*.jsonl`` into :class:`~rag.types.GoldItem`.

A bad line is an ``InputError`` naming ``file:line`` and the problem. The quote length limits
(:data:`QUOTE_MIN`, :data:`QUOTE_MAX`) are shared with the feedback drafts, which must be valid
gold lines too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..jsonl import iter_jsonl
from ..text import match_key
from ..types import GoldItem

DEFAULT_GOLD = Path("eval/gold.jsonl")
QUOTE_MIN, QUOTE_MAX = 8, 40
HELDOUT_TAG = "heldout"


def read_gold(path: Path) -> list[tuple[int, GoldItem]]:
    """Parse a gold JSONL file into ``(line number, GoldItem)`` pairs.

    Raises ``InputError`` naming ``file:line`` and the problem for the first bad line:
    not JSON, a missing or mistyped field, a quote outside 8–40 characters, a duplicate id.
    Blank lines are ignored; unknown extra keys (e.g. ``feedback`` on drafts) are allowed.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such gold file")
    out: list[tuple[int, GoldItem]] = []
    first_line: dict[str, int] = {}
    for n, obj in iter_jsonl(path):
        where = f"{path}:{n}"
        _check_gold_object(obj, where)
        item = GoldItem.from_dict(obj)
        if item.id in first_line:
            raise InputError(f"{where}: duplicate id {item.id!r} (first used on line {first_line[item.id]})")
        first_line[item.id] = n
        out.append((n, item))
    if not out:
        raise InputError(f"{path}: no gold items (expected one JSON object per line)")
    return out


def load_gold(path: Path) -> list[GoldItem]:
    """The items of a gold file (see :func:`read_gold` for the checks)."""
    return [item for _, item in read_gold(path)]


def _check_gold_object(obj: Any, where: str) -> None:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: each line must be a JSON object, got {type(obj).__name__}")
    for key in ("id", "question"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise InputError(f"{where}: {key!r} must be a non-empty string")
    if not isinstance(obj.get("answer", ""), str):
        raise InputError(f"{where}: 'answer' must be a string")
    if not isinstance(obj.get("answerable", True), bool):
        raise InputError(f"{where}: 'answerable' must be true or false")
    for key in ("key_facts", "tags"):
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise InputError(f"{where}: {key!r} must be a list of non-empty strings")
    evidence = obj.get("evidence", [])
    if not isinstance(evidence, list):
        raise InputError(f"{where}: 'evidence' must be a list of {{\"doc\", \"quote\"}} objects")
    for i, ev in enumerate(evidence):
        if not isinstance(ev, dict) or not isinstance(ev.get("quote"), str):
            raise InputError(f"{where}: evidence[{i}] must be an object with a string 'quote'")
        if not isinstance(ev.get("doc", ""), str):
            raise InputError(f"{where}: evidence[{i}].doc must be a string")
        q = ev["quote"]
        if not QUOTE_MIN <= len(q) <= QUOTE_MAX:
            raise InputError(f"{where}: evidence[{i}].quote must be {QUOTE_MIN}–{QUOTE_MAX} characters, got {len(q)}: {q!r}")
        if not match_key(q):
            raise InputError(f"{where}: evidence[{i}].quote has no letters, digits or CJK characters")
    if obj.get("answerable", True) is False and (evidence or obj.get("key_facts")):
        raise InputError(f"{where}: an unanswerable item must have empty 'evidence' and 'key_facts'")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (recorded in the baseline to notice an edited gold file)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
