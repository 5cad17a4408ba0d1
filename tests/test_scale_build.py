"""What the x300 build-speed work (issue #13) changed must not change what is built."""

from dataclasses import asdict, fields

from rag.types import Chunk


def _asdict_chunk(c: Chunk) -> dict:
    d = asdict(c)
    d["heading_path"] = list(c.heading_path)
    d["doc"] = c.doc_id
    return d


def test_chunk_to_dict_equals_asdict():
    c = Chunk("d:p0001", "d", "标题", ("一、总则", "（一）目标"), "text", "正文。", 3, 6, "表头", "第一部分", "某厅", "某〔2024〕1号")
    assert c.to_dict() == _asdict_chunk(c)
    assert list(c.to_dict()) == [f.name for f in fields(Chunk)] + ["doc"]
    assert Chunk.from_dict(c.to_dict()) == c


def _bm25s_columns(data, indices, indptr, vocab):
    """token -> (rows, values) of a saved CSC score matrix."""
    out = {}
    for t, j in vocab.items():
        if j + 1 < len(indptr):
            out[t] = (indices[indptr[j]:indptr[j + 1]].tolist(), data[indptr[j]:indptr[j + 1]].tobytes())
    return out


def test_bm25_score_matrix_is_bm25s_bit_for_bit(seed_corpus, tmp_path):
    """bm25.build's vectorised matrix equals what bm25s.BM25.index computes, value for value (bytes)."""
    import bm25s
    import numpy as np

    from rag.retrieval import bm25
    from rag.retrieval.query import indexed_text
    from rag.retrieval.tokenize import tokenize

    token_lists = [tokenize(indexed_text(c)) for c in seed_corpus.chunks] + [[], ["重复", "重复", "重复"]]
    ids = [f"c{i}" for i in range(len(token_lists))]
    bm25.build(tmp_path / "ours", token_lists, ids)
    ours = bm25s.BM25.load(str(tmp_path / "ours"))
    ref = bm25s.BM25(**bm25.BM25_PARAMS)
    ref.index([t if t else [""] for t in token_lists], show_progress=False)
    assert set(ours.vocab_dict) == set(ref.vocab_dict)
    a = _bm25s_columns(ours.scores["data"], ours.scores["indices"], ours.scores["indptr"], ours.vocab_dict)
    b = _bm25s_columns(ref.scores["data"], ref.scores["indices"], ref.scores["indptr"], ref.vocab_dict)
    assert a == b
    assert ours.scores["data"].dtype == ref.scores["data"].dtype == np.float32
    query = [ours.vocab_dict[t] for t in token_lists[0][:5]]
    ref_query = [ref.vocab_dict[t] for t in token_lists[0][:5]]
    assert ours.get_scores(query).tobytes() == ref.get_scores(ref_query).tobytes()


def test_bm25_build_is_deterministic(tmp_path):
    """The same tokens give the same files in processes with different string hashing (the vocabulary
    is in first-seen order, not a set's order, which changes with PYTHONHASHSEED)."""
    import os
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from rag.retrieval import bm25\n"
        "toks = [['县域', '产业链', '试点', '专精特新', '资金'], ['产业链', '培育', '龙头'], [],"
        " ['试点', '县域', '资金', '资金', '土地', '人才', '金融']]\n"
        "bm25.build(Path(sys.argv[1]), toks, ['1', '2', '3', '4'])\n"
    )
    for name, seed in (("a", "1"), ("b", "2"), ("c", "3")):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
    for f in sorted(p.name for p in (tmp_path / "a").iterdir()):
        for other in ("b", "c"):
            assert (tmp_path / "a" / f).read_bytes() == (tmp_path / other / f).read_bytes(), f


def test_corpus_df_exact_on_small_corpora_estimated_on_large(seed_corpus, monkeypatch):
    """CorpusTerms' document frequency is the exact count up to DF_SAMPLE chunks; above, an estimate
    from an evenly spaced sample, close to the exact count (the scale fix of #13)."""
    from rag.answer import corpus
    from rag.answer.corpus import CorpusTerms

    terms = CorpusTerms(seed_corpus.chunks, seed_corpus.documents)
    terms.idf(["县域"])  # loads
    keys = terms._keys
    words = ["县", "产业", "产业链", "的", "专精特新", "不存在的词语", "试点", "资金"]
    exact = {w: sum(1 for ck in keys if w in ck) for w in words}
    assert {w: terms._count_chunks(w) for w in words} == exact
    monkeypatch.setattr(corpus, "DF_SAMPLE", len(keys) // 3)
    sampled = CorpusTerms(seed_corpus.chunks, seed_corpus.documents)
    sampled.idf(["县域"])
    n, total = corpus.DF_SAMPLE, len(keys)
    for w in words:
        p = exact[w] / total  # three standard errors of a sample share, in chunks
        assert abs(sampled._count_chunks(w) - exact[w]) <= 3 * total * (p * (1 - p) / n) ** 0.5 + 1, w
    assert sampled._count_chunks("不存在的词语") == 0
