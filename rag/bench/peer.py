"""The recipe a LangChain user would write, over the same chunks: the benchmark's peer.

``EnsembleRetriever([BM25Retriever (rank_bm25, our jieba tokens), FAISS vector store], weights
0.5/0.5)``, k=10 each, with the same embedding as our index: the corpus-fitted static model our build
saved in ``index/dense/`` (through the same encoder our retriever uses), or, when our index has no
dense half, a 256-d hashing embedding of the same jieba tokens. Texts are our indexed texts (title,
heading path and chunk text), so both sides search the same strings. Needs the ``bench`` extra.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from ..retrieval.query import indexed_text
from ..retrieval.tokenize import tokenize
from ..types import Chunk

HASH_DIM = 256


class HashingEmbedding(Embeddings):
    """Signed feature hashing of the jieba search tokens into ``HASH_DIM`` dimensions, L2-normalised."""

    dim = HASH_DIM

    def _one(self, text: str) -> list[float]:
        v = np.zeros(HASH_DIM, dtype=np.float32)
        for t in tokenize(text):
            h = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v[h % HASH_DIM] += 1.0 if (h >> 32) & 1 else -1.0
        n = float(np.linalg.norm(v))
        return (v / n if n else v).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)


class EncoderEmbedding(Embeddings):
    """Our index's own dense encoder (the corpus-fitted static model) as a LangChain ``Embeddings``."""

    def __init__(self, encoder):
        self.encoder = encoder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out = []
        for i in range(0, len(texts), 256):
            out.extend(self.encoder.encode_queries(texts[i:i + 256]).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.encoder.encode_queries([text])[0].tolist()


def embedding_for(index_dir: Path, retrieval_info: dict):
    """(LangChain embedding, its name): our static model when the index has one, else the hashing one."""
    dense_info = retrieval_info.get("dense")
    if dense_info:
        from ..retrieval.dense import encoder_for

        return EncoderEmbedding(encoder_for(index_dir / "dense", dense_info)), f"ours ({retrieval_info.get('embedding_model')})"
    return HashingEmbedding(), f"hashing-{HASH_DIM}d"


class Peer:
    """EnsembleRetriever(BM25Retriever + FAISS, 0.5/0.5) over ``chunks``; ``search`` returns chunk ids."""

    def __init__(self, chunks: Sequence[Chunk], embedding, k: int = 10):
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
        from langchain_community.vectorstores import FAISS

        texts = [indexed_text(c) for c in chunks]
        metas = [{"id": c.id, "doc_id": c.doc_id} for c in chunks]
        bm25 = BM25Retriever.from_texts(texts, metadatas=metas, preprocess_func=tokenize, k=k)
        store = FAISS.from_texts(texts, embedding, metadatas=metas)
        self.retriever = EnsembleRetriever(retrievers=[bm25, store.as_retriever(search_kwargs={"k": k})],
                                           weights=[0.5, 0.5])
        self.k = k

    def search(self, query: str) -> list[str]:
        """Chunk ids, best first (at most k)."""
        return [d.metadata["id"] for d in self.retriever.invoke(query)][: self.k]
