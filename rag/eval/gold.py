"""Gold files: reading and validating ``eval/*.jsonl`` into :class:`~rag.types.GoldItem`.

Three inputs: the dev split (``eval/gold.jsonl``), the frozen split (``eval/frozen.jsonl``,
same format) and the paraphrases of dev items (``eval/paraphrases.jsonl``,
``{"id": dev id, "paraphrases": [question, ...]}`` per line; :func:`paraphrase_items` turns them
into gold items that share the original's key facts and evidence).

A bad line is an ``InputError`` naming ``file:line`` and the problem. The quote length limits
(:data:`QUOTE_MIN`, :data:`QUOTE_MAX`) are shared with the feedback drafts, which must be valid
gold lines too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..jsonl import iter_jsonl
from ..text import match_key
from ..types import GoldItem

DEFAULT_GOLD = Path("eval/gold.jsonl")
DEFAULT_FROZEN = Path("eval/frozen.jsonl")
DEFAULT_PARAPHRASES = Path("eval/paraphrases.jsonl")
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
        item = GoldItem.from_dict(_check_gold_object(obj, where))
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


def _check_gold_object(obj: Any, where: str) -> dict[str, Any]:
    """``obj`` if it is a well-formed gold item object; InputError naming the line and field otherwise."""
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
    return obj


def read_paraphrases(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """Parse a paraphrase file into ``(line number, dev id, paraphrases)``.

    ``InputError`` naming ``file:line`` for a line that is not ``{"id": str, "paraphrases":
    [non-empty str, ...]}`` or repeats an id.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such paraphrase file")
    out: list[tuple[int, str, tuple[str, ...]]] = []
    seen: dict[str, int] = {}
    for n, obj in iter_jsonl(path):
        where = f"{path}:{n}"
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"].strip():
            raise InputError(f"{where}: each line must be an object with a non-empty string 'id'")
        texts = obj.get("paraphrases")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise InputError(f"{where}: 'paraphrases' must be a non-empty list of non-empty strings")
        if obj["id"] in seen:
            raise InputError(f"{where}: duplicate id {obj['id']!r} (first used on line {seen[obj['id']]})")
        seen[obj["id"]] = n
        out.append((n, obj["id"], tuple(texts)))
    return out


def paraphrase_items(
    entries: Sequence[tuple[int, str, tuple[str, ...]]], dev: Sequence[tuple[int, GoldItem]]
) -> tuple[list[tuple[int, GoldItem]], dict[str, str], list[str]]:
    """Gold items for the paraphrases: the dev item with the question reworded, id ``<dev id>/p<n>``.

    Returns ``(items with their paraphrase-file line, paraphrase id -> dev id, notices)``; an
    entry whose dev id is not in ``dev`` is left out with a notice.
    """
    by_id = {item.id: item for _, item in dev}
    items: list[tuple[int, GoldItem]] = []
    of: dict[str, str] = {}
    missing = [qid for _, qid, _ in entries if qid not in by_id]
    for line, qid, texts in entries:
        if qid not in by_id:
            continue
        for i, text in enumerate(texts, 1):
            pid = f"{qid}/p{i}"
            items.append((line, replace(by_id[qid], id=pid, question=text)))
            of[pid] = qid
    notices = [f"paraphrases of {len(missing)} id(s) not in the dev gold file left out: {', '.join(missing)}"] if missing else []
    return items, of, notices


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (recorded in the baseline to notice an edited gold file)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
