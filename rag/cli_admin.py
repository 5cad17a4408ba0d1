"""Operator commands of the CLI: ``rag bench`` (issue #13), ``rag db`` and ``rag migrate`` (issue #14).

Kept apart from :mod:`rag.cli` (the everyday commands) so each file stays readable; ``rag.cli``
calls :func:`register` once to add them to its Typer app.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from .errors import InputError


def register(app: typer.Typer, _settings: Callable[..., Any], _CONTEXT: dict) -> None:  # noqa: N803 - names as in rag.cli
    """Add the bench, db and migrate commands to ``app`` (``_settings`` builds the Settings like rag.cli does)."""
    # --------------------------------------------------------------------------- bench (issue #13)
    @app.command()
    def bench(
        scale: list[int] = typer.Option([1, 10, 100], "--scale", help="Corpus multiples to run (repeat the option)."),
        store: str = typer.Option("local", "--store", help="local, or postgres: also publish each scale to a PostgreSQL "
                                  "the benchmark starts under --workdir and query it there."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON list."),
        plot: bool = typer.Option(False, "--plot", help="Also write docs/benchmark.png (needs the bench extra)."),
        embedding: str = typer.Option("static", "--embedding", help="Embedding model of our index (static or none)."),
        queries: int = typer.Option(200, "--queries", help="Queries per scale (gold answerable first)."),
        serve: bool = typer.Option(True, "--serve/--no-serve", help="Measure `rag serve` time to first answer."),
        incremental: bool = typer.Option(False, "--incremental", help="Also time a build after one changed and one added file."),
        workdir: Path = typer.Option(Path("bench/work"), "--workdir", help="Where scaled corpora and indexes go."),
    ):
        """Scale benchmark: ours against LangChain's EnsembleRetriever(BM25 + FAISS) on the same chunks."""
        if store not in ("local", "postgres"):
            raise InputError(f"--store {store!r} is not valid; choose local or postgres")
        if any(s < 1 for s in scale):
            raise InputError("--scale must be at least 1")
        try:
            import langchain_community  # noqa: F401
            import rank_bm25  # noqa: F401
        except ImportError:
            raise InputError("the benchmark needs the bench extra: pip install -e '.[bench]'") from None
        from .bench.run import run, table

        try:
            rows = run(sorted(scale), workdir, embedding, queries, serve, incremental,
                       log=lambda m: typer.echo(m, err=True), store=store)
        finally:
            if store == "postgres":  # the benchmark's own server (rag/bench/pg.py), not RAG_DATABASE_URL
                from .bench.pg import stop_server

                stop_server(workdir)
        if plot:
            from .bench.plot import plot as draw

            typer.echo(f"wrote {draw(rows, Path('docs/benchmark.png'))}", err=True)
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1) if as_json else table(rows))


    # --------------------------------------------------------------------------- db, migrate (issue #14)
    db_app = typer.Typer(help="A local PostgreSQL with pgvector for the postgres store (start | stop | status).",
                         no_args_is_help=True, context_settings=_CONTEXT)
    app.add_typer(db_app, name="db")
    _PGDATA_HELP = "Data directory of the local server (default: <data_dir>/pg)."


    def _pgdata(path: Path | None) -> Path:
        return path if path is not None else _settings().data_dir / "pg"


    @db_app.command("start")
    def db_start(pgdata: Path | None = typer.Option(None, "--dir", help=_PGDATA_HELP)):
        """Start the local PostgreSQL (pgvector included) and print its URL for RAG_DATABASE_URL."""
        from .db import start

        url = start(_pgdata(pgdata))
        typer.echo(url)
        typer.echo(f"use it with: export RAG_STORE=postgres RAG_DATABASE_URL='{url}'; then `rag migrate --to postgres`", err=True)


    @db_app.command("stop")
    def db_stop(pgdata: Path | None = typer.Option(None, "--dir", help=_PGDATA_HELP)):
        """Stop the local PostgreSQL."""
        from .db import stop

        d = _pgdata(pgdata)
        typer.echo(f"stopped PostgreSQL in {d}" if stop(d) else f"PostgreSQL in {d} was not running")


    @db_app.command("status")
    def db_status(pgdata: Path | None = typer.Option(None, "--dir", help=_PGDATA_HELP)):
        """Say whether the local PostgreSQL runs (exit 1 when not) and print its URL."""
        from .db import status as server_status

        st = server_status(_pgdata(pgdata))
        if not st.running:
            typer.echo(f"not running ({st.pgdata}); `rag db start` starts it")
            raise typer.Exit(1)
        typer.echo(f"running (pid {st.pid}, {st.pgdata}): {st.url}")


    @app.command()
    def migrate(
        to: str = typer.Option(..., "--to", help="postgres: publish the local index to RAG_DATABASE_URL; local: write the database's index to index_dir."),
    ):
        """Copy the index between the local files and PostgreSQL, ids unchanged (one transaction on the database side)."""

        from .errors import ConfigError

        if to not in ("postgres", "local"):
            raise InputError(f"--to {to!r} is not valid; choose postgres or local")
        settings = _settings()
        if not settings.database_url:
            raise ConfigError("RAG_DATABASE_URL is not set; `rag db start` starts a local server and prints one")
        from .db import redact

        t0 = time.perf_counter()
        if to == "local":
            from .index.postgres import export_local

            build_id = export_local(settings.database_url, settings.index_dir)
            typer.echo(f"wrote {settings.index_dir} from build {build_id} of {redact(settings.database_url)} in {time.perf_counter() - t0:.1f}s")
            return
        from .index import read_manifest
        from .index.postgres import publish
        from .pipeline import build_index, index_status
        from .retrieval.pg import PgSearchRows

        local = settings.with_(store="local")  # what is published is the local index, whatever RAG_STORE says
        state, reason = index_status(local)
        if state != "fresh":
            typer.echo(f"local index {state} ({reason}); building {settings.index_dir} first", err=True)
            build_index(local)
        build_id = publish(settings.database_url, settings.index_dir, PgSearchRows())
        counts = (read_manifest(settings.index_dir) or None)
        n = counts.counts if counts else {}
        typer.echo(f"published {settings.index_dir} to {redact(settings.database_url)} as build {build_id} "
                   f"({n.get('documents', 0)} documents, {n.get('chunks', 0)} chunks) in {time.perf_counter() - t0:.1f}s")
