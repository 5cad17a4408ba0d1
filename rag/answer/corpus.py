"""What the answerer knows about the whole corpus (not only the retrieved passages).

:class:`CorpusTerms` answers "does this word occur anywhere in the documents?". A question word
that occurs nowhere (咱们, 家底, 搬进) is the asker's wording: it can neither support nor veto an
answer, so question analysis drops it instead of refusing because of it. The text is normalised
once, on first use (about 0.3 s for the seed corpus; linear in corpus size).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from ..text import match_key
from ..types import Chunk, DocumentInfo

DF_SAMPLE = 5_000  # chunks; document frequency is exact up to this corpus size, estimated above


class CorpusTerms:
    """Substring presence over the normalised text, headings and titles of every chunk."""

    def __init__(self, chunks: Callable[[], Iterable[Chunk]] | Sequence[Chunk],
                 documents: Callable[[], Iterable[DocumentInfo]] | Sequence[DocumentInfo] = ()):
        self._chunks = chunks
        self._documents = documents
        self._text: str | None = None
        self._lock = threading.Lock()
        self._seen: dict[str, bool] = {}
        self._keys: list[str] = []
        self._df: dict[str, int] = {}
        self._sample: list[str] | None = None  # chunk keys df is counted on in a large corpus
        self._by_doc: dict[str, list[Chunk]] | None = None

    def _load(self) -> str:
        with self._lock:
            if self._text is None:
                chunks = self._chunks() if callable(self._chunks) else self._chunks
                docs = self._documents() if callable(self._documents) else self._documents
                self._keys = [match_key(c.text + " " + " ".join(c.heading_path)) for c in chunks]
                parts: list[str] = []
                for d in docs:
                    parts += [d.title, d.issuer, d.kind, *d.aliases]
                self._text = "\n".join([*self._keys, *(match_key(p) for p in parts if p)])
            return self._text

    def occurs(self, key: str) -> bool:
        """Whether the match key ``key`` occurs in some chunk, heading or document name."""
        if not key:
            return False
        hit = self._seen.get(key)
        if hit is None:
            if len(self._seen) > 10_000:
                self._seen.clear()
            hit = self._seen[key] = key in (self._text or self._load())
        return hit

    def section(self, doc_id: str, path: tuple[str, ...]) -> list[Chunk]:
        """The chunks of ``doc_id`` under the heading path ``path`` (it and its subsections), in document order."""
        with self._lock:
            if self._by_doc is None:
                by_doc: dict[str, list[Chunk]] = {}
                for c in (self._chunks() if callable(self._chunks) else self._chunks):
                    by_doc.setdefault(c.doc_id, []).append(c)
                for chunks in by_doc.values():
                    chunks.sort(key=lambda c: c.start)
                self._by_doc = by_doc
        n = len(path)
        return [c for c in self._by_doc.get(doc_id, []) if c.heading_path[:n] == path]

    def idf(self, keys: Sequence[str]) -> float:
        """log((N + 1) / (df + 1)) + 1 over chunks, df = chunks holding any of ``keys``: rare words weigh more."""
        import math

        self._text or self._load()
        df = max((self._df_of(k) for k in keys if k), default=0)
        return math.log((len(self._keys) + 1) / (df + 1)) + 1.0

    def _df_of(self, key: str) -> int:
        n = self._df.get(key)
        if n is None:
            n = self._df[key] = self._count_chunks(key)
        return n

    def _count_chunks(self, key: str) -> int:
        """How many chunk keys hold ``key``: exact up to :data:`DF_SAMPLE` chunks, estimated above.

        Counting is a pass over the chunks in Python (~40 ms a word at 200k chunks, most of an answer's
        time there). A larger corpus counts over an evenly spaced sample of ``DF_SAMPLE`` chunks and
        scales up: deterministic, and the share's standard error is below 0.71 % of the corpus, which
        moves an IDF weight little (a word's presence anywhere is still decided exactly, by :meth:`occurs`).
        """
        keys = self._keys
        if len(keys) <= DF_SAMPLE:
            return sum(1 for ck in keys if key in ck)
        if self._sample is None:
            step = len(keys) / DF_SAMPLE
            self._sample = [keys[int(i * step)] for i in range(DF_SAMPLE)]
        hits = sum(1 for ck in self._sample if key in ck)
        return round(hits * len(keys) / DF_SAMPLE)
