"""One logging configuration for the ``rag`` command, and the build progress bar.

Logs go to stderr in one format. The level: ``-vv`` (``--verbose`` twice) DEBUG, ``-v`` INFO, else
``RAG_LOG_LEVEL`` (DEBUG, INFO, WARNING, ERROR or CRITICAL) when set, else the command's default
(INFO for ``rag serve``, so its start-up lines and uvicorn's access log show; WARNING otherwise).
Chatty libraries (httpx, jieba, bm25s, ...) stay at WARNING unless the level is DEBUG; uvicorn's
loggers (``uvicorn.error``, ``uvicorn.access``) follow the level, so access lines appear at INFO.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

from .errors import ConfigError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# their INFO lines (one per HTTP request to the LLM, per index build step ...) are noise for an operator
QUIET_LIBRARIES = ("httpx", "httpcore", "urllib3", "jieba", "bm25s", "gradio", "matplotlib", "asyncio",
                   "multipart", "python_multipart", "PIL", "faiss", "sentence_transformers", "filelock")

Progress = Callable[[str, int, int], None]


def level_for(verbose: int = 0, env: Mapping[str, str] | None = None, default: int = logging.WARNING) -> int:
    """The level for ``verbose`` -v flags, else ``RAG_LOG_LEVEL`` in ``env``, else ``default``."""
    if verbose >= 2:
        return logging.DEBUG
    if verbose == 1:
        return logging.INFO
    name = (os.environ if env is None else env).get("RAG_LOG_LEVEL", "").strip()
    if not name:
        return default
    if name.upper() not in LEVELS:
        raise ConfigError(f"environment variable RAG_LOG_LEVEL={name!r} is not valid; choose one of {', '.join(LEVELS)}")
    return getattr(logging, name.upper())


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (so a progress bar that redirects it keeps its place)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _QuietLibraries(logging.Filter):
    """Drops records of QUIET_LIBRARIES (and their children) below ``floor``."""

    def __init__(self, floor: int) -> None:
        super().__init__()
        self.floor = floor

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.floor or record.name.split(".", 1)[0] not in QUIET_LIBRARIES


def configure(level: int) -> None:
    """Route every logger to stderr at ``level`` (replacing earlier handlers of the root logger).

    The handler itself has ``level`` too: a library that sets its own logger to DEBUG at import
    (bm25s does) still shows nothing below ``level``.
    """
    floor = logging.NOTSET if level <= logging.DEBUG else max(level, logging.WARNING)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
    handler.setLevel(level)
    handler.addFilter(_QuietLibraries(floor))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(floor)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        lg = logging.getLogger(name)  # inherit ``level`` and our handler (access lines at INFO), whatever set them before
        lg.handlers.clear()
        lg.propagate = True
        lg.setLevel(logging.NOTSET)
    logging.captureWarnings(True)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress_bar(enabled: bool | None = None) -> Iterator[Progress]:
    """A ``progress(stage, done, total)`` callback drawing one rich bar per stage on stderr.

    Drawn only when ``enabled`` (default: stderr is a terminal); otherwise the callback logs each
    stage's start and end at DEBUG and draws nothing, so logs and pipes get no control characters.
    """
    if enabled is None:
        enabled = stderr_is_terminal()
    if not enabled:
        log = logging.getLogger("rag.progress")
        started: set[str] = set()
        finished: set[str] = set()

        def quiet(stage: str, done: int, total: int) -> None:
            if stage not in started:
                started.add(stage)
                log.debug("%s: started (%d items)", stage, total)
            if done >= total and stage not in finished:
                finished.add(stage)
                log.debug("%s: %d/%d done", stage, done, total)

        yield quiet
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
             TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def draw(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield draw
