"""The corpus-fitted static embedding model, fitted, saved and applied with numpy alone.

Vocabulary = the jieba search tokens of the corpus; token vectors = latent semantic analysis of
the chunk x token TF-IDF matrix (truncated SVD), scaled by IDF. A text's vector is the mean of its
tokens' rows, L2-normalised — exactly what sentence-transformers' ``StaticEmbedding`` +
``Normalize`` computes, and the model is saved as such a folder (``modules.json``,
``tokenizer.json``, ``model.safetensors``), so any sentence-transformers install can load it. But
neither fitting, saving nor encoding imports torch or sentence-transformers (importing them costs
~7 s of a build on this machine, and ~60 s under load): the folder is written by hand and chunk
vectors are one sparse product ``counts @ vectors``.

SVD: exact (LAPACK) for tiny corpora, ARPACK up to :data:`RANDOMIZED_MIN` chunks (the seed corpus's
vectors are unchanged by this module), and above that a randomized SVD (Halko et al. 2011: range
finder with power iterations, fixed seed — deterministic), which at 200k chunks takes seconds
instead of minutes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

UNK = "[UNK]"
RANDOMIZED_MIN = 5000  # chunks; at or above this the SVD is randomized
_OVERSAMPLE = 10
_POWER_ITERS = 2


def _vocab(token_lists: Sequence[Sequence[str]]) -> tuple[list[str], dict[str, int], np.ndarray]:
    df: dict[str, int] = {}
    for toks in token_lists:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    vocab = [UNK] + sorted(df, key=lambda t: (-df[t], t))
    dfs = np.array([0] + [df[t] for t in vocab[1:]], dtype=np.float64)
    return vocab, {t: i for i, t in enumerate(vocab)}, dfs


def count_matrix(token_lists: Sequence[Sequence[str]], index: dict[str, int], n_cols: int, dtype=np.float64):
    """Sparse chunk x token count matrix (CSR, ``dtype``); tokens not in ``index`` count as ``[UNK]`` (col 0)."""
    from scipy import sparse

    indptr = np.zeros(len(token_lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists)), out=indptr[1:])
    get = index.get
    # one array (4-8 bytes a token occurrence, not a list of Python ints)
    small = n_cols < 2**31 and indptr[-1] < 2**31
    itype = np.int32 if small else np.int64
    if small:
        indptr = indptr.astype(np.int32)
    cols = np.fromiter((get(t, 0) for toks in token_lists for t in toks), dtype=itype, count=int(indptr[-1]))
    data = np.ones(len(cols), dtype=dtype)
    x = sparse.csr_matrix((data, cols, indptr), shape=(len(token_lists), n_cols))
    x.sum_duplicates()  # repeated tokens -> counts
    return x


def _orth(y: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning ``y`` (CholeskyQR2: two Gram-matrix passes — matrix products, which
    are several times faster than Householder QR on a tall matrix; a rank-deficient ``y`` falls back to QR)."""
    for _ in range(2):
        gram = (y.T @ y).astype(np.float64)
        try:
            low = np.linalg.cholesky(gram)
        except np.linalg.LinAlgError:
            return np.linalg.qr(y)[0]
        y = y @ np.linalg.inv(low).T.astype(y.dtype)  # float32 @ float32: no second copy
    return y


def _randomized_svd(x, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` singular values and right vectors of sparse ``x`` (Halko et al.; deterministic)."""
    rng = np.random.default_rng(seed)
    xf = x if x.dtype == np.float32 else x.astype(np.float32)
    xf.indices = xf.indices.astype(np.int32)
    xf.indptr = xf.indptr.astype(np.int32) if xf.nnz < 2**31 else xf.indptr
    xt = xf.T.tocsr()
    omega = rng.standard_normal((x.shape[1], k + _OVERSAMPLE)).astype(np.float32)
    q = _orth(xf @ omega)
    for _ in range(_POWER_ITERS):
        z = _orth(xt @ q)  # n_tokens x (k + p): small
        del q  # the old n_chunks x (k + p) block goes before the new one is made
        q = _orth(xf @ z)
    b = np.asarray((xt @ q).T, dtype=np.float64)  # (k + p) x n_tokens
    _, s, vt = np.linalg.svd(b, full_matrices=False)
    return s[:k], vt[:k]


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

    vocab, index, dfs = _vocab(token_lists)
    n_docs = max(len(token_lists), 1)
    idf = np.zeros(len(vocab), dtype=np.float64)
    idf[1:] = np.log(1 + (n_docs - dfs[1:] + 0.5) / (dfs[1:] + 0.5))
    x = count_matrix(token_lists, index, len(vocab))
    # In place, one temporary at a time (the values of ``(1 + log tf) * idf``, row norms by the same
    # sparse product ``x.multiply(x).sum(axis=1)`` computes, without its copy of the matrix).
    w = np.log(x.data)
    w += 1
    w *= idf[x.indices]
    x.data = w
    del w
    squares = sparse.csr_matrix((x.data * x.data, x.indices, x.indptr), shape=x.shape, copy=False)
    norms = np.sqrt(np.asarray(squares.sum(axis=1)).ravel())
    del squares
    # Row-normalise in place: each value times its row's 1/norm, what ``diags(1/norms) @ x`` computes,
    # without a second matrix.
    x.data *= np.repeat(1 / np.maximum(norms, 1e-12), np.diff(x.indptr))
    k = max(1, min(dim, min(x.shape) - 1))
    if min(x.shape) <= 600:
        _, s, vt = np.linalg.svd(x.toarray(), full_matrices=False)
        s, vt = s[:k], vt[:k]
    elif len(token_lists) < RANDOMIZED_MIN:
        from scipy.sparse.linalg import svds

        v0 = np.full(min(x.shape), 1 / np.sqrt(min(x.shape)))  # fixed start vector: deterministic
        _, s, vt = svds(x, k=k, v0=v0, solver="arpack")
        order = np.argsort(-s)
        s, vt = s[order], vt[order]
    else:
        x = x.astype(np.float32)  # what the randomized SVD works on; the float64 copy goes
        s, vt = _randomized_svd(x, k)
    del x
    vectors = vt.T * (s**exponent)
    # Fix each component's sign (SVD signs are arbitrary) so builds are reproducible.
    signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])])
    vectors = vectors * np.where(signs == 0, 1, signs)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vectors *= idf[:, None]
    vectors[0] = 0.0
    return vocab, np.ascontiguousarray(vectors, dtype=np.float32)


def embed_token_lists(token_lists: Sequence[Sequence[str]], vocab_index: dict[str, int], vectors: np.ndarray) -> np.ndarray:
    """Unit vectors of token lists: mean of the tokens' rows, L2-normalised (= StaticEmbedding + Normalize).

    Tokens are split on whitespace as the saved ``WhitespaceSplit`` tokenizer would; unknown tokens
    are ``[UNK]`` (a zero row). A text with no known token gets a zero vector.
    """
    # Only a list holding a token that whitespace splits (or an empty one) changes when split; the
    # others are used as they are (no second copy of every token of the corpus).
    odd = {t for t in set().union(*token_lists) if t.split() != [t]} if token_lists else set()
    split = [" ".join(t).split() if odd and not odd.isdisjoint(t) else t for t in token_lists]
    x = count_matrix(split, vocab_index, len(vectors)).astype(np.float32)
    emb = np.asarray(x @ vectors, dtype=np.float32)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return np.ascontiguousarray(emb / np.maximum(norms, 1e-12), dtype=np.float32)


def save_static_folder(folder: Path, vocab: Sequence[str], vectors: np.ndarray) -> None:
    """Write a sentence-transformers folder (``StaticEmbedding`` + ``Normalize``) without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(folder / "tokenizer.json"))
    save_file({"embedding.weight": np.ascontiguousarray(vectors, dtype=np.float32)}, str(folder / "model.safetensors"))
    modules = [
        {"idx": 0, "name": "0", "path": "",
         "type": "sentence_transformers.sentence_transformer.modules.static_embedding.StaticEmbedding"},
        {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.base.modules.normalize.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2), encoding="utf-8")
    (folder / "1_Normalize").mkdir(exist_ok=True)
    (folder / "1_Normalize" / "config.json").write_text(
        json.dumps({"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"}, indent=4),
        encoding="utf-8")
    try:
        st_version = version("sentence-transformers")
    except PackageNotFoundError:
        st_version = "not installed"
    config = {"__version__": {"sentence_transformers": st_version}, "default_prompt_name": None,
              "model_type": "SentenceTransformer", "prompts": {"document": "", "query": ""},
              "similarity_fn_name": "cosine"}
    (folder / "config_sentence_transformers.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def load_static_folder(folder: Path) -> tuple[dict[str, int], np.ndarray]:
    """(vocabulary index, token vectors) of a folder written by :func:`save_static_folder` (or sentence-transformers)."""
    from safetensors.numpy import load_file

    tok = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    vectors = load_file(str(folder / "model.safetensors"))["embedding.weight"].astype(np.float32)
    return dict(tok["model"]["vocab"]), vectors
