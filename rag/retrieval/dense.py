"""Dense retrieval: sentence-transformers embeddings in a FAISS inner-product index.

Two kinds of embedding model, one code path:

- ``embedding_model="static"`` (default, no download): a corpus-fitted static model built at
  index time. Vocabulary = the jieba search tokens of the corpus; token vectors = latent
  semantic analysis of the chunk x token TF-IDF matrix (truncated SVD), scaled by IDF. It is
  saved as an ordinary sentence-transformers model folder (``StaticEmbedding`` + ``Normalize``)
  whose input is jieba tokens joined by spaces (``info.json: "input": "jieba-tokens"``).
- any other value: a sentence-transformers model by hub name or local folder, fed raw text.

Query encoding for folders that are exactly ``StaticEmbedding`` + ``Normalize`` uses a numpy
fast path over the saved ``tokenizer.json`` and ``model.safetensors`` (the same weights; tests
check the vectors equal ``SentenceTransformer.encode``), because importing torch and
sentence-transformers costs ~7 s, far above the 3 s cold-start budget of ``rag search``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ConfigError, IndexMismatchError
from .tokenize import tokenize

# Bump when the saved layout or the static-model recipe changes; the index records it.
VERSION = "faiss-flatip/1"
UNK = "[UNK]"
STATIC = "static"
Progress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------- static model
def fit_static_vectors(
    token_lists: Sequence[Sequence[str]], dim: int, exponent: float = 0.5
) -> tuple[list[str], np.ndarray]:
    """Fit token vectors on the corpus: LSA over the chunk x token TF-IDF matrix.

    Returns the vocabulary (``[UNK]`` first, then tokens by document frequency) and a
    float32 matrix with one row per token: ``V * S**exponent`` row-normalised, times the
    token's IDF (so a mean over a text's tokens is an IDF-weighted average). The ``[UNK]``
    row is zero. The dimension is ``min(dim, rank limit)`` for tiny corpora. Deterministic.
    """
    from scipy import sparse

    df: dict[str, int] = {}
    for toks in token_lists:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    vocab = [UNK] + sorted(df, key=lambda t: (-df[t], t))
    index = {t: i for i, t in enumerate(vocab)}
    n_docs = max(len(token_lists), 1)
    idf = np.zeros(len(vocab), dtype=np.float64)
    for t, d in df.items():
        idf[index[t]] = np.log(1 + (n_docs - d + 0.5) / (d + 0.5))
    rows, cols, vals = [], [], []
    for r, toks in enumerate(token_lists):
        counts: dict[int, int] = {}
        for t in toks:
            counts[index[t]] = counts.get(index[t], 0) + 1
        for c, n in counts.items():
            rows.append(r)
            cols.append(c)
            vals.append((1 + np.log(n)) * idf[c])
    x = sparse.csr_matrix((vals, (rows, cols)), shape=(n_docs, len(vocab)), dtype=np.float64)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    x = sparse.diags(1 / np.maximum(norms, 1e-12)) @ x
    k = max(1, min(dim, min(x.shape) - 1))
    if min(x.shape) <= 600:
        _, s, vt = np.linalg.svd(x.toarray(), full_matrices=False)
        s, vt = s[:k], vt[:k]
    else:
        from scipy.sparse.linalg import svds

        v0 = np.full(min(x.shape), 1 / np.sqrt(min(x.shape)))  # fixed start vector: deterministic
        _, s, vt = svds(x, k=k, v0=v0, solver="arpack")
        order = np.argsort(-s)
        s, vt = s[order], vt[order]
    vectors = vt.T * (s**exponent)
    # Fix each component's sign (SVD signs are arbitrary) so builds are reproducible.
    signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])])
    vectors = vectors * np.where(signs == 0, 1, signs)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vectors *= idf[:, None]
    vectors[0] = 0.0
    return vocab, np.ascontiguousarray(vectors, dtype=np.float32)


def make_static_model(vocab: Sequence[str], vectors: np.ndarray):
    """A sentence-transformers model (``StaticEmbedding`` + ``Normalize``) over space-separated tokens."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return SentenceTransformer(modules=[StaticEmbedding(tok, embedding_weights=vectors), Normalize()], device="cpu")


def static_input(text: str) -> str:
    """The input a corpus-fitted static model expects: jieba search tokens joined by spaces."""
    return " ".join(tokenize(text))


# --------------------------------------------------------------------------- encoders
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length query vectors, one row per text."""
        ...


def load_sentence_transformer(name_or_path: str):
    """Load any sentence-transformers model by hub name or local folder, on CPU, or raise ConfigError."""
    folder = Path(name_or_path).expanduser()
    if name_or_path.startswith((".", "/", "~")) and not folder.is_dir():
        raise ConfigError(f"embedding model folder {name_or_path!r} does not exist")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(folder) if folder.exists() else name_or_path, device="cpu")
    except Exception as e:  # noqa: BLE001 - hub unreachable, not a model, bad files: one clear message
        raise ConfigError(
            f"could not load embedding model {name_or_path!r} ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
            "give a local sentence-transformers folder, or set embedding_model to 'static' (built at index time) or 'none'"
        ) from None


class SentenceTransformerEncoder:
    """Any sentence-transformers model, loaded on first use. ``input`` is "text" or "jieba-tokens"."""

    def __init__(self, name_or_path: str, input: str = "text", dim: int | None = None):
        if input not in ("text", "jieba-tokens"):
            raise ConfigError(f"input={input!r} is not valid; choose text or jieba-tokens")
        self.name_or_path = name_or_path
        self.input = input
        self._model = None
        self.dim = dim or 0

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use."""
        if self._model is None:
            self._model = load_sentence_transformer(self.name_or_path)
            self.dim = self._model.get_embedding_dimension()
        return self._model

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        return [static_input(t) for t in texts] if self.input == "jieba-tokens" else list(texts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised query vectors."""
        v = self.model.encode_query(self._prepare(texts), convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(v, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str], batch_size: int = 64, progress: Progress | None = None) -> np.ndarray:
        """L2-normalised document vectors, in batches, with progress."""
        prepared = self._prepare(texts)
        out = []
        for start in range(0, len(prepared), batch_size):
            batch = prepared[start : start + batch_size]
            out.append(self.model.encode_document(batch, convert_to_numpy=True, normalize_embeddings=True))
            if progress:
                progress("embedding chunks", min(start + batch_size, len(prepared)), len(prepared))
        if not out:
            return np.zeros((0, self.model.get_embedding_dimension()), dtype=np.float32)
        return np.asarray(np.concatenate(out), dtype=np.float32)


def is_plain_static_folder(folder: Path) -> bool:
    """True for a saved sentence-transformers folder that is exactly StaticEmbedding (+ Normalize)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    types = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    root_static = bool(modules) and modules[0].get("path", "") == "" and types[0] == "StaticEmbedding"
    return root_static and types[1:] in ([], ["Normalize"]) and (folder / "model.safetensors").is_file()


class StaticEncoder:
    """Numpy fast path for a saved static model: mean of token rows, L2-normalised (no torch import)."""

    def __init__(self, folder: Path, input: str = "jieba-tokens"):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.folder = folder
        self.input = input
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._weights = load_file(str(folder / "model.safetensors"))["embedding.weight"].astype(np.float32)
        self.dim = self._weights.shape[1]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised query vectors: mean of the token rows."""
        prepared = [static_input(t) for t in texts] if self.input == "jieba-tokens" else list(texts)
        out = np.zeros((len(prepared), self.dim), dtype=np.float32)
        for i, enc in enumerate(self._tokenizer.encode_batch(prepared, add_special_tokens=False)):
            if enc.ids:
                out[i] = self._weights[enc.ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


# --------------------------------------------------------------------------- build / load
def build(
    out_dir: Path,
    texts: Sequence[str],
    token_lists: Sequence[list[str]],
    chunk_ids: Sequence[str],
    embedding_model: str,
    static_dim: int,
    progress: Progress | None = None,
) -> dict:
    """Embed the chunks and write ``out_dir``: faiss.index, ids.json, info.json (+ model/ for static)."""
    import faiss

    out_dir.mkdir(parents=True, exist_ok=True)
    if embedding_model == STATIC:
        if progress:
            progress("fitting static embeddings", 0, 1)
        vocab, vectors = fit_static_vectors(token_lists, static_dim)
        model = make_static_model(vocab, vectors)
        model.save(str(out_dir / "model"))
        if progress:
            progress("fitting static embeddings", 1, 1)
        # Encode through the saved folder: the index is built by exactly what queries will use.
        # The chunks are already tokenised, so feed the joined tokens as text (same as static_input).
        encoder = SentenceTransformerEncoder(str(out_dir / "model"), input="text")
        emb = encoder.encode_documents([" ".join(t) for t in token_lists], progress=progress)
        info = {"model": STATIC, "kind": "static", "input": "jieba-tokens", "model_dir": "model",
                "vocab_size": len(vocab), "method": "lsa-tfidf-svd, V*S^0.5, idf-scaled"}
    else:
        encoder = SentenceTransformerEncoder(embedding_model, input="text")
        emb = encoder.encode_documents(texts, batch_size=32, progress=progress)
        info = {"model": embedding_model, "kind": "sentence-transformers", "input": "text", "model_dir": ""}
    dim = int(emb.shape[1])
    index = faiss.IndexFlatIP(dim)
    if len(emb):
        index.add(np.ascontiguousarray(emb, dtype=np.float32))
    faiss.write_index(index, str(out_dir / "faiss.index"))
    (out_dir / "ids.json").write_text(json.dumps(list(chunk_ids), ensure_ascii=False), encoding="utf-8")
    info.update(dim=dim, count=int(index.ntotal), metric="inner_product", normalized=True,
                faiss=faiss.__version__)
    (out_dir / "info.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    return info


class DenseRanker:
    """Ranks chunk rows by cosine similarity in a FAISS ``IndexFlatIP`` of normalised vectors."""

    name = "dense"

    def __init__(self, dense_dir: Path, chunk_ids: Sequence[str], encoder: Encoder | None = None):
        import faiss

        self._faiss = faiss
        self.info = json.loads((dense_dir / "info.json").read_text(encoding="utf-8"))
        saved_ids = json.loads((dense_dir / "ids.json").read_text(encoding="utf-8"))
        self._index = faiss.read_index(str(dense_dir / "faiss.index"))
        if saved_ids != list(chunk_ids) or self._index.ntotal != len(saved_ids):
            raise IndexMismatchError(f"dense index in {dense_dir} does not match chunks.jsonl; run `rag build --force`")
        self.encoder = encoder or encoder_for(dense_dir, self.info)

    def rank(self, query: str, depth: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, cosine) pairs, best first, at most ``depth``; ``allowed`` is a boolean row mask."""
        n = self._index.ntotal
        if n == 0:
            return []
        q = self.encoder.encode_queries([query])
        if not np.any(q):  # no known token: nothing is similar
            return []
        params = None
        if allowed is not None:
            rows = np.flatnonzero(allowed).astype(np.int64)
            if len(rows) == 0:
                return []
            params = self._faiss.SearchParameters(sel=self._faiss.IDSelectorBatch(rows))
            n = len(rows)
        scores, rows = self._index.search(np.ascontiguousarray(q, dtype=np.float32), min(depth, n), params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


def encoder_for(dense_dir: Path, info: dict) -> Encoder:
    """The query encoder an index was built with (numpy fast path for plain static folders)."""
    if info.get("kind") == "static":
        folder = dense_dir / info.get("model_dir", "model")
        if is_plain_static_folder(folder):
            return StaticEncoder(folder, input=info.get("input", "jieba-tokens"))
        return SentenceTransformerEncoder(str(folder), input=info.get("input", "jieba-tokens"), dim=info.get("dim"))
    return SentenceTransformerEncoder(info["model"], input=info.get("input", "text"), dim=info.get("dim"))


def load(dense_dir: Path, info: dict, chunk_ids: Sequence[str]) -> DenseRanker:
    """The ranker saved by :func:`build` in ``dense_dir`` (``info`` is what build returned)."""
    return DenseRanker(dense_dir, chunk_ids)
