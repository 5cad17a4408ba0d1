"""The index manifest: staleness is decided by explicit versions, settings, corpus and token counter."""

from __future__ import annotations

import pytest

from rag.errors import IndexMismatchError
from rag.pipeline import build_index, index_status, open_index
from rag.settings import Settings

TEXT = "一、总体要求\n\n县域重点产业链是构建现代化产业体系的重要基础，要强化要素保障。\n"


@pytest.fixture()
def settings(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "plan.txt").write_text(TEXT, encoding="utf-8")
    s = Settings.load(overrides={"corpus_dir": corpus, "index_dir": tmp_path / "index", "embedding_model": "none"}, env={})
    assert build_index(s).status == "built"
    return s


def test_unchanged_inputs_are_fresh_and_not_rebuilt(settings):
    assert index_status(settings)[0] == "fresh"
    assert build_index(settings).status == "fresh"


def test_a_change_of_token_counter_makes_the_index_stale(settings, monkeypatch):
    import rag.tokens

    real = rag.tokens.counter_name()
    other = "estimate" if real != "estimate" else "tiktoken:cl100k_base"
    monkeypatch.setattr(rag.tokens, "counter_name", lambda: other)
    state, reason = index_status(settings)
    assert state == "stale" and "token counter" in reason and other in reason
    assert open_index(settings).chunks  # still loadable: only out of date
    assert build_index(settings).status == "built"
    assert open_index(settings).manifest.token_counter == other


def test_a_tokenizer_version_bump_makes_the_index_unloadable(settings, monkeypatch):
    import rag.retrieval.tokenize

    monkeypatch.setattr(rag.retrieval.tokenize, "TOKENIZER_VERSION", "jieba-search/999")
    state, reason = index_status(settings)
    assert state == "stale" and "jieba-search/999" in reason
    with pytest.raises(IndexMismatchError, match="tokenizer.*rag build"):
        open_index(settings)


def test_an_index_built_with_another_model_is_refused_by_name(settings):
    with pytest.raises(IndexMismatchError, match="embedding_model: index='none' now='static'.*rag build"):
        open_index(settings.with_(embedding_model="static"))


def test_a_corpus_change_is_stale_but_loadable(settings):
    (settings.corpus_dir / "more.txt").write_text("二、重点任务\n\n新增一批专精特新企业。\n", encoding="utf-8")
    assert index_status(settings) == ("stale", "corpus files changed since the index was built")
    assert open_index(settings).chunks


def test_the_build_key_does_not_hash_source_files(settings):
    from rag.index import build_key
    from rag.retrieval import RetrievalArtifacts

    key = build_key(settings, RetrievalArtifacts(settings))
    assert set(key.versions) == {"format", "ingest", "tokenizer", "indexed_text", "bm25", "dense"}
    assert all(len(v) < 60 for v in key.versions.values())  # version labels, not source digests


# --------------------------------------------------------------------------- damage
def _overwrite_same_size(path):
    data = bytearray(path.read_bytes())
    data[-8:] = bytes(8)  # same size, other content
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("rel, damage", [
    ("bm25/data.csc.index.npy", _overwrite_same_size),
    ("chunks.jsonl", lambda p: p.write_bytes(p.read_bytes()[:50])),
    ("documents.json", lambda p: p.write_text("{", encoding="utf-8")),
    ("bm25/vocab.index.json", lambda p: p.unlink()),
    ("manifest.json", lambda p: p.write_bytes(p.read_bytes()[:40])),
])
def test_a_damaged_index_file_is_named_and_a_build_repairs_it(settings, rel, damage):
    from rag.errors import IndexDamagedError

    good = [c.id for c in open_index(settings).chunks]
    damage(settings.index_dir / rel)
    with pytest.raises(IndexDamagedError, match=rf"{rel.split('/')[-1]}.*rag build --force"):
        open_index(settings)
    assert index_status(settings)[0] == "damaged"
    assert build_index(settings).status == "built"
    assert [c.id for c in open_index(settings).chunks] == good
    assert open_index(settings).verify() == []


def test_rag_check_and_search_exit_3_naming_the_damaged_file(settings):
    import os
    import subprocess
    import sys

    env = {**os.environ, "RAG_INDEX_DIR": str(settings.index_dir), "RAG_CORPUS_DIR": str(settings.corpus_dir),
           "RAG_EMBEDDING_MODEL": "none"}

    def rag(*args):
        return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, timeout=120)

    ok = rag("check")
    assert ok.returncode == 0 and "files verified" in ok.stdout
    _overwrite_same_size(settings.index_dir / "bm25" / "data.csc.index.npy")
    for args in (("check",), ("search", "要素保障")):
        r = rag(*args)
        assert r.returncode == 3 and "data.csc.index.npy" in r.stderr and "rag build --force" in r.stderr
