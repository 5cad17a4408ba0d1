"""The PostgreSQL schema of the ``postgres`` store, as numbered migrations.

``rag_schema`` holds the version the database is at. Writers (``rag migrate --to postgres``, a
build) apply the missing migrations in one transaction under an advisory lock; readers never
migrate: a database at another version gets a clear message (:func:`rag.index.postgres.check_schema`).
Add a migration by appending ``(n + 1, description, sql)``; never edit a released one.

Every index is one *build* (``rag_builds``); ``rag_active`` points at the build being served, and
a build's rows carry its ``build_id``, so a new build is written beside the served one and made
visible by one update of ``rag_active`` at commit.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "builds, documents, chunks with pgvector embeddings, BM25 terms and postings, artifact files", """
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE rag_schema (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    version   integer NOT NULL,
    program   text NOT NULL,
    updated   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rag_builds (
    build_id   bigserial PRIMARY KEY,
    created    timestamptz NOT NULL DEFAULT now(),
    status     text NOT NULL CHECK (status IN ('building', 'ready', 'retired')),
    manifest   json NOT NULL,            -- index/manifest.json, byte for byte
    n_chunks   integer NOT NULL,
    avg_len    double precision NOT NULL, -- mean BM25 document length (tokens; an empty chunk counts 1)
    dense_dim  integer                    -- NULL: no dense half
);

CREATE TABLE rag_active (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    build_id   bigint NOT NULL REFERENCES rag_builds,
    activated  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rag_documents (
    build_id  bigint NOT NULL,
    position  integer NOT NULL,          -- order in documents.json
    doc_id    text NOT NULL,
    info      json NOT NULL,             -- DocumentInfo.to_dict()
    PRIMARY KEY (build_id, doc_id)
);

CREATE TABLE rag_chunks (
    build_id   bigint NOT NULL,
    row_no     integer NOT NULL,         -- line in chunks.jsonl: the row both rankers return
    chunk_id   text NOT NULL,
    doc_id     text NOT NULL,
    data       json NOT NULL,            -- Chunk.to_dict(), the chunks.jsonl line
    embedding  vector,                   -- L2-normalised; HNSW index per build on embedding::vector(dim)
    PRIMARY KEY (build_id, row_no),
    UNIQUE (build_id, chunk_id)
);
CREATE INDEX rag_chunks_doc ON rag_chunks (build_id, doc_id);

-- BM25 in SQL over the jieba search tokens: document frequency per term, tf and length per posting.
CREATE TABLE rag_terms (
    build_id  bigint NOT NULL,
    term      text NOT NULL,
    df        integer NOT NULL,
    PRIMARY KEY (build_id, term)
);

CREATE TABLE rag_postings (
    build_id  bigint NOT NULL,
    term      text NOT NULL,
    row_no    integer NOT NULL,
    tf        integer NOT NULL,
    doc_len   integer NOT NULL,
    doc_id    text NOT NULL,             -- for document filters without a join
    PRIMARY KEY (build_id, term, row_no)
);

-- The retrieval files of the local index (bm25/, dense/ with the query-encoder model): what
-- `rag migrate --to local` writes back, and the dense query encoder of a build.
CREATE TABLE rag_files (
    build_id  bigint NOT NULL,
    path      text NOT NULL,
    sha256    text NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (build_id, path)
);
"""),
    (2, "BM25 weight per posting, read from a covering primary key (index-only scans)", """
ALTER TABLE rag_builds ADD COLUMN k1 double precision NOT NULL DEFAULT 1.2,
                       ADD COLUMN b double precision NOT NULL DEFAULT 0.75;
ALTER TABLE rag_postings ADD COLUMN weight real;
UPDATE rag_postings p
   SET weight = (ln(1.0 + (r.n_chunks - t.df + 0.5) / (t.df + 0.5))
                 * p.tf / (p.tf + r.k1 * (1 - r.b + r.b * p.doc_len / r.avg_len)))::real
  FROM rag_builds r, rag_terms t
 WHERE r.build_id = p.build_id AND t.build_id = p.build_id AND t.term = p.term;
ALTER TABLE rag_postings ALTER COLUMN weight SET NOT NULL;
ALTER TABLE rag_postings DROP CONSTRAINT rag_postings_pkey;
ALTER TABLE rag_postings ADD PRIMARY KEY (build_id, term, row_no) INCLUDE (weight, doc_id);
"""),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]
TABLES = ("rag_files", "rag_postings", "rag_terms", "rag_chunks", "rag_documents")  # rows keyed by build_id
