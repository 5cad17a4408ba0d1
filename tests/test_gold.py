"""The gold set (eval/gold.jsonl) is well-formed, covers the corpus and every quote is verifiable.

Quotes are checked twice: against the raw corpus text (pinyin annotations removed, matching
rule applied) so the gold set stands on its own, and against the chunks of a freshly built
index so every quote is findable by retrieval as the system chunks today.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from rag.eval.gold import QUOTE_MAX, QUOTE_MIN, read_gold
from rag.text import match_key

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "gold.jsonl"
CORPUS = ROOT / "corpus"
CATALOG = tomllib.loads((CORPUS / "catalog.toml").read_text(encoding="utf-8"))["document"]
DOC_IDS = [d["id"] for d in CATALOG]
# A pinyin annotation follows a Han character: 縣(xiàn) -> 縣. Upper-case acronyms like (PDH) stay.
PINYIN = re.compile(r"(?<=[\u3400-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,8}\)")


def resolve(ref: str) -> str:
    for d in CATALOG:
        if ref in (d["id"], d["file"], d["title"], *d.get("aliases", [])):
            return d["id"]
    raise AssertionError(f"evidence doc {ref!r} is not in corpus/catalog.toml")


def strip_pinyin(text: str) -> str:
    previous = None
    while previous != text:  # nested: 縣(區(qū)) -> 縣(區) keeps the real parenthesis
        previous, text = text, PINYIN.sub("", text)
    return text


@pytest.fixture(scope="module")
def gold():
    return read_gold(GOLD)


@pytest.fixture(scope="module")
def raw_keys():
    return {d["id"]: match_key(strip_pinyin((CORPUS / d["file"]).read_text(encoding="utf-8"))) for d in CATALOG}


def test_gold_parses_with_unique_ids_and_enough_items(gold):
    items = [it for _, it in gold]
    assert len(items) >= 60
    assert len({it.id for it in items}) == len(items)
    unanswerable = [it for it in items if not it.answerable]
    assert len(unanswerable) >= 6
    assert all(not it.evidence and not it.key_facts and "unanswerable" in it.tags for it in unanswerable)
    for it in items:
        if it.answerable:
            assert it.evidence, f"{it.id}: answerable items need evidence"
            assert 1 <= len(it.key_facts) <= 4, f"{it.id}: 1–4 key facts"
            assert it.answer, f"{it.id}: reference answer missing"


def test_every_document_covered_and_required_kinds_present(gold):
    items = [it for _, it in gold]
    per_doc = Counter(d for it in items for d in {resolve(e.doc) for e in it.evidence})
    for doc in DOC_IDS:
        assert per_doc[doc] >= 6, f"{doc}: only {per_doc[doc]} items"
    cross = [it for it in items if len({resolve(e.doc) for e in it.evidence}) >= 2]
    assert len(cross) >= 4 and all("cross-doc" in it.tags for it in cross)
    traditional = [it for it in items if "traditional" in it.tags]
    assert len(traditional) >= 5
    # Asked in simplified Chinese: converting the question to simplified changes nothing.
    from rag.text import to_simplified

    assert all(to_simplified(it.question) == it.question for it in traditional)
    tags = Counter(t for it in items for t in it.tags)
    for tag in ("table", "list", "number", "support", "pilot-county", "zhuanjingtexin", "finance", "land", "talent", "funds"):
        assert tags[tag] >= 2, f"tag {tag!r} used {tags[tag]} times"
    heldout = tags["heldout"]
    assert 15 <= heldout <= 25, f"{heldout} held-out items; keep about 20"


def test_every_quote_is_8_to_40_chars_and_in_the_raw_document(gold, raw_keys):
    problems = []
    for line, it in gold:
        for e in it.evidence:
            if not QUOTE_MIN <= len(e.quote) <= QUOTE_MAX:
                problems.append(f"line {line} {it.id}: quote length {len(e.quote)}: {e.quote}")
            elif match_key(e.quote) not in raw_keys[resolve(e.doc)]:
                problems.append(f"line {line} {it.id}: quote not in {e.doc}: {e.quote}")
    assert not problems, "\n".join(problems)


def test_key_facts_are_written_as_in_the_evidence_documents(gold, raw_keys):
    problems = []
    for line, it in gold:
        text = "".join(raw_keys[resolve(e.doc)] for e in it.evidence)
        problems += [f"line {line} {it.id}: key fact {f!r} not in its documents" for f in it.key_facts if match_key(f) not in text]
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def built_chunks(tmp_path_factory):
    try:
        from rag.ingest import load_corpus  # noqa: F401 - ingestion must exist before we can build
        from rag.pipeline import build_index
        from rag.pipeline import open_index as load_index
    except ImportError as e:
        pytest.skip(f"index cannot be built yet: {e}")
    from rag.settings import Settings

    # Chunks do not depend on the embedding model; skipping it keeps the build to a few seconds.
    settings = Settings.load(overrides={"index_dir": tmp_path_factory.mktemp("gold-index"), "corpus_dir": CORPUS,
                                        "embedding_model": "none", "retrieval_mode": "hybrid"})
    build_index(settings, force=True)
    return load_index(settings).chunks


def test_every_quote_is_inside_one_chunk_of_its_document(gold, built_chunks):
    by_doc: dict[str, list[str]] = {}
    for c in built_chunks:
        by_doc.setdefault(c.doc_id, []).append(match_key(c.text))
    problems = []
    for line, it in gold:
        for e in it.evidence:
            q = match_key(e.quote)
            if not any(q in text for text in by_doc.get(resolve(e.doc), [])):
                problems.append(f"line {line} {it.id}: quote not inside any single chunk of {e.doc}: {e.quote}")
    assert not problems, "\n".join(problems)
