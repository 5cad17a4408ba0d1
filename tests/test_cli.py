"""The `rag` command as a user meets it: help, version, usage errors and limits (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def rag(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [("-h",), ("--help",), ("eval", "-h"), ("search", "-h")])
def test_help_exits_0_with_usage(args):
    r = rag(*args)
    assert r.returncode == 0 and "Usage: " in r.stdout


def test_version():
    r = rag("--version")
    assert r.returncode == 0 and r.stdout.startswith("rag (fujian-policy-rag) ")


@pytest.mark.parametrize("args, message", [
    (("frob",), "No such command 'frob'"),
    (("search", "x", "-k", "abc"), "Invalid value for '-k'"),
])
def test_usage_errors_exit_2_with_clicks_message(args, message):
    r = rag(*args)
    assert r.returncode == 2 and message in r.stderr and "internal error" not in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("k", ["0", "201"])
def test_k_outside_1_to_200_is_refused(seed_index, k):
    env = {**os.environ, "RAG_INDEX_DIR": str(seed_index.index_dir), "RAG_CORPUS_DIR": str(seed_index.corpus_dir)}
    r = subprocess.run([sys.executable, "-m", "rag", "search", "试点县", "-k", k], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 2 and "1 to 200" in r.stderr


def test_a_skipped_file_name_with_a_newline_stays_on_one_line():
    from rag.cli import _printable

    assert _printable("bad\nname\t.pdf") == "bad\\nname\\t.pdf"
    assert _printable("政策 文件.docx") == "政策 文件.docx"
