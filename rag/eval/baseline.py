"""``eval/baseline.json``: the accepted numbers the gate compares against, per split.

Format 2 (written since the frozen and paraphrase splits are evaluated)::

    {"format": 2, "created": …, "corpus_hash": …, "mode": …, "answers": …, "settings": {…},
     "splits": {"dev":        {"file": "eval/gold.jsonl", "hash": sha256, "metrics": {…}, "questions": {id: {…}}},
                "frozen":     {…},
                "paraphrase": {…}}}

with one line per question so a rewrite shows in git per question. Format 1 (before: one split,
``gold_file``/``gold_hash``/``metrics``/``questions`` at the top) is still read: it becomes the
dev split, and the other splits have no baseline until ``rag eval --update-baseline``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .gold import file_sha256
from .records import Metrics, QuestionSummary

FORMAT = 2
UPDATE_HINT = "`rag eval --update-baseline`"


@dataclass(frozen=True)
class SplitBaseline:
    """One split of a baseline: the file it was made from, its hash, metrics and per-question summaries."""

    file: str
    hash: str
    metrics: Metrics
    questions: Mapping[str, QuestionSummary]

    @classmethod
    def of(cls, path: Path, metrics: Metrics, questions: Mapping[str, QuestionSummary]) -> SplitBaseline:
        """The baseline of a split just run from ``path`` (metrics rounded as stored)."""
        return cls(str(path), file_sha256(path), Metrics.from_dict(metrics.rounded()), dict(questions))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the split."""
        return {"file": self.file, "hash": self.hash, "metrics": self.metrics.rounded(),
                "questions": {k: q.to_dict() for k, q in self.questions.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SplitBaseline:
        """Inverse of :meth:`to_dict`."""
        return cls(str(data.get("file", "")), str(data.get("hash", "")), Metrics.from_dict(data.get("metrics") or {}),
                   {k: QuestionSummary.from_dict(q) for k, q in (data.get("questions") or {}).items()})


@dataclass(frozen=True)
class Baseline:
    """An accepted run: what it was made with and its :class:`SplitBaseline` per split.

    ``migrated_from`` is the format of the file when it was older than :data:`FORMAT` (read, not
    rewritten); 0 otherwise.
    """

    created: str
    corpus_hash: str
    mode: str
    answers: bool
    settings: Mapping[str, Any]
    splits: Mapping[str, SplitBaseline]
    migrated_from: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (always the current format)."""
        return {"format": FORMAT, "created": self.created, "corpus_hash": self.corpus_hash, "mode": self.mode,
                "answers": self.answers, "settings": dict(self.settings),
                "splits": {name: s.to_dict() for name, s in self.splits.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        """A parsed baseline file of format 2, or of format 1 migrated (it becomes the dev split)."""
        head = (str(data.get("created", "")), str(data.get("corpus_hash", "")), str(data.get("mode", "")),
                bool(data.get("answers", True)), dict(data.get("settings") or {}))
        if isinstance(data.get("splits"), dict):
            return cls(*head, {name: SplitBaseline.from_dict(s) for name, s in data["splits"].items()})
        dev = SplitBaseline.from_dict({"file": data.get("gold_file", ""), "hash": data.get("gold_hash", ""),
                                       "metrics": data["metrics"], "questions": data.get("questions")})
        return cls(*head, {"dev": dev}, migrated_from=1)


def dump_baseline(payload: Mapping[str, Any]) -> str:
    """Baseline JSON indented by one space per level, with each question on one line."""

    def dump(value: Any, depth: int, one_per_line: bool = False) -> str:
        if not isinstance(value, dict) or not value:
            return json.dumps(value, ensure_ascii=False)
        pad = " " * (depth + 1)
        rows = [f"{pad}{json.dumps(k, ensure_ascii=False)}: "
                + (json.dumps(v, ensure_ascii=False) if one_per_line else dump(v, depth + 1, k == "questions"))
                for k, v in value.items()]
        return "{\n" + ",\n".join(rows) + "\n" + " " * depth + "}"

    return dump(dict(payload), 0) + "\n"


def read_baseline(path: Path) -> Baseline:
    """Read a baseline file; ``InputError`` when it is missing, not JSON or not a baseline."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such baseline file (create one with {UPDATE_HINT})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a valid baseline JSON file ({e})") from None
    if not isinstance(data, dict) or not (isinstance(data.get("splits"), dict) or isinstance(data.get("metrics"), dict)):
        raise InputError(f"{path}: not a baseline file (no \"splits\" or \"metrics\"); rewrite it with {UPDATE_HINT}")
    if isinstance(data.get("format"), int) and data["format"] > FORMAT:
        raise InputError(f"{path}: baseline format {data['format']} is newer than this version reads ({FORMAT})")
    return Baseline.from_dict(data)
