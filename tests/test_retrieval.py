"""Retrieval on a six-chunk corpus: exact BM25 rankings, real sentence-transformers + FAISS with
tiny models built here (no download), filters, bad queries, mismatch detection, LangChain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rag.errors import ConfigError, IndexMismatchError, InputError
from rag.retrieval import RetrievalArtifacts, clean_query, load_retriever
from rag.retrieval.query import MAX_QUERY_CHARS
from rag.settings import Settings
from rag.types import Chunk, DocumentInfo, Filters

DOCS = [
    DocumentInfo("plan", "泉州行动方案", issuer="泉州市人民政府", date="2024", kind="行动方案"),
    DocumentInfo("news", "福建縣域新聞", issuer="媒体报道", date="2025-01", kind="新闻报道", language="zh-Hant"),
]


TITLES = {d.doc_id: d.title for d in DOCS}
STATIC = Settings(embedding_model="static", static_dim=8)


def _chunk(cid: str, doc: str, heading: list[str], text: str, context: str = "") -> Chunk:
    return Chunk(cid, doc, TITLES[doc], tuple(heading), "text", text, 0, len(text), context)


CHUNKS = [
    _chunk("plan-1", "plan", ["一、总体要求"], "到2027年，全市县域重点产业链产值突破一万亿元。"),
    _chunk("plan-2", "plan", ["二、支持政策", "（一）资金"], "对试点县给予专项资金支持，每个试点县补助500万元。"),
    _chunk("plan-3", "plan", ["二、支持政策", "（二）用地"], "优先保障重点产业链项目用地指标。"),
    _chunk("plan-4", "plan", ["三、人才"], "引进高层次人才，给予安家补贴和人才公寓。"),
    _chunk("news-1", "news", [], "福建縣域重點產業鏈發展，試點縣獲得貸款支持。"),
    _chunk("news-2", "news", [], "記者走訪了多家企業，了解數字化轉型情況。", context="表：企业 转型"),
]


@dataclass
class Built:
    """What load_retriever reads from an index store (here: artifacts written straight to a folder)."""

    dir: Path
    chunks: list
    documents: dict
    retrieval_info: dict


def _index(tmp: Path, settings: Settings) -> Built:
    info = RetrievalArtifacts(settings).write(CHUNKS, tmp)
    return Built(tmp, list(CHUNKS), {d.doc_id: d for d in DOCS}, info)


def ids(results) -> list[str]:
    return [r.chunk.id for r in results]


@pytest.fixture(scope="module")
def bm25_index(tmp_path_factory) -> Built:
    return _index(tmp_path_factory.mktemp("bm25"), Settings(embedding_model="none"))


@pytest.fixture(scope="module")
def static_index(tmp_path_factory) -> Built:
    return _index(tmp_path_factory.mktemp("static"), STATIC)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A character-level sentence-transformers model with hand-set topic vectors, saved to a folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    topics = {"资金补助": 0, "用地": 1, "人才": 2, "产值": 3}
    vocab = {"[UNK]": 0}
    rows = [np.zeros(4, dtype=np.float32)]
    for chars, axis in topics.items():
        for ch in chars:
            vocab[ch] = len(vocab)
            rows.append(np.eye(4, dtype=np.float32)[axis])
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=False)  # one token per CJK char
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    model = SentenceTransformer(modules=[StaticEmbedding(tok, embedding_weights=np.stack(rows)), Normalize()], device="cpu")
    folder = tmp_path_factory.mktemp("models") / "tiny-char-model"
    model.save(str(folder))
    return folder


# --------------------------------------------------------------------------- BM25
def test_bm25_exact_rankings(bm25_index):
    r = load_retriever(bm25_index, Settings(embedding_model="none", retrieval_mode="bm25"))
    assert ids(r.retrieve("试点县能得到哪些支持", 10)) == ["plan-2", "news-1", "plan-3"]
    assert ids(r.retrieve("人才公寓", 10)) == ["plan-4"]
    assert ids(r.retrieve("重点产业链", 10)) == ["news-1", "plan-3", "plan-1"]
    top = r.retrieve("人才公寓", 1)[0]
    assert top.ranks == {"bm25": 1, "dense": None}
    assert top.scores["bm25"] > 0 and top.scores["dense"] is None


def test_simplified_query_finds_traditional_text(bm25_index):
    r = load_retriever(bm25_index, Settings(embedding_model="none", retrieval_mode="bm25"))
    assert ids(r.retrieve("贷款", 3)) == ["news-1"]
    assert ids(r.retrieve("貸款", 3)) == ["news-1"]


def test_heading_path_and_table_context_are_searchable(bm25_index):
    r = load_retriever(bm25_index, Settings(embedding_model="none", retrieval_mode="bm25"))
    assert ids(r.retrieve("用地", 3)) == ["plan-3"]  # "用地" is in the text and its heading
    assert ids(r.retrieve("总体要求", 3)) == ["plan-1"]  # only in the heading path
    assert ids(r.retrieve("企业转型", 3)) == ["news-2"]  # only in table context (text is traditional)


def test_hybrid_with_no_dense_half_is_bm25(bm25_index):
    r = load_retriever(bm25_index, Settings(embedding_model="none"))
    assert ids(r.retrieve("试点县能得到哪些支持", 10)) == ["plan-2", "news-1", "plan-3"]


# --------------------------------------------------------------------------- dense
def test_any_sentence_transformers_folder_works(tmp_path, tiny_model_dir):
    from rag.retrieval.dense import SentenceTransformerEncoder

    settings = Settings(embedding_model=str(tiny_model_dir), retrieval_mode="dense")
    index = _index(tmp_path, settings)
    assert index.retrieval_info["dense"]["dim"] == 4
    r = load_retriever(index, settings)
    assert isinstance(r.rankers[0].encoder, SentenceTransformerEncoder)  # the real sentence-transformers path
    assert ids(r.retrieve("补助资金", 2)) == ["plan-2", "plan-4"]
    assert ids(r.retrieve("人才", 1)) == ["plan-4"]
    top = r.retrieve("补助资金", 1)[0]
    assert top.ranks == {"bm25": None, "dense": 1}
    assert top.scores["dense"] == pytest.approx(1.0, abs=1e-5)
    # hybrid over the same index: both halves report ranks
    hybrid = load_retriever(index, settings.with_(retrieval_mode="hybrid"))
    best = hybrid.retrieve("补助资金", 3)[0]
    assert best.chunk.id == "plan-2" and best.ranks == {"bm25": 1, "dense": 1}


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        _index(tmp_path, Settings(embedding_model=str(tmp_path / "no-such-model")))


def test_static_model_is_a_sentence_transformers_folder(static_index):
    from sentence_transformers import SentenceTransformer

    from rag.retrieval.dense import StaticEncoder, static_input

    info = static_index.retrieval_info["dense"]
    assert info["kind"] == "static" and info["dim"] == 5  # capped by the six-chunk corpus
    folder = static_index.dir / "dense" / "model"
    r = load_retriever(static_index, STATIC)
    encoder = r.rankers[1].encoder
    assert isinstance(encoder, StaticEncoder)
    queries = ["试点县能得到哪些支持", "人才补贴", "貸款"]
    reference = SentenceTransformer(str(folder), device="cpu").encode_query([static_input(q) for q in queries])
    np.testing.assert_allclose(encoder.encode_queries(queries), reference, atol=1e-5)


def test_static_hybrid_rankings(static_index):
    r = load_retriever(static_index, STATIC)
    res = r.retrieve("人才补贴", 3)
    assert res[0].chunk.id == "plan-4" and res[0].ranks == {"bm25": 1, "dense": 1}
    assert ids(r.retrieve("试点县能得到哪些支持", 2)) == ["plan-2", "news-1"]
    dense = load_retriever(static_index, STATIC.with_(retrieval_mode="dense"))
    assert dense.retrieve("数字化转型", 1)[0].chunk.id == "news-2"


def test_static_build_is_deterministic(tmp_path, static_index):
    again = _index(tmp_path, STATIC)
    a = (static_index.dir / "dense" / "model" / "model.safetensors").read_bytes()
    b = (again.dir / "dense" / "model" / "model.safetensors").read_bytes()
    assert a == b


# --------------------------------------------------------------------------- filters
def test_filters_apply_before_the_cut(static_index):
    r = load_retriever(static_index, STATIC)
    assert ids(r.retrieve("试点县支持", 1, Filters(doc_ids=("news",)))) == ["news-1"]
    assert set(ids(r.retrieve("试点县支持", 10, Filters(kinds=("新闻报道",))))) <= {"news-1", "news-2"}
    assert ids(r.retrieve("试点县支持", 1, Filters(issuers=("泉州市人民政府",)))) == ["plan-2"]
    assert ids(r.retrieve("试点县支持", 1, Filters(years=(2025,)))) == ["news-1"]


def test_unknown_filter_value_names_the_valid_ones(bm25_index):
    r = load_retriever(bm25_index, Settings(embedding_model="none"))
    with pytest.raises(InputError, match="unknown kind '白皮书'; valid values: 新闻报道, 行动方案"):
        r.retrieve("支持", 3, Filters(kinds=("白皮书",)))
    with pytest.raises(InputError, match="unknown year 1999"):
        r.retrieve("支持", 3, Filters(years=(1999,)))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("query", ["", "   \n\t ", "？！。，……", "\x00\x07\x1b", "\u200b\ufeff"])
def test_unusable_queries_get_a_clear_message(query):
    with pytest.raises(InputError, match="the question"):
        clean_query(query)


def test_queries_are_cleaned_and_capped():
    assert clean_query("  试点县\x00能得到\n\n哪些\t支持？ ") == "试点县 能得到 哪些 支持？"
    assert len(clean_query("支持" * 5000)) == MAX_QUERY_CHARS


@pytest.mark.parametrize("query", ["支持" * 5000, "what support do pilot counties get", "digital 转型", "。。。支持"])
def test_odd_queries_give_results_not_tracebacks(static_index, query):
    r = load_retriever(static_index, STATIC)
    results = r.retrieve(clean_query(query), 3)
    assert len(results) <= 3
    assert r.retrieve("zzzz qqqq", 3) == []  # nothing known: an empty list


# --------------------------------------------------------------------------- mismatch
def test_dense_mode_on_an_index_without_vectors_is_refused(bm25_index):
    with pytest.raises(IndexMismatchError, match="embedding_model='none'.*rag build"):
        load_retriever(bm25_index, Settings(embedding_model="static", retrieval_mode="dense"))


def test_chunks_out_of_step_with_the_index_are_refused(static_index):
    other = Built(static_index.dir, list(reversed(CHUNKS)), static_index.documents, static_index.retrieval_info)
    with pytest.raises(IndexMismatchError, match="does not match chunks.jsonl"):
        load_retriever(other, STATIC)
