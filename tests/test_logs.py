"""Logging: one configuration (stderr; -v / -vv / RAG_LOG_LEVEL), `rag serve` logs with uvicorn's access lines."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from rag.errors import ConfigError
from rag.logs import QUIET_LIBRARIES, configure, level_for, progress_bar


@pytest.mark.parametrize(("verbose", "env", "default", "expected"), [
    (0, {}, logging.WARNING, logging.WARNING),
    (0, {}, logging.INFO, logging.INFO),
    (1, {}, logging.WARNING, logging.INFO),
    (2, {"RAG_LOG_LEVEL": "error"}, logging.WARNING, logging.DEBUG),  # the flag wins
    (0, {"RAG_LOG_LEVEL": "error"}, logging.INFO, logging.ERROR),
    (0, {"RAG_LOG_LEVEL": " debug "}, logging.WARNING, logging.DEBUG),
    (0, {"RAG_LOG_LEVEL": ""}, logging.WARNING, logging.WARNING),
])
def test_level_for(verbose, env, default, expected):
    assert level_for(verbose, env, default) == expected


def test_bad_log_level_names_the_valid_ones():
    with pytest.raises(ConfigError, match="RAG_LOG_LEVEL='loud' is not valid; choose one of DEBUG, INFO, WARNING"):
        level_for(0, {"RAG_LOG_LEVEL": "loud"})


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.captureWarnings(False)


def test_configure_writes_to_the_current_stderr(restore_logging, monkeypatch):
    configure(logging.INFO)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)  # as a progress bar redirecting stderr does
    logging.getLogger("rag.test").info("hello %s", "world")
    logging.getLogger("rag.test").debug("not shown")
    logging.getLogger("httpx").info("HTTP Request: POST ...")  # chatty library: warnings only
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/health", "1.1", 200)
    bm25s = logging.getLogger("bm25s")
    bm25s.setLevel(logging.DEBUG)  # as bm25s does to its own logger when imported
    bm25s.debug("Building index from tokens")
    bm25s.info("an info line of a chatty library")
    out = err.getvalue()
    assert "INFO    rag.test: hello world" in out and "not shown" not in out
    assert "HTTP Request" not in out and 'uvicorn.access: 127.0.0.1:5000 - "GET /api/health HTTP/1.1" 200' in out
    assert "bm25s" not in out
    configure(logging.DEBUG)
    logging.getLogger("httpx").debug("HTTP Request: POST ...")
    assert "HTTP Request" in err.getvalue()


def test_progress_bar_off_the_terminal_draws_nothing(capsys):
    with progress_bar(enabled=False) as progress:
        for i in range(1, 4):
            progress("chunking", i, 3)
    assert capsys.readouterr() == ("", "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_logs_to_stderr_with_access_lines(seed_index, tmp_path):
    """`rag serve` prints nothing to stdout; its start-up and each request are log lines on stderr."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_CORPUS_DIR=str(seed_index.corpus_dir), RAG_INDEX_DIR=str(seed_index.index_dir),
               RAG_DATA_DIR=str(tmp_path / "data"))
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as o, err.open("w") as e:
        proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                stdout=o, stderr=e)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("rag serve not ready: " + err.read_text()[-2000:])
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    logged = err.read_text()
    assert out.read_text() == ""
    assert "INFO    rag.serve.app: loaded index: 5 documents" in logged
    assert f"INFO    rag.serve.app: 政策问答助手: http://127.0.0.1:{port}/" in logged
    assert '"GET /api/health HTTP/1.1" 200' in logged and "uvicorn.access" in logged
