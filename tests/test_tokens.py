"""rag.tokens: exact counts with the cached encoding; one warning and an estimate without it."""

from __future__ import annotations

import os
import subprocess
import sys

from rag.tokens import count_tokens, estimate_tokens

TEXT = "试点县能得到哪些支持？ The pilot counties get 52 items of support."


def test_estimate_is_documented_formula():
    # 10 CJK characters + "？" = 11; 8 other words x 1.3 = 10.4, rounded up to 11
    assert estimate_tokens(TEXT) == 11 + 11
    assert estimate_tokens("") == 0 and count_tokens("") == 0


def test_count_with_cached_tiktoken_is_close_to_estimate():
    n = count_tokens(TEXT)
    assert 15 <= n <= 40


def test_fallback_without_cache_warns_once_and_counts(tmp_path):
    code = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from rag.tokens import count_tokens, estimate_tokens, using_tiktoken\n"
        f"t = {TEXT!r}\n"
        "a = count_tokens(t); b = count_tokens(t + t)\n"
        "print(a, b, estimate_tokens(t), estimate_tokens(t + t), using_tiktoken())\n"
    )
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(tmp_path), HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    a, b, est, est2, exact = out.stdout.split()
    assert (a, b, exact) == (est, est2, "False") and int(a) == 22
    assert out.stderr.count("WARNING") == 1 and "estimate" in out.stderr
