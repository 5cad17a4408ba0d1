"""The frozen split stays frozen: its hash matches eval/README.md and every item is well-formed."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from rag.text import match_key

ROOT = Path(__file__).resolve().parent.parent
FROZEN = ROOT / "eval" / "frozen.jsonl"


def test_frozen_split_hash_is_the_one_recorded_in_the_readme():
    recorded = re.search(r"sha256\(eval/frozen\.jsonl\) = ([0-9a-f]{64})", (ROOT / "eval" / "README.md").read_text("utf-8"))
    assert recorded, "eval/README.md must record the frozen split's sha256"
    assert hashlib.sha256(FROZEN.read_bytes()).hexdigest() == recorded.group(1)


def test_frozen_items_are_well_formed_and_quotes_are_in_single_chunks(seed_corpus):
    items = [json.loads(line) for line in FROZEN.read_text("utf-8").splitlines() if line.strip()]
    assert len(items) >= 60 and len({it["id"] for it in items}) == len(items)
    assert sum(not it["answerable"] for it in items) >= 6
    by_doc: dict[str, list[str]] = {}
    for c in seed_corpus.chunks:
        by_doc.setdefault(c.doc_id, []).append(match_key(c.text))
    for it in items:
        assert "frozen" in it["tags"]
        if not it["answerable"]:
            assert not it["evidence"] and not it["key_facts"]
            continue
        for e in it["evidence"]:
            assert 8 <= len(e["quote"]) <= 40, it["id"]
            assert any(match_key(e["quote"]) in key for key in by_doc[e["doc"]]), (it["id"], e["quote"])
