"""User feedback: thumbs up/down on answers, stored as JSONL, promoted to draft gold items.

``append_feedback`` is what the UI/API call; ``promote_feedback`` backs
``rag eval promote-feedback``. Drafts keep the gold format (eval/gold.jsonl) so a reviewer
only has to add key facts, check the evidence and drop the ``needs_review`` tag.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..jsonl import iter_jsonl
from ..settings import Settings
from ..text import match_key
from .gold import QUOTE_MAX, QUOTE_MIN

FEEDBACK_FILE = "feedback.jsonl"
RATINGS = ("up", "down")
_lock = threading.Lock()  # one writer at a time within a process (UI worker threads)


def feedback_path(settings: Settings) -> Path:
    """Where feedback is stored: ``settings.data_dir / "feedback.jsonl"``."""
    return settings.data_dir / FEEDBACK_FILE


def append_feedback(settings: Settings, record: dict[str, Any]) -> Path:
    """Append one feedback record as a JSON line to ``settings.data_dir / "feedback.jsonl"``.

    ``record`` holds ``question``, ``answer``, ``rating`` ("up" or "down"), ``comment``,
    ``citations`` (``Citation.to_dict()`` dicts), ``mode`` and optionally ``abstained``;
    ``timestamp`` is filled in when absent. Raises ``InputError`` for a missing question or an
    unknown rating. Returns the file path.
    """
    if not isinstance(record, dict):
        raise InputError("feedback must be an object")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError("feedback needs the question it is about")
    rating = record.get("rating")
    if rating not in RATINGS:
        raise InputError(f"feedback rating {rating!r} is not valid; choose one of {', '.join(RATINGS)}")
    comment = record.get("comment") or ""
    if not isinstance(comment, str):
        raise InputError("feedback comment must be text")
    citations = record.get("citations") or []
    if not isinstance(citations, list):
        raise InputError("feedback citations must be a list")
    line = {
        **record,
        "question": question,
        "answer": str(record.get("answer") or ""),
        "rating": rating,
        "comment": comment,
        "citations": citations,
        "mode": str(record.get("mode") or ""),
        "timestamp": record.get("timestamp") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = feedback_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(line, ensure_ascii=False) + "\n"
    with _lock, path.open("a", encoding="utf-8") as f:
        f.write(data)  # one write of one line: O_APPEND keeps concurrent processes' lines whole
    return path


def read_feedback(settings: Settings) -> list[dict[str, Any]]:
    """All feedback records; ``InputError`` when there is no feedback file or a line is broken."""
    path = feedback_path(settings)
    records = []
    missing = (f"no feedback yet: {path} does not exist (thumbs up/down in the chat UI writes it; "
               f"set RAG_DATA_DIR if it lives elsewhere)")
    for n, obj in iter_jsonl(path, missing=missing):
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str) or obj.get("rating") not in RATINGS:
            raise InputError(f"{path}:{n}: not a feedback record (needs a question and rating up/down)")
        records.append(obj)
    return records


_SENTENCES = re.compile(r"[^。！？；;!?\n]+")
_CLAUSES = re.compile(r"[^，,：:]+")
_EDGE = " \t\r\n，,。、；;：:！!？?“”\"'（）()【】[]《》"
_ENUMERATOR = re.compile(r"^[(（]?[0-9一二三四五六七八九十]+[)）.、．]")


def _candidates(text: str):
    """Verbatim pieces of ``text``: each sentence and each run of consecutive clauses in it."""
    for sentence in _SENTENCES.findall(text):
        spans = [m.span() for m in _CLAUSES.finditer(sentence)]
        for i in range(len(spans)):
            for j in range(i, len(spans)):
                yield sentence[spans[i][0] : spans[j][1]]


def trim_quote(text: str) -> str | None:
    """A verbatim 8–40 character piece of ``text`` for an evidence quote, or None.

    Picks the piece most likely to carry a fact: one with a number (a leading "9." or "（三）"
    does not count), then the longest that fits; a sentence too long and without a number is
    cut at 40 characters. The result is always a substring of ``text`` (and of one cited sentence:
    a quote's "……" between non-adjacent sentences is never inside it), so it still matches.
    """
    text = " ".join(text.split())
    best, best_score = None, (False, 0)
    for piece in (p for part in text.split("……") for p in _candidates(part)):
        piece = piece.strip(_EDGE)
        if len(piece) > QUOTE_MAX:
            piece = piece[:QUOTE_MAX].rstrip(_EDGE)
        if len(piece) < QUOTE_MIN or len(match_key(piece)) < QUOTE_MIN // 2:
            continue
        score = (any(ch.isdigit() for ch in _ENUMERATOR.sub("", piece)), len(piece))
        if best is None or score > best_score:
            best, best_score = piece, score
    return best


def draft_gold_item(record: dict[str, Any]) -> dict[str, Any]:
    """One draft gold item from one feedback record (see :func:`promote_feedback`)."""
    rating = record["rating"]
    citations = [c for c in record.get("citations") or [] if isinstance(c, dict)]
    abstained = bool(record.get("abstained", not citations))
    evidence, seen = [], set()
    for c in citations:
        quote = trim_quote(str(c.get("quote") or c.get("text") or ""))
        if quote and match_key(quote) not in seen:
            seen.add(match_key(quote))
            evidence.append({"doc": str(c.get("doc") or ""), "quote": quote})
    answerable = rating == "up" or not abstained
    digest = hashlib.sha1(f"{record['question']}\n{record.get('timestamp', '')}".encode()).hexdigest()[:10]
    return {
        "id": f"fb-{digest}",
        "question": record["question"],
        "answer": str(record.get("answer") or ""),
        "key_facts": [],
        # The gold format forbids evidence on unanswerable items; keep the citations for review instead.
        "evidence": evidence if answerable else [],
        "answerable": answerable,
        "tags": ["from-feedback", f"rating-{rating}", "needs_review"],
        "feedback": {"rating": rating, "comment": record.get("comment", ""), "mode": record.get("mode", ""),
                     "timestamp": record.get("timestamp", ""), "abstained": abstained,
                     "cited": [c.get("chunk_id") for c in citations]},
    }


def promote_feedback(settings: Settings, out: Path) -> int:
    """Turn feedback into draft gold items (JSONL at ``out``) for review; return how many.

    Each draft: the question; the given answer as reference; empty ``key_facts`` and a
    ``needs_review`` tag; evidence quotes trimmed to 8–40 characters from the cited chunks;
    ``answerable`` = rated up or not an abstention; tags ``from-feedback`` and
    ``rating-up``/``rating-down``. The latest feedback on a question wins.
    """
    latest: dict[str, dict[str, Any]] = {}
    for rec in read_feedback(settings):
        latest.pop(rec["question"].strip(), None)
        latest[rec["question"].strip()] = rec
    drafts = [draft_gold_item(r) for r in latest.values()]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for d in drafts:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return len(drafts)
