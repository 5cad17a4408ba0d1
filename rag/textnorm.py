"""Text normalisation shared by search, verification and evaluation.

Original characters are kept for quoting; these functions only produce keys for
matching. ``match_key`` implements the gold-set matching rule: Unicode NFKC,
traditional -> simplified, then drop everything that is not a letter, digit or
CJK character.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@functools.lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, no downloads

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (characters and common phrases)."""
    if not text:
        return text
    return _t2s().convert(text)


def search_form(text: str) -> str:
    """Form used for indexing and querying: NFKC (full -> half width), simplified, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def match_key(text: str) -> str:
    """Matching key: NFKC, simplified, letters/digits/CJK only (lower-cased)."""
    return _NON_WORD.sub("", search_form(text))


def contains(haystack: str, needle: str) -> bool:
    """True when the normalised needle is a substring of the normalised haystack."""
    n = match_key(needle)
    return bool(n) and n in match_key(haystack)
