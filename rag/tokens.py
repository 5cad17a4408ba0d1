"""Token counting shared by chunking (ingestion) and the LLM context budget.

``count_tokens`` uses tiktoken's ``cl100k_base`` encoding. tiktoken downloads the
encoding on first use unless it is cached (``TIKTOKEN_CACHE_DIR``); with no cache
and no network it cannot load, and we fall back to an estimate instead of failing:

    tokens ≈ (CJK characters × 1) + (other words × 1.3), rounded up

CJK characters are roughly one token each in cl100k_base; an English word or a
number is 1–2 tokens. The estimate errs slightly high, which is the safe side for
a budget. The fallback logs ONE warning per process.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading

log = logging.getLogger(__name__)

ENCODING = "cl100k_base"
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_WORD = re.compile(r"[^\s\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _encoding():
    """The tiktoken encoding, or None when it cannot be loaded (warned once)."""
    with _lock:
        try:
            import tiktoken

            return tiktoken.get_encoding(ENCODING)
        except Exception as e:  # noqa: BLE001 - no cache and no network, corrupt cache, missing package ...
            log.warning(
                "tiktoken %s is unavailable (%s: %s); counting tokens with an estimate "
                "(CJK chars x1 + other words x1.3). Set TIKTOKEN_CACHE_DIR to a cache that holds it.",
                ENCODING, type(e).__name__, str(e)[:120],
            )
            return None


def estimate_tokens(text: str) -> int:
    """The documented fallback: CJK characters ×1 + other words ×1.3, rounded up."""
    if not text:
        return 0
    return len(_CJK.findall(text)) + math.ceil(1.3 * len(_WORD.findall(text)))


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in ``text`` (an estimate when tiktoken cannot load)."""
    if not text:
        return 0
    enc = _encoding()
    if enc is None:
        return estimate_tokens(text)
    return len(enc.encode(text, disallowed_special=()))


def using_tiktoken() -> bool:
    """True when counts are exact tiktoken counts, False when they are estimates."""
    return _encoding() is not None


def counter_name() -> str:
    """Which token counter is in use ("tiktoken:cl100k_base" or "estimate"); chunking depends on it."""
    return f"tiktoken:{ENCODING}" if using_tiktoken() else "estimate"
