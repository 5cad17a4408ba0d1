"""Command line: parse, call the pipeline, print. Domain errors become one line and an exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .errors import InputError, RagError
from .text import heading_label

_CONTEXT = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings=_CONTEXT,
                  pretty_exceptions_enable=False, help="政策问答助手 — cited answers over policy documents.")
eval_app = typer.Typer(help="Evaluate against gold Q&A pairs and gate on regressions.", invoke_without_command=True,
                       context_settings=_CONTEXT)
app.add_typer(eval_app, name="eval")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"rag (fujian-policy-rag) {version('fujian-policy-rag')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                help="Log more to stderr: -v info, -vv debug (default: RAG_LOG_LEVEL, else warnings; info for serve)."),
):
    """政策问答助手 — cited answers over policy documents."""
    import logging

    from .logs import configure, level_for

    configure(level_for(verbose, default=logging.INFO if ctx.invoked_subcommand == "serve" else logging.WARNING))


def _settings(**overrides):
    from .settings import Settings

    return Settings.load(overrides=overrides)


def _pipeline(**overrides):
    from .pipeline import Pipeline

    return Pipeline(_settings(**overrides))


def _err(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)


def _read_jsonl(path: Path) -> list[dict]:
    from .jsonl import iter_jsonl

    items = []
    for n, obj in iter_jsonl(path):
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            raise InputError(f"{path}:{n}: each line must be an object with a string \"question\"")
        obj.setdefault("id", str(n))
        items.append(obj)
    return items


def _batch(path: Path, answer_one) -> None:
    """One JSON line out per question line in; a bad question gets its error, the rest go on."""
    for item in _read_jsonl(path):
        try:
            line = answer_one(item["question"])
        except InputError as e:
            line = {"question": item["question"], "error": str(e)}
        typer.echo(json.dumps({**line, "id": item["id"]}, ensure_ascii=False))


def _batch_or_json(batch: Path | None, question: str | None, as_json: bool, one) -> bool:
    """Handle ``--batch FILE`` and ``--json`` for a query command; False when the caller prints the result itself."""
    if batch is not None:
        _batch(batch, one)
        return True
    if question is None:
        raise InputError("give a question, or --batch FILE")
    if as_json:
        typer.echo(json.dumps(one(question), ensure_ascii=False, indent=1))
        return True
    return False


# --------------------------------------------------------------------------- build
def _printable(name: str) -> str:
    """A file name on one line: control characters (a newline in a name) shown as escapes (\\n)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in name)


@app.command()
def build(
    force: bool = typer.Option(False, "--force", help="Rebuild even when nothing changed."),
    strict: bool = typer.Option(False, "--strict", help="Exit 4 when a corpus file was skipped (for scripts)."),
):
    """Build index/ from corpus/ (skipped when corpus and settings are unchanged).

    A file that cannot be read is skipped and named, the others are indexed, and the exit code is 0
    (4 with --strict). For files without a catalog entry, the metadata read from their text is shown.
    """
    from rich.console import Console
    from rich.markup import escape

    from .index.pg_build import PublishReport
    from .ingest import inferred_line
    from .logs import progress_bar
    from .pipeline import build_index

    settings = _settings()
    console = Console(stderr=True, soft_wrap=True)  # one line per file, however long
    with progress_bar() as progress:  # a bar per stage when stderr is a terminal
        report = build_index(settings, force=force, progress=progress)
    for s in report.skipped:
        console.print(f"[yellow]skipped[/] {escape(_printable(s['file']))}: {escape(s['reason'])}")
    for rec in report.inferred:
        console.print(f"[cyan]metadata from text[/] {escape(inferred_line(rec))}")
    if report.status == "fresh":
        console.print(f"index is up to date ({escape(report.reason)}); {report.documents} documents, {report.chunks} chunks")
    elif isinstance(report, PublishReport) and report.build_id is not None:  # store = "postgres": built, published
        console.print(f"built {settings.index_dir} in {report.local_seconds:.1f}s and published it to {report.database} "
                      f"as build {report.build_id} in {report.publish_seconds:.1f}s: {report.documents} documents, "
                      f"{report.chunks} chunks")
    else:
        console.print(f"built {settings.index_dir}: {report.documents} documents, {report.chunks} chunks in {report.seconds:.1f}s")
    if report.skipped:
        console.print(f"{len(report.skipped)} file(s) skipped; the index holds the others"
                      + ("" if strict else " (`rag build --strict` exits 4 on skipped files)"))
        if strict:
            raise typer.Exit(4)


@app.command()
def status():
    """Show whether the index is missing, stale or fresh."""
    from .pipeline import index_status

    state, reason = index_status(_settings())
    typer.echo(f"{state}: {reason}")
    raise typer.Exit(0 if state == "fresh" else 1)


@app.command()
def check():
    """Verify every index file against the checksums in its manifest (exit 3 when one is damaged)."""
    from .errors import IndexDamagedError

    p = _pipeline()
    bad, seconds = p.check()
    if bad:
        raise IndexDamagedError(f"damaged index file {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
                                + "; run `rag build --force`")
    if p.index.kind == "postgres":  # the database's active build: which one, its counts, fresh or stale here
        state, reason = p.status()
        typer.echo(f"index ok: {len(p.index.manifest.files)} files and the row counts verified in {seconds:.2f}s")
        typer.echo(f"{state}: {reason}")
        return
    typer.echo(f"index ok: {len(p.index.manifest.files)} files verified in {seconds:.2f}s")


# --------------------------------------------------------------------------- chunks
@app.command()
def chunks(
    doc: str | None = typer.Option(None, "--doc", help="Only this document (id, file name or alias)."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or table."),
):
    """Print the chunks of the built index."""
    if fmt not in ("jsonl", "table"):
        raise InputError(f"--format {fmt!r} is not valid; choose jsonl or table")
    p = _pipeline()
    doc_id = p.resolve_doc(doc) if doc else None
    rows = [c for c in p.index.chunks if doc_id is None or c.doc_id == doc_id]
    if fmt == "jsonl":
        out = sys.stdout
        for c in rows:
            out.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("id", "kind", "heading_path", "text", show_lines=False)
    for c in rows:
        t.add_row(c.id, c.kind, heading_label(c.heading_path)[-40:], c.text[:60])
    Console().print(t)


# --------------------------------------------------------------------------- search
@app.command()
def search(
    query: str | None = typer.Argument(None, help="The question."),
    k: int | None = typer.Option(None, "-k", help="How many results (default: RAG_TOP_K)."),
    doc: list[str] = typer.Option([], "--doc", help="Restrict to these documents."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    batch: Path | None = typer.Option(None, "--batch", help='JSONL file of {"id","question"}; one JSON line out per question.'),
):
    """Retrieve the best matching paragraphs."""
    p = _pipeline()
    filters = p.make_filters(doc)

    def one(q: str) -> dict:
        return {"question": q, "results": [r.to_result() for r in p.search(q, top_k=k, filters=filters)]}

    if _batch_or_json(batch, query, as_json, one):
        return
    results = p.search(query, top_k=k, filters=filters)
    if not results:
        typer.echo("没有找到相关段落 / no matching paragraphs")
        return
    for i, r in enumerate(results, 1):
        c = r.chunk
        ranks = " ".join(f"{k}={v}" for k, v in r.ranks.items() if v is not None)
        typer.echo(f"{i:>2}. [{c.id}] {r.score:.4f} ({ranks})  {heading_label((c.title, *c.heading_path))}")
        typer.echo(f"    {c.text[:160]}")


# --------------------------------------------------------------------------- ask
@app.command()
def ask(
    question: str | None = typer.Argument(None, help="The question."),
    mode: str | None = typer.Option(None, "--mode", help="extractive or llm (default: RAG_ANSWER_MODE)."),
    doc: list[str] = typer.Option([], "--doc", help="Restrict to these documents."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    batch: Path | None = typer.Option(None, "--batch", help='JSONL file of {"id","question"}; one JSON line out per question.'),
):
    """Answer a question with numbered, verified citations."""
    p = _pipeline()
    filters = p.make_filters(doc)
    if _batch_or_json(batch, question, as_json, lambda q: p.ask(q, mode=mode, filters=filters).to_dict()):
        return
    from .export.text import answer_to_text

    typer.echo(answer_to_text(p.ask(question, mode=mode, filters=filters)))


# --------------------------------------------------------------------------- eval
@eval_app.callback()
def eval_main(
    ctx: typer.Context,
    gold: Path = typer.Option(Path("eval/gold.jsonl"), "--gold", help="Gold JSONL file."),
    mode: str | None = typer.Option(None, "--mode", help="extractive or llm."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Baseline JSON (default eval/baseline.json if present)."),
    report: Path | None = typer.Option(None, "--report", help="Directory for results.jsonl and report.html."),
    update_baseline: bool = typer.Option(False, "--update-baseline", help="Rewrite the baseline from this run."),
    frozen: Path | None = typer.Option(None, "--frozen", help="Frozen test split (default eval/frozen.jsonl if present)."),
    paraphrases: Path | None = typer.Option(None, "--paraphrases", help="Paraphrases of dev items (default eval/paraphrases.jsonl if present)."),
    dev_only: bool = typer.Option(False, "--dev-only", help="Run the dev split (--gold) only: no frozen split, no paraphrases."),
    enforce_targets: bool = typer.Option(False, "--enforce-targets", help="Fail when a frozen-split target (issue #15) is not met."),
):
    """Run the dev, frozen and paraphrase splits; exit non-zero on a regression against the baseline or a floor."""
    if ctx.invoked_subcommand is not None:
        return
    from .eval.gold import DEFAULT_FROZEN, DEFAULT_PARAPHRASES
    from .eval.run import run_eval_cli

    if not dev_only:
        frozen = frozen or (DEFAULT_FROZEN if DEFAULT_FROZEN.is_file() else None)
        paraphrases = paraphrases or (DEFAULT_PARAPHRASES if DEFAULT_PARAPHRASES.is_file() else None)
    code = run_eval_cli(_pipeline(), gold=gold, mode=mode, baseline=baseline, report_dir=report, update_baseline=update_baseline,
                        frozen=None if dev_only else frozen, paraphrases=None if dev_only else paraphrases,
                        enforce_targets=enforce_targets)
    raise typer.Exit(code)


@eval_app.command("promote-feedback")
def promote_feedback(
    out: Path = typer.Option(Path("eval/gold.draft.jsonl"), "--out", help="Where to write draft gold items."),
):
    """Turn thumbs-up/down feedback into draft gold items for review."""
    from .eval.feedback import promote_feedback as promote

    n = promote(_settings(), out)
    typer.echo(f"wrote {n} draft gold items to {out}")


# --------------------------------------------------------------------------- serve
@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(7860, "--port"),
    auth: str | None = typer.Option(None, "--auth", help="user:password for a login page."),
):
    """Start the chat UI and the HTTP API (builds the index first if missing or stale)."""
    from .serve.app import serve as run_server

    creds = None
    if auth is not None:
        if ":" not in auth or not auth.split(":", 1)[0] or not auth.split(":", 1)[1]:
            raise InputError("--auth must look like user:password")
        user, password = auth.split(":", 1)
        creds = (user, password)
    run_server(_settings(), host=host, port=port, auth=creds)


# --------------------------------------------------------------------------- bench, db, migrate
from .cli_admin import register as _register_admin  # noqa: E402 - after app and _settings exist

_register_admin(app, _settings, _CONTEXT)


def _is_text(arg: str) -> bool:
    try:
        arg.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def main() -> None:
    """Entry point of the `rag` command: domain errors become one line and an exit code."""
    bad = next((a for a in sys.argv[1:] if not _is_text(a)), None)
    if bad is not None:  # bytes that are not UTF-8 reach Python as lone surrogates; nothing can print them
        _err(f"argument {ascii(bad)} is not valid UTF-8 text; set the terminal to UTF-8 and type it again "
             "/ 参数含有无法识别的字符（不是 UTF-8），请把终端设为 UTF-8 后重新输入")
        sys.exit(2)
    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except RagError as e:
        _err(str(e))
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        _err("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        show = getattr(e, "show", None)
        if isinstance(e, typer.exceptions.TyperException) and callable(show):  # usage errors: click's text, exit 2
            show()
            sys.exit(getattr(e, "exit_code", 2))
        import os

        if os.environ.get("RAG_DEBUG"):
            raise
        _err(f"internal error: {type(e).__name__}: {e} (set RAG_DEBUG=1 to see the traceback)")
        sys.exit(70)


if __name__ == "__main__":
    main()
