"""Incremental builds equal full builds; the synthetic scaler keeps ids unique and numbers varied."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rag.pipeline import Pipeline, build_index
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["quanzhou-county-chain-action-plan.txt", "fujian-county-chain-news-traditional.txt"]
QUERIES = ["试点县能得到哪些支持？", "泉州要培育多少条县域重点产业链？", "专精特新企业奖励", "晋江市重点发展哪些细分链条", "要素保障"]


def _settings(root: Path, corpus: Path, index: str, **kw) -> Settings:
    return Settings.load(overrides={"corpus_dir": corpus, "index_dir": root / index, "data_dir": root / "data", **kw}, env={})


def _small_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    for name in SMALL:
        shutil.copyfile(ROOT / "corpus" / name, corpus / name)
    shutil.copyfile(ROOT / "corpus" / "catalog.toml", corpus / "catalog.toml")
    (corpus / "notice-a.txt").write_text("关于开展专精特新企业培育的通知\n\n一、支持对象\n对新认定的专精特新企业给予50万元奖励。\n", encoding="utf-8")
    (corpus / "notice-b.txt").write_text("关于加强要素保障的通知\n\n一、用地保障\n优先保障县域重点产业链项目用地指标。\n", encoding="utf-8")
    return corpus


def _content(settings: Settings) -> tuple[list[dict], dict, dict[str, list[str]]]:
    index = settings.index_dir
    chunks = [json.loads(line) for line in (index / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    docs = json.loads((index / "documents.json").read_text(encoding="utf-8"))
    p = Pipeline(settings)
    ranked = {q: [(r.chunk.id, round(r.score, 9)) for r in p.search(q, top_k=10)] for q in QUERIES}
    return chunks, docs, ranked


def test_incremental_build_equals_full_build(tmp_path):
    corpus = _small_corpus(tmp_path)
    inc = _settings(tmp_path, corpus, "index")
    first = build_index(inc)
    assert first.mode == "full"
    before = {c["id"]: c for c in _content(inc)[0]}

    # add one file, change one, delete one
    (corpus / "notice-c.txt").write_text("关于推进数字化转型的通知\n\n一、工作目标\n到2026年规上工业企业数字化改造全覆盖。\n", encoding="utf-8")
    with (corpus / "notice-a.txt").open("a", encoding="utf-8") as f:
        f.write("二、申报方式\n企业向所在县（市、区）工信部门申报。\n")
    (corpus / "notice-b.txt").unlink()

    report = build_index(inc)
    assert report.mode == "incremental"
    assert report.reused == len(SMALL)
    full = _settings(tmp_path, corpus, "index-full")
    assert build_index(full, force=True).mode == "full"

    inc_chunks, inc_docs, inc_ranked = _content(inc)
    full_chunks, full_docs, full_ranked = _content(full)
    assert inc_chunks == full_chunks
    assert inc_docs == full_docs
    assert inc_ranked == full_ranked
    # unchanged documents keep their chunk ids (and chunks); the deleted one is gone
    for c in inc_chunks:
        if c["doc_id"] in ("quanzhou-action-plan", "news-county-chain"):
            assert before[c["id"]] == c
    assert not any(c["doc_id"] == "notice-b" for c in inc_chunks)
    assert any(c["doc_id"] == "notice-c" for c in inc_chunks)
    # the token cache is not listed in the manifest (so `rag check` and loading never read it)
    manifest = json.loads((inc.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert not any(k.startswith("cache/") for k in manifest["files"])
    assert (inc.index_dir / "cache" / "tokens.tsv").is_file()


def test_catalog_change_reingests_only_that_file(tmp_path):
    corpus = _small_corpus(tmp_path)
    s = _settings(tmp_path, corpus, "index")
    build_index(s)
    cat = (corpus / "catalog.toml").read_text(encoding="utf-8")
    (corpus / "catalog.toml").write_text(cat.replace('issuer = "泉州市人民政府办公室"', 'issuer = "泉州市政府办公室"'), encoding="utf-8")
    report = build_index(s)
    assert report.mode == "incremental" and report.reused == len(SMALL) + 1  # news + two notices
    docs = json.loads((s.index_dir / "documents.json").read_text(encoding="utf-8"))
    assert docs["quanzhou-action-plan"]["issuer"] == "泉州市政府办公室"


def test_scaler_ids_unique_and_numbers_varied(tmp_path):
    import tomllib

    from rag.bench.scale import scale_corpus
    from rag.ingest import load_corpus

    out = tmp_path / "scaled"
    info = scale_corpus(ROOT / "corpus", out, 3)
    assert info["documents"] == 15
    catalog = tomllib.loads((out / "catalog.toml").read_text(encoding="utf-8"))["document"]
    ids = [d["id"] for d in catalog]
    assert len(ids) == len(set(ids)) == 15
    originals = {p.name for p in (ROOT / "corpus").glob("*.txt")}
    for name in originals:  # the originals are kept byte for byte (gold evidence stays valid)
        assert (out / name).read_bytes() == (ROOT / "corpus" / name).read_bytes()
    orig = (ROOT / "corpus" / "quanzhou-county-chain-action-plan.txt").read_text(encoding="utf-8")
    c1 = (out / "copy001-quanzhou-county-chain-action-plan.txt").read_text(encoding="utf-8")
    c2 = (out / "copy002-quanzhou-county-chain-action-plan.txt").read_text(encoding="utf-8")
    nums = [set(re.findall(r"\d{2,}", t)) for t in (orig, c1, c2)]
    assert len(nums[1] - nums[0]) > 20 and len(nums[2] - nums[1]) > 20  # numbers vary between copies
    assert "泉州" in orig and "泉州" not in c1 and "泉州" not in c2  # place names substituted
    assert c1 != c2
    loaded = load_corpus(Settings.load(overrides={"corpus_dir": out}, env={}))
    assert not loaded.problems
    chunk_ids = [c.id for c in loaded.chunks]
    assert len(chunk_ids) == len(set(chunk_ids))
    per_doc = {}
    for c in loaded.chunks:
        per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1
    assert len(per_doc) == 15
    # each copy chunks to roughly the size of its original (the outline still parses)
    for doc_id, n in per_doc.items():
        base = per_doc[doc_id.split("-", 1)[1] if doc_id.startswith("copy") else doc_id]
        assert 0.8 * base <= n <= 1.2 * base, doc_id


@pytest.mark.slow
def test_bench_json_keys(tmp_path):
    from typer.testing import CliRunner

    from rag.cli import app

    pytest.importorskip("rank_bm25")
    pytest.importorskip("langchain_community")
    res = CliRunner().invoke(app, ["bench", "--scale", "1", "--json", "--queries", "20", "--no-serve",
                                   "--workdir", str(tmp_path / "bench")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    row = out[0] if isinstance(out, list) else out
    assert {"scale", "chunks", "ours", "peer", "ratio"} <= set(row)
    assert {"build_s", "build_rss_mb", "index_mb", "load_s", "search_p50_ms", "search_p95_ms", "ask_p50_ms",
            "ask_p95_ms"} <= set(row["ours"])
    assert {"build_s", "search_p50_ms", "search_p95_ms", "rss_mb"} <= set(row["peer"])
