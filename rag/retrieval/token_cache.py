"""Tokenising at build time: a per-chunk token cache, and both cores for what is not cached.

Tokenising chunks with jieba is the largest single cost of a build (about half of it). The tokens
of a chunk depend only on its indexed text and the tokenizer version, so :class:`CachingArtifacts`
keeps them in ``index/cache/tokens.tsv`` (one ``sha1-of-text<TAB>tokens joined by spaces`` line per
chunk, under a header naming the tokenizer and jieba version) and an incremental build tokenises
only the chunks of changed files. What is not cached is tokenised in worker processes when there
are many chunks and more than one core. The token lists are exactly :func:`tokenize`'s, so the
artifacts equal those of an uncached build; the cache is not part of the manifest's file table (a
damaged or foreign cache is ignored, never trusted blindly: every line carries its text's hash).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..types import Chunk
from . import RetrievalArtifacts
from .query import indexed_text

CACHE_FILE = Path("cache") / "tokens.tsv"
PARALLEL_MIN = 4000  # below this many texts, starting workers costs more than it saves
BATCH = 500

Progress = Callable[[str, int, int], None]


def _header() -> str:
    from .tokenize import tokenizer_info

    info = tokenizer_info()
    return f"# rag-tokens/1 {info['version']} jieba-{info['jieba']} stopwords-{info['stopwords']}"


def text_key(text: str) -> str:
    """The cache key of an indexed text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _shared(lists: Iterator[list[str]] | Sequence[list[str]], canon: dict[str, str]) -> Iterator[list[str]]:
    """Each list with its tokens replaced by one shared string per distinct token (``canon``).

    A corpus of 200k chunks holds ~20M token occurrences but only ~100k distinct tokens; one string
    object per occurrence (what jieba, unpickling and ``str.split`` give) costs ~1.5 GB there.
    """
    get = canon.setdefault
    for toks in lists:
        yield [get(t, t) for t in toks]


def read_cache(path: Path, canon: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The cached token lists in ``path`` (empty when missing, unreadable or from another tokenizer)."""
    out: dict[str, list[str]] = {}
    get = (canon if canon is not None else {}).setdefault
    try:
        with path.open(encoding="utf-8") as f:
            if f.readline().rstrip("\n") != _header():
                return {}
            for line in f:
                k, _, toks = line.rstrip("\n").partition("\t")
                if len(k) == 40:
                    out[k] = [get(t, t) for t in toks.split(" ")] if toks else []
    except (OSError, UnicodeDecodeError):
        return {}
    return out


def write_cache(path: Path, entries: dict[str, list[str]]) -> None:
    """Write ``entries`` (text key -> tokens); tokens with whitespace in them are left out of the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        f.write(_header() + "\n")
        for k, toks in entries.items():
            if not any(" " in t or "\t" in t or "\n" in t for t in toks):
                f.write(f"{k}\t{' '.join(toks)}\n")


def _tokenize_batch(texts: Sequence[str]) -> list[list[str]]:
    from .tokenize import tokenize

    return [tokenize(t) for t in texts]


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def tokenize_many(texts: Sequence[str], progress: Progress | None = None,
                  canon: dict[str, str] | None = None) -> list[list[str]]:
    """:func:`tokenize` of every text, in worker processes (fork) when there are many and cores to spare.

    Equal tokens share one string object (``canon``, shared with the caller's other lists when given).
    """
    from .tokenize import jieba_module

    jieba_module()  # initialised once here, inherited by forked workers
    batches = [texts[i:i + BATCH] for i in range(0, len(texts), BATCH)]
    out: list[list[str]] = []
    canon = {} if canon is None else canon
    workers = _workers()
    # fork after torch is loaded can deadlock in its thread pools: tokenise in-process then.
    if len(texts) >= PARALLEL_MIN and workers > 1 and "torch" not in sys.modules and hasattr(os, "fork"):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for res in pool.map(_tokenize_batch, batches):
                out.extend(_shared(res, canon))
                if progress:
                    progress("tokenizing chunks", len(out), len(texts))
        return out
    for b in batches:
        out.extend(_shared(_tokenize_batch(b), canon))
        if progress:
            progress("tokenizing chunks", len(out), len(texts))
    return out


@contextlib.contextmanager
def _tokenize_from(memo: dict[str, list[str]]) -> Iterator[None]:
    """Within the block, ``rag.retrieval.tokenize.tokenize`` answers from ``memo`` (falls back on a miss)."""
    from . import tokenize as module

    original = module.tokenize

    def cached(text: str) -> list[str]:
        hit = memo.get(text_key(text)) if text else None
        # the cached list itself (readers do not change token lists; no second copy of the corpus's tokens)
        return hit if hit is not None else original(text)

    module.tokenize = cached
    try:
        yield
    finally:
        module.tokenize = original


class CachingArtifacts(RetrievalArtifacts):
    """:class:`RetrievalArtifacts` whose chunk tokens come from the previous index's cache where they can."""

    stats: dict[str, int]

    def write(self, chunks: Sequence[Chunk], out_dir: Path, progress: Progress | None = None,
              previous: Path | None = None, new_rows: Sequence[int] | None = None) -> dict[str, Any]:
        """Tokenise what the cache lacks (both cores for many), keep the cache, then write as usual."""
        keys = [text_key(indexed_text(c)) for c in chunks]
        canon: dict[str, str] = {}
        cache = read_cache(self.settings.index_dir / CACHE_FILE, canon)
        wanted = dict.fromkeys(keys)
        missing = [k for k in wanted if k not in cache]
        memo = {k: cache[k] for k in wanted if k in cache}
        del cache, wanted
        first: dict[str, Chunk | None] = dict.fromkeys(missing)  # filled below
        for k, c in zip(keys, chunks):
            if k in first and first[k] is None:
                first[k] = c  # the first chunk with this text
        memo.update(zip(missing, tokenize_many([indexed_text(c) for c in first.values() if c is not None], progress, canon)))
        del canon, first
        write_cache(out_dir / CACHE_FILE, memo)
        self.stats = {"tokens_cached": len(memo) - len(missing), "tokens_computed": len(missing)}
        fresh = set(missing)
        rows = [i for i, k in enumerate(keys) if k in fresh] if new_rows is None else new_rows
        with _tokenize_from(memo):
            return super().write(chunks, out_dir, progress=progress, previous=previous, new_rows=rows)
