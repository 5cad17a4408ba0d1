"""Text repairs for damaged documents. Original characters are kept; only damage is removed.

- :func:`strip_pinyin` removes ruby-style pinyin annotations such as ``點(diǎn)``.
- :func:`repair_mojibake` finds runs of GBK bytes decoded one byte out of step
  (``?!备=ㄊ」ば艔d`` for ``。”福建省工信廳``), decodes what can be recovered and replaces
  what cannot with an omission mark, so mojibake is never shown as text.
- :func:`rewrap` rejoins text hard-wrapped by PDF extraction into paragraphs.
- :func:`drop_page_furniture` removes page numbers such as ``— 11 —``.
- :func:`fix_spacing` removes stray spaces between CJK characters and digits (``2020 年``).
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections import Counter

from ..text import to_simplified

OMISSION = "…"

_TONE = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_PINYIN_BODY = rf"(?:[a-z{_TONE}]*[{_TONE}][a-z{_TONE}]*|[a-z]{{1,6}})"
# An annotation right after a CJK character (or a mojibake "?"): 點(diǎn), 產(chǎn).
_PINYIN = re.compile(rf"(?<=[\u3400-\u9fff?])\({_PINYIN_BODY}\)")
# Inside a mojibake run the opening parenthesis is often eaten: "?yàn)".
_PINYIN_FRAGMENT = re.compile(rf"\(?{_PINYIN_BODY}\)")
_CJK_PUNCT = set("。，、；：？！“”‘’（）《》—…·")
_HTML_TAIL = re.compile(r"</?[a-z]{1,6}>")
_WINDOW = 4


@functools.lru_cache(maxsize=1)
def _char_freq() -> Counter:
    """Character frequencies from jieba's bundled dictionary (no download)."""
    import jieba

    freq: Counter = Counter()
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as f:
        for line in f:
            word, n, *_ = line.split(" ")
            for ch in word:
                freq[ch] += int(n)
    return freq


@functools.lru_cache(maxsize=1)
def _s2t():
    """Simplified -> traditional, to spot simplified-only characters in a traditional text."""
    from opencc import OpenCC

    return OpenCC("s2t")


@functools.lru_cache(maxsize=65536)
def is_common_char(ch: str) -> bool:
    """A CJK character common enough in Chinese text (via jieba's dictionary), or CJK punctuation."""
    if ch in _CJK_PUNCT:
        return True
    return _char_freq()[to_simplified(ch)] >= 2000


def pinyin_annotation_count(text: str) -> int:
    """How many pinyin annotations (點(diǎn)) ``text`` holds."""
    return len(_PINYIN.findall(text))


def strip_pinyin(text: str, min_count: int = 5) -> str:
    """Remove pinyin annotations when the document carries them (at least ``min_count``)."""
    if pinyin_annotation_count(text) < min_count:
        return text
    return _PINYIN.sub("", text)


def _suspicious(ch: str, traditional: bool) -> bool:
    o = ord(ch)
    if ch.isspace():
        return False
    if 0x3040 <= o <= 0x30FF or 0x3100 <= o <= 0x312F:  # kana, bopomofo
        return True
    if 0xE000 <= o <= 0xF8FF or ch == "\ufffd":  # private use, replacement char
        return True
    if 0x2460 <= o <= 0x24FF or 0x2500 <= o <= 0x257F:  # enclosed numerals, box drawing
        return True
    if 0x2190 <= o <= 0x23FF or 0x3016 <= o <= 0x301F:  # arrows, math operators, rare brackets
        return True
    if ch in "「」『』":
        return True
    if o < 0x80:
        return ch.isalpha() or ch in "!=<>?/()[]{}|\\^~`@#$&*+;:'\""
    if 0x3400 <= o <= 0x9FFF:
        if not is_common_char(ch):
            return True
        if traditional:
            if _s2t().convert(ch) != ch:  # simplified-only character inside a traditional text
                return True
    return False


def _decode_shifted(segment: str) -> str | None:
    """Decode a run of GBK bytes read one byte out of step; None when it is not that."""
    seg = _PINYIN_FRAGMENT.sub("", segment)
    seg = _HTML_TAIL.sub("", seg)
    if not seg:
        return None
    # NFKC folded full-width forms (！＝) to ASCII; GBK stores them as A3xx pairs.
    raw = "".join(chr(ord(c) + 0xFEE0) if c in "!=<>" else c for c in seg)
    try:
        data = raw.encode("gbk")
    except UnicodeEncodeError:
        return None
    # The first original byte was lost (shown as "?"); the next byte is the second half of
    # that lost character, so decoding starts one byte in.
    try:
        out = data[1:].decode("gbk")
    except UnicodeDecodeError:
        return None
    if not out or not all(is_common_char(c) for c in out):
        return None
    return out


_SCAN = re.compile("[?\ue000-\uf8ff]")  # where repair_mojibake has something to look at: "?" or private use


def repair_mojibake(text: str, traditional: bool = False) -> tuple[str, dict[str, int]]:
    """Repair or drop mojibake runs; returns (text, {"repaired": n, "dropped": m})."""
    stats = {"repaired": 0, "dropped": 0}
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        # Text between two "?" / private-use characters is copied as is (nothing else starts a repair).
        m = _SCAN.search(text, i)
        if m is None:
            out.append(text[i:])
            break
        if m.start() > i:
            out.append(text[i:m.start()])
            i = m.start()
        ch = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if ch == "?" and nxt and not nxt.isspace() and (_suspicious(nxt, traditional) or nxt == "?"):
            # A run ends once WINDOW characters in a row look normal: mojibake often
            # contains a few common characters between the tell-tale ones.
            j = i + 1
            last = i
            while j < n and j - last <= _WINDOW and text[j] not in "\n":
                m = _PINYIN_FRAGMENT.match(text, j) or _HTML_TAIL.match(text, j)
                if m:
                    j = last = m.end() - 1
                    j += 1
                    continue
                if text[j] == "?" or _suspicious(text[j], traditional):
                    last = j
                j += 1
            j = last + 1
            run = text[i + 1 : j]
            fixed = None if "?" in run else _decode_shifted(run)
            if fixed is not None:
                out.append(fixed)
                stats["repaired"] += 1
            else:
                if not out or not out[-1].endswith(OMISSION):
                    out.append(OMISSION)
                stats["dropped"] += 1
            i = j
            continue
        if 0xE000 <= ord(ch) <= 0xF8FF:
            i += 1  # a stray private-use character
            stats["dropped"] += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out), stats


def looks_traditional(text: str) -> bool:
    """True when converting to simplified changes a noticeable share of CJK characters."""
    sample = "".join(c for c in text[:5000] if "\u4e00" <= c <= "\u9fff")
    if len(sample) < 50:
        return False
    changed = sum(1 for a, b in zip(sample, to_simplified(sample)) if a != b)
    return changed / len(sample) > 0.08


_PAGE_NUMBER = re.compile(r"^\s*(?:[—–-]\s*\d{1,4}\s*[—–-]|第\s*\d{1,4}\s*页(?:\s*共\s*\d+\s*页)?|\d{1,4}\s*/\s*\d{1,4})\s*$")


def drop_page_furniture(lines: list[str]) -> list[str]:
    """Drop page-number lines (``— 11 —``, ``第 3 页``)."""
    return [ln for ln in lines if not _PAGE_NUMBER.match(ln)]


_SPACE_BETWEEN = re.compile(r"(?<=[\u3400-\u9fff\d%．.，。、；：）)])(?<![章节篇])[ \t\u3000]+(?=[\u3400-\u9fff\d（(])")


def fix_spacing(line: str) -> str:
    """Remove spaces that PDF extraction put between CJK characters and digits (2020 年 -> 2020年).

    Spaces between two Latin words are kept.
    """
    def drop(m: re.Match[str]) -> str:
        before, after = line[m.start() - 1], line[m.end()] if m.end() < len(line) else ""
        if before.isdigit() and after.isdigit():
            return m.group(0)
        if re.search(r"(?:表|专栏|附件|图)\s*\d+$", line[: m.start()]):
            return m.group(0)  # keep "表4 部分县域…" readable
        return ""

    return _SPACE_BETWEEN.sub(drop, line)


SENTENCE_END = "。！？；!?…”’）)"


def is_hard_wrapped(lines: list[str]) -> bool:
    """Heuristic: most non-empty lines have similar length and do not end a sentence."""
    body = [ln.strip() for ln in lines if len(ln.strip()) >= 8]
    if len(body) < 40:
        return False
    lengths = Counter(len(ln) for ln in body)
    top = sum(c for ln, c in lengths.items() if abs(ln - lengths.most_common(1)[0][0]) <= 3)
    open_ends = sum(1 for ln in body if ln[-1] not in SENTENCE_END)
    return top / len(body) > 0.4 and open_ends / len(body) > 0.5


def median(values: list[int]) -> float:
    """The median of ``values`` (0 for none)."""
    if not values:
        return 0.0
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def typical_line_length(lines: list[str]) -> int:
    """The typical length of the longer lines of ``lines`` (a hard-wrapped PDF has one)."""
    body = [len(ln.strip()) for ln in lines if len(ln.strip()) >= 8]
    if not body:
        return 0
    counts = Counter(body)
    return counts.most_common(1)[0][0] if counts else int(math.floor(median(body)))
