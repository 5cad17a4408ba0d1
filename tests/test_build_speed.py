"""The build's fast paths give the same results as the slow ones they replace (issue #13).

- chunk vectors computed with numpy equal what the saved sentence-transformers folder encodes;
- an incremental build keeps the fitted static model while the corpus has not drifted, refits when it has;
- the inverted-file vector index (large corpora) honours filters and finds what the exact one finds;
- the memoised tokenizer and the skipping t2s conversion equal jieba / opencc on whole texts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.pipeline import Pipeline, build_index
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["quanzhou-county-chain-action-plan.txt", "fujian-county-chain-news-traditional.txt"]


def _settings(root: Path, corpus: Path, index: str = "index", **kw) -> Settings:
    return Settings.load(overrides={"corpus_dir": corpus, "index_dir": root / index, "data_dir": root / "data",
                                    "embedding_model": "static", "static_dim": 32, **kw}, env={})


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    for name in SMALL:
        shutil.copyfile(ROOT / "corpus" / name, corpus / name)
    shutil.copyfile(ROOT / "corpus" / "catalog.toml", corpus / "catalog.toml")
    return corpus


def _vectors(index_dir: Path) -> dict[str, np.ndarray]:
    import faiss

    ids = json.loads((index_dir / "dense" / "ids.json").read_text(encoding="utf-8"))
    index = faiss.read_index(str(index_dir / "dense" / "faiss.index"))
    return {cid: index.reconstruct(i) for i, cid in enumerate(ids)}


def test_numpy_chunk_vectors_equal_the_saved_model(tmp_path):
    from sentence_transformers import SentenceTransformer

    from rag.retrieval.query import indexed_text
    from rag.retrieval.tokenize import tokenize

    s = _settings(tmp_path, _corpus(tmp_path))
    build_index(s)
    chunks = Pipeline(s).index.chunks
    model = SentenceTransformer(str(s.index_dir / "dense" / "model"), device="cpu")
    texts = [" ".join(tokenize(indexed_text(c))) for c in chunks[:40]]
    reference = model.encode_document(texts, convert_to_numpy=True, normalize_embeddings=True)
    saved = _vectors(s.index_dir)
    ours = np.stack([saved[c.id] for c in chunks[:40]])
    assert np.allclose(ours, reference, atol=1e-5)


def test_incremental_build_keeps_the_model_until_the_corpus_drifts(tmp_path):
    corpus = _corpus(tmp_path)
    s = _settings(tmp_path, corpus)
    build_index(s)
    model_before = (s.index_dir / "dense" / "model" / "model.safetensors").read_bytes()
    before = _vectors(s.index_dir)
    n_before = len(before)

    (corpus / "notice-a.txt").write_text("关于开展专精特新企业培育的通知\n\n一、支持对象\n对新认定的专精特新企业给予50万元奖励。\n",
                                         encoding="utf-8")
    assert build_index(s).mode == "incremental"
    info = json.loads((s.index_dir / "dense" / "info.json").read_text(encoding="utf-8"))
    assert (s.index_dir / "dense" / "model" / "model.safetensors").read_bytes() == model_before  # kept
    assert info["drift"]["fitted_on"] == n_before and 0 < info["drift"]["added_since_fit"] <= 0.1 * n_before
    after = _vectors(s.index_dir)
    assert all(np.array_equal(after[cid], v) for cid, v in before.items())  # old chunks: same vectors
    assert len(after) == n_before + info["drift"]["added_since_fit"]
    top = Pipeline(s).search("专精特新企业奖励", top_k=3)
    assert any(r.chunk.doc_id == "notice-a" for r in top)

    # a large addition (well over 10 % new chunks) refits the model
    shutil.copyfile(ROOT / "corpus" / "industrial-cluster-compilation.txt", corpus / "zz-compilation.txt")
    assert build_index(s).mode == "incremental"
    info = json.loads((s.index_dir / "dense" / "info.json").read_text(encoding="utf-8"))
    assert "added since the fit" in info["drift"]["refit"]
    assert info["drift"]["added_since_fit"] == 0 and info["drift"]["fitted_on"] == info["count"]
    assert (s.index_dir / "dense" / "model" / "model.safetensors").read_bytes() != model_before

    # a forced build always refits
    build_index(s, force=True)
    info = json.loads((s.index_dir / "dense" / "info.json").read_text(encoding="utf-8"))
    assert info["drift"]["refit"] == "full build"


def test_ivf_index_honours_filters_and_finds_the_exact_top(tmp_path, monkeypatch):
    from rag.retrieval import dense

    corpus = _corpus(tmp_path)
    flat = _settings(tmp_path, corpus, "flat", retrieval_mode="dense")
    build_index(flat)
    monkeypatch.setattr(dense, "EXACT_MAX", 10)
    monkeypatch.setattr(dense, "NLIST_PER_SQRT", 0.5)
    monkeypatch.setattr(dense, "TRAIN_PER_LIST", 40)
    ivf = _settings(tmp_path, corpus, "ivf", retrieval_mode="dense")
    build_index(ivf)
    info = json.loads((ivf.index_dir / "dense" / "info.json").read_text(encoding="utf-8"))
    assert info["index"] == "ivf-flat" and info["nlist"] >= 2
    a, b = Pipeline(flat), Pipeline(ivf)
    for q in ("试点县能得到哪些支持？", "数字化转型", "晋江市重点发展哪些细分链条"):
        assert a.search(q, top_k=1)[0].chunk.id == b.search(q, top_k=1)[0].chunk.id
    news = b.make_filters(["news-county-chain"])
    got = b.search("产业链", top_k=10, filters=news)
    assert got and all(r.chunk.doc_id == "news-county-chain" for r in got)
    assert [r.chunk.id for r in got] == [r.chunk.id for r in a.search("产业链", top_k=10, filters=news)]


def test_memoised_tokenizer_equals_jieba_on_whole_texts():
    from rag.retrieval import tokenize as t
    from rag.text import search_form

    jieba = t.jieba_module()

    def reference(text: str) -> list[str]:
        toks = (tok.strip() for tok in jieba.cut_for_search(search_form(text), HMM=True))
        return [tok for tok in toks if tok and tok not in t.STOPWORDS and t._WORDLIKE.search(tok)]

    text = (ROOT / "corpus" / "quanzhou-county-chain-action-plan.txt").read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("\n") if p.strip()][:120]
    paragraphs += ["到2025年，全市培育50条县域重点产业链", "ＡＢＣ１２３ 數字化轉型，a-b_c.d%", "", "。。。"]
    for p in paragraphs + paragraphs:  # the second pass answers from the memo
        assert t.tokenize(p) == reference(p)


def test_skipping_t2s_conversion_equals_opencc():
    from rag.text import _t2s, to_simplified

    cc = _t2s()
    for name in ("fujian-county-chain-news-traditional.txt", "quanzhou-county-chain-action-plan.txt"):
        for line in (ROOT / "corpus" / name).read_text(encoding="utf-8").split("\n"):
            assert to_simplified(line) == cc.convert(line)
    for s in ("乾坤大挪移", "一目瞭然，不瞭解。", "发展数字经济", "臺灣 與 香港—澳門", "干部"):
        assert to_simplified(s) == cc.convert(s)


@pytest.mark.parametrize("n", [700, 6000])
def test_static_fit_is_deterministic_and_unit_scaled(n):
    from rag.retrieval.static import fit_static_vectors

    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(900)]
    docs = [list(rng.choice(words, size=12)) for _ in range(n)]
    v1, a = fit_static_vectors(docs, 16)
    v2, b = fit_static_vectors(docs, 16)
    assert v1 == v2 and np.array_equal(a, b) and a.shape == (len(v1), 16)
    assert not a[0].any()  # [UNK]
