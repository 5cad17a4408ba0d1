"""The one place where stages are wired: index -> retriever -> answerer.

CLI, HTTP API, UI and the evaluation harness all go through :class:`Pipeline`.
Heavy pieces (index, models) load lazily on first use and once per process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import cached_property

from .errors import InputError
from .index import BuildReport, IndexStore, LocalStore
from .index import build_index as _build_index
from .index import build_key as _build_key
from .index import index_status as _index_status
from .retrieval import RetrievalArtifacts
from .settings import Settings, check_answer_mode, check_top_k
from .types import Answer, DocumentInfo, Filters, ScoredChunk


def build_index(settings: Settings, force: bool = False, progress=None) -> BuildReport:
    """Build the index for ``settings`` (ingestion + retrieval artifacts) unless it is fresh; incremental when it can be.

    With ``store="postgres"`` the database's active build is what must be fresh: the local index is
    built as the staging copy and published (a :class:`rag.index.pg_build.PublishReport`)."""
    from .retrieval.token_cache import CachingArtifacts

    if settings.store == "postgres":
        from .index.pg_build import build_and_publish
        from .retrieval.pg import PgSearchRows

        return build_and_publish(settings, CachingArtifacts(settings), PgSearchRows(), force=force, progress=progress)
    return _build_index(settings, CachingArtifacts(settings), force=force, progress=progress)


def index_status(settings: Settings) -> tuple[str, str]:
    """("fresh" | "missing" | "stale" | "damaged", reason) of the index for ``settings`` (with
    ``store="postgres"``: of the database's active build, or "unchecked" when there is no local corpus)."""
    if settings.store == "postgres":
        from .index.pg_build import db_index_status

        return db_index_status(settings, RetrievalArtifacts(settings))
    return _index_status(settings, RetrievalArtifacts(settings))


def open_index(settings: Settings) -> IndexStore:
    """The built index for ``settings`` (local files, or PostgreSQL with ``store="postgres"``); IndexMissingError / IndexMismatchError when unusable."""
    key = _build_key(settings, RetrievalArtifacts(settings))
    if settings.store == "postgres":
        from .index.postgres import PostgresStore

        return PostgresStore.open(settings.database_url, key)
    return LocalStore.open(settings.index_dir, key)


class _BuildTerms:
    """The CorpusTerms interface over the corpus words of this thread's current build (postgres store)."""

    def __init__(self, per_build):
        self._current = per_build.get

    def occurs(self, key: str) -> bool:
        return self._current().occurs(key)

    def section(self, doc_id: str, path: tuple[str, ...]):
        return self._current().section(doc_id, path)

    def idf(self, keys) -> float:
        return self._current().idf(keys)


class Pipeline:
    """Question in, verified answer out; every front end (CLI, API, UI, eval) goes through one of these."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.load()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lazy parts
    @cached_property
    def index(self) -> IndexStore:
        """The loaded index (once per process)."""
        return open_index(self.settings)

    @property
    def documents(self) -> dict[str, DocumentInfo]:
        """The documents of the loaded index by doc id."""
        return self.index.documents

    @cached_property
    def retriever(self):
        """The retriever over the loaded index (built once, thread-safely)."""
        from .errors import IndexDamagedError, RagError
        from .retrieval import load_retriever

        with self._lock:
            try:
                return load_retriever(self.index, self.settings)
            except RagError:
                raise
            except Exception as e:  # noqa: BLE001 - an unreadable artifact (npy, faiss, json) is a damaged index
                raise IndexDamagedError(
                    f"the retrieval files in {self.index.dir} are damaged ({type(e).__name__}: {str(e)[:120]}); "
                    "run `rag check` to see which, then `rag build --force`"
                ) from None

    @cached_property
    def corpus_terms(self):
        """Which words occur anywhere in the indexed documents (normalised on first use; with the
        postgres store, of the build this thread's question uses, so a republish is followed)."""
        from .answer.corpus import CorpusTerms

        index = self.index
        if getattr(index, "kind", "") == "postgres":
            from .index.postgres import PerBuild

            return _BuildTerms(PerBuild(index, lambda view: CorpusTerms(lambda: index.chunks_of(view)[0],
                                                                          lambda: view.documents.values())))
        return CorpusTerms(lambda: self.index.chunks, lambda: self.documents.values())

    def check(self) -> tuple[list[str], float]:
        """Verify every index file against the manifest's checksums: (damaged files, seconds taken)."""
        t0 = time.perf_counter()
        bad = self.index.verify()
        return bad, time.perf_counter() - t0

    def answerer(self, mode: str | None = None):
        """The answerer for ``mode`` (default: settings.answer_mode), cached per mode."""
        from .answer import make_answerer

        mode = check_answer_mode(mode or self.settings.answer_mode)
        cache = self.__dict__.setdefault("_answerers", {})
        if mode not in cache:
            cache[mode] = make_answerer(mode, self.settings, self.corpus_terms)
        return cache[mode]

    # ------------------------------------------------------------------ index
    def status(self) -> tuple[str, str]:
        """("fresh" | "missing" | "stale", reason) of the index for these settings."""
        return index_status(self.settings)

    def build(self, force: bool = False, progress=None):
        """Build the index unless it is fresh (or ``force``); returns a BuildReport. Resets loaded parts."""
        report = build_index(self.settings, force=force, progress=progress)
        if report.status == "built":
            for name in ("index", "retriever", "corpus_terms", "_answerers"):
                self.__dict__.pop(name, None)
        return report

    # ------------------------------------------------------------------ helpers
    def resolve_doc(self, ref: str) -> str:
        """Doc id from an id, alias, file name or title; InputError listing the valid ids otherwise."""
        ref = ref.strip()
        for d in self.documents.values():
            if ref in (d.doc_id, d.path, d.title) or ref in d.aliases:
                return d.doc_id
        valid = ", ".join(sorted(self.documents))
        raise InputError(f"unknown document {ref!r}; valid ids: {valid} (file names and aliases work too)")

    def make_filters(self, docs: list[str] | tuple[str, ...] | None = None, **kw) -> Filters:
        """Filters for the given document references (ids, aliases, file names or titles)."""
        doc_ids = tuple(self.resolve_doc(d) for d in (docs or ()))
        return Filters(doc_ids=doc_ids, **kw)

    # ------------------------------------------------------------------ LangChain
    def as_retriever(self, k: int | None = None, filters: Filters | None = None):
        """``search`` as a LangChain ``BaseRetriever`` (:class:`rag.adapters.PolicyRetriever`)."""
        from .adapters import PolicyRetriever

        return PolicyRetriever(pipeline=self, k=k, filters=filters)

    def as_runnable(self, mode: str | None = None, retriever=None):
        """``ask`` / ``ask_stream`` as a LangChain Runnable (:func:`rag.adapters.answer_chain`); ``retriever``:
        any LangChain ``BaseRetriever`` to take passages from instead of the index."""
        from .adapters import answer_chain

        return answer_chain(self, mode=mode, retriever=retriever)

    # ------------------------------------------------------------------ stages
    def search(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[ScoredChunk]:
        """Ranked chunks for ``query`` (cleaned; ``top_k`` from 1 to 200, default settings.top_k)."""
        from .retrieval.query import clean_query, expand_query
        from .text import match_key
        from .vocab import vocabulary_for

        refresh = getattr(self.index, "refresh", None)
        if refresh is not None:  # postgres: follow a republish before the corpus words are used (one short query)
            refresh()
        known = self.corpus_terms.occurs
        q = expand_query(clean_query(query), vocabulary_for(self.settings.vocabulary_files), lambda w: known(match_key(w)))
        k = self.settings.top_k if top_k is None else check_top_k(top_k)
        return self.retriever.retrieve(q, top_k=k, filters=filters)

    PART_PASSAGES = 2  # per part of a multi-part question: its own best passages the whole question missed

    def _part_passages(self, question: str, retrieved: list[ScoredChunk], source, filters) -> list[ScoredChunk]:
        """For "A？B？" or "X、Y分别…": each part's top ``PART_PASSAGES`` passages not already retrieved, marked
        ``for_part`` (the answerer reads them after the question's own top k; retrieval metrics do not)."""
        from dataclasses import replace

        from .answer.question import split_question

        parts = split_question(question)
        if len(parts) < 2:
            return []
        seen = {sc.chunk.id for sc in retrieved}
        extra: list[ScoredChunk] = []
        for part in parts[:6]:
            for sc in source.search(part, top_k=self.PART_PASSAGES, filters=filters):
                if sc.chunk.id not in seen:
                    seen.add(sc.chunk.id)
                    extra.append(replace(sc, for_part=part))
        return extra

    def ask(self, question: str, mode: str | None = None, filters: Filters | None = None, top_k: int | None = None,
            source=None) -> Answer:
        """The verified, cited Answer to ``question``."""
        from .answer.base import final_answer

        return final_answer(self.ask_stream(question, mode=mode, filters=filters, top_k=top_k, source=source))

    def ask_stream(
        self, question: str, mode: str | None = None, filters: Filters | None = None, top_k: int | None = None,
        source=None,
    ) -> Iterator[str | Answer]:
        """Yield text deltas while the answer is composed, then the verified :class:`Answer`.

        ``source`` retrieves instead of the index: anything with ``search(query, top_k=, filters=)`` and, read
        after it, ``documents`` (e.g. :class:`rag.adapters.RetrieverSource` over a LangChain retriever)."""
        from dataclasses import replace

        from .retrieval import clean_query

        t0 = time.perf_counter()
        q = clean_query(question)
        answerer = self.answerer(mode)
        query = q
        notices: tuple[str, ...] = ()
        rewriter = getattr(answerer, "rewriter", None)  # LLM mode: the question in the documents' terms
        if rewriter is not None:
            rewrite, why = rewriter.rewrite(q)
            query = rewrite.retrieval_text(q) if rewrite else q
            notices = (why,) if why else ()
        source = self if source is None else source
        retrieved = source.search(query, top_k=top_k, filters=filters)
        if query == q:
            retrieved = retrieved + self._part_passages(q, retrieved, source, filters)
        t1 = time.perf_counter()
        final: Answer | None = None
        for item in answerer.stream(q, retrieved, source.documents):
            if isinstance(item, Answer):
                final = item
            else:
                yield item
        assert final is not None, "answerer produced no Answer"
        t2 = time.perf_counter()
        timings = dict(final.timings_ms)
        timings.update(retrieve=(t1 - t0) * 1000, answer=(t2 - t1) * 1000, total=(t2 - t0) * 1000)
        yield replace(final, question=question if not final.question else final.question, timings_ms=timings,
                      query=query if query != q else "", notices=(*notices, *final.notices))
