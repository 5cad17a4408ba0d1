"""JSON Lines reading with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError


def iter_jsonl(path: Path, missing: str | None = None) -> Iterator[tuple[int, object]]:
    """Yield (line number, parsed value) for each non-blank line.

    InputError names ``path:line`` for invalid JSON, and the file for a missing or non-UTF-8
    file (``missing`` replaces the default "no such file" message).
    """
    if not path.is_file():
        raise InputError(missing or f"{path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: not valid JSON ({e.msg} at column {e.colno})") from None
