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
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import ConfigError, IndexMismatchError
from .static import UNK, fit_static_vectors  # noqa: F401 - fit_static_vectors re-exported
from .tokenize import tokenize

if TYPE_CHECKING:
    import faiss

# Bump when the saved layout or the static-model recipe changes; the index records it.
VERSION = "faiss-flatip/1"
STATIC = "static"
Progress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------- static model
def make_static_model(vocab: Sequence[str], vectors: np.ndarray):
    """A sentence-transformers model (``StaticEmbedding`` + ``Normalize``) over space-separated tokens (imports torch)."""
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
# Up to this many chunks the vectors are searched exactly (FAISS IndexFlatIP); above it an inverted-file
# index (IndexIVFFlat, NLIST_PER_SQRT * sqrt(n) lists, NPROBE of them searched) keeps a query at about a
# millisecond at 200k chunks (exact search there costs 40-60 ms). Filtered queries search every list
# (exact over the allowed rows).
EXACT_MAX = 30_000
NLIST_PER_SQRT = 2
NPROBE = 32
TRAIN_PER_LIST = 30
# An incremental build keeps the fitted static model while the corpus has not drifted from it: chunks
# embedded since the fit at most REFIT_NEW of the chunks it was fitted on, and tokens the model does not
# know at most REFIT_OOV of all token occurrences. Otherwise the model is fitted again.
REFIT_NEW = 0.10
REFIT_OOV = 0.01


def reusable_model(previous: Path | None, token_lists: Sequence[list[str]], new_rows: Sequence[int], static_dim: int):
    """((vocab index, vectors), drift record) of the previous index's static model if it still fits, else (None, why)."""
    from .static import load_static_folder

    if previous is None:
        return None, {"refit": "full build"}
    try:
        info = json.loads((previous / "dense" / "info.json").read_text(encoding="utf-8"))
        if info.get("kind") != "static" or info.get("static_dim", static_dim) != static_dim:
            return None, {"refit": "previous index has no static model of this dimension"}
        folder = previous / "dense" / info.get("model_dir", "model")
        index, vectors = load_static_folder(folder)
    except (OSError, ValueError, KeyError):
        return None, {"refit": "previous model unreadable"}
    drift = dict(info.get("drift") or {"fitted_on": info.get("count", 0)})
    drift["added_since_fit"] = int(drift.get("added_since_fit", 0)) + len(new_rows)
    # unknown tokens of the chunks added since the fit, over all tokens now (removed chunks are not subtracted)
    drift["oov_since_fit"] = int(drift.get("oov_since_fit", 0)) + sum(
        1 for r in new_rows for t in token_lists[r] if t not in index)
    total = sum(map(len, token_lists))
    drift["oov_share"] = round(drift["oov_since_fit"] / total, 5) if total else 0.0
    fitted = max(int(drift.get("fitted_on", 0)), 1)
    if drift["added_since_fit"] > REFIT_NEW * fitted:
        return None, {"refit": f"{drift['added_since_fit']} chunks added since the fit > {REFIT_NEW:.0%} of {fitted}"}
    if drift["oov_share"] > REFIT_OOV:
        return None, {"refit": f"unknown tokens {drift['oov_share']:.2%} of all > {REFIT_OOV:.0%}"}
    return (index, vectors, folder), drift


def _vector_index(emb: np.ndarray):
    """FAISS index over unit vectors ``emb``: exact up to EXACT_MAX rows, IVF above (see EXACT_MAX)."""
    import faiss

    n, dim = emb.shape if emb.ndim == 2 else (0, 0)
    if n <= EXACT_MAX:
        flat = faiss.IndexFlatIP(dim)
        if n:
            flat.add(emb)
        return flat, {"index": "flat"}
    nlist = int(NLIST_PER_SQRT * np.sqrt(n))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)  # deterministic training sample
    sample = emb[np.sort(rng.choice(n, min(n, TRAIN_PER_LIST * nlist), replace=False))]
    ivf.cp.niter = 10
    ivf.cp.seed = 1234
    ivf.train(sample)
    ivf.add(emb)
    ivf.nprobe = NPROBE
    return ivf, {"index": "ivf-flat", "nlist": nlist, "nprobe": NPROBE}


def build(
    out_dir: Path,
    texts: Sequence[str],
    token_lists: Sequence[list[str]],
    chunk_ids: Sequence[str],
    embedding_model: str,
    static_dim: int,
    progress: Progress | None = None,
    previous: Path | None = None,
    new_rows: Sequence[int] = (),
) -> dict:
    """Embed the chunks and write ``out_dir``: faiss.index, ids.json, info.json (+ model/ for static).

    ``previous`` (an incremental build: the index being replaced) lets the static model be kept when
    the corpus has not drifted from it (:func:`reusable_model`; ``new_rows`` = rows whose text is new).
    """
    import shutil

    import faiss

    from .static import embed_token_lists, save_static_folder

    out_dir.mkdir(parents=True, exist_ok=True)
    if embedding_model == STATIC:
        kept, drift = reusable_model(previous, token_lists, new_rows, static_dim)
        if kept is not None:
            vocab_index, vectors, folder = kept
            shutil.copytree(folder, out_dir / "model")
            vocab_size = len(vocab_index)
        else:
            if progress:
                progress("fitting static embeddings", 0, 1)
            vocab, vectors = fit_static_vectors(token_lists, static_dim)
            save_static_folder(out_dir / "model", vocab, vectors)
            vocab_index = {t: i for i, t in enumerate(vocab)}
            vocab_size = len(vocab)
            drift = {"fitted_on": len(token_lists), "added_since_fit": 0, "oov_since_fit": 0, "oov_share": 0.0,
                     "refit": drift.get("refit")}
            if progress:
                progress("fitting static embeddings", 1, 1)
        # The chunks are already tokenised: their vectors are the saved model's rows, averaged (numpy;
        # equal to the sentence-transformers folder's encode, which tests check).
        emb = embed_token_lists(token_lists, vocab_index, vectors)
        if progress:
            progress("embedding chunks", len(emb), len(emb))
        info = {"model": STATIC, "kind": "static", "input": "jieba-tokens", "model_dir": "model",
                "vocab_size": vocab_size, "static_dim": static_dim, "drift": drift,
                "method": "lsa-tfidf-svd, V*S^0.5, idf-scaled"}
    else:
        encoder = SentenceTransformerEncoder(embedding_model, input="text")
        emb = encoder.encode_documents(texts, batch_size=32, progress=progress)
        info = {"model": embedding_model, "kind": "sentence-transformers", "input": "text", "model_dir": ""}
    dim = int(emb.shape[1])
    index, kind = _vector_index(np.ascontiguousarray(emb, dtype=np.float32))
    faiss.write_index(index, str(out_dir / "faiss.index"))
    (out_dir / "ids.json").write_text(json.dumps(list(chunk_ids), ensure_ascii=False), encoding="utf-8")
    info.update(dim=dim, count=int(index.ntotal), metric="inner_product", normalized=True,
                faiss=faiss.__version__, **kind)
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
        try:  # memory-mapped: loading costs no copy, pages come in as queries touch them
            self._index = faiss.read_index(str(dense_dir / "faiss.index"), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:
            self._index = faiss.read_index(str(dense_dir / "faiss.index"))
        if hasattr(self._index, "nprobe"):
            self._index.nprobe = int(self.info.get("nprobe", NPROBE))
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
        params: faiss.SearchParameters | None = None
        if allowed is not None:
            rows = np.flatnonzero(allowed).astype(np.int64)
            if len(rows) == 0:
                return []
            sel = self._faiss.IDSelectorBatch(rows)  # referenced by ``sel`` until the search returns
            if hasattr(self._index, "nlist"):  # IVF: every list, so the allowed rows are searched exactly
                ivf = self._faiss.SearchParametersIVF()
                ivf.nprobe = self._index.nlist
                params = ivf
            else:
                params = self._faiss.SearchParameters()
            params.sel = sel
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
