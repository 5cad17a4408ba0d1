"""How an extractive answer sentence is shown when the quoted text would read badly.

The quote (in the citation, and what verification checks) is always the source as written; only
the answer line changes:

- a table row reads as a phrase with its column headers (``类型：一类县域，县（区、市）：南安市，…``),
  never as pipe-joined cells; the headers come from the row's table context (``列：…``); a header's
  unit follows a bare number (``数量(个)`` and ``46`` read ``数量：46个``);
- a sentence from a traditional-character source is shown in simplified characters with
  full-width punctuation (``超千亿元16個,`` → ``超千亿元16个，``).
"""

from __future__ import annotations

import re

from ..text import to_simplified
from ..types import Chunk

_HEADER = re.compile(r"列：([^；]+)")
_HALF_TO_FULL = str.maketrans({",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"})
_THOUSANDS_COMMA = re.compile(r"(?<=[0-9])，(?=[0-9]{3}(?![0-9]))")  # 1,000 stays a number


_UNIT_HEADER = re.compile(r"^(.*?)\s*[(（]\s*([^()（）]{1,4})\s*[)）]$")  # 数量(个), 占比(%), 规模（万亿元）
_NUMBER = re.compile(r"^[0-9０-９]+(?:[.．][0-9０-９]+)?$")


def _cell(header: str, cell: str) -> str:
    """``header：cell``; a header's unit follows a bare number (``数量(个)`` + ``46`` → ``数量：46个``)."""
    m = _UNIT_HEADER.match(header)
    if m and m.group(1) and _NUMBER.match(cell):
        return f"{m.group(1)}：{cell}{m.group(2)}"
    return f"{header}：{cell}"


def table_phrase(row: str, context: str) -> str:
    """``H1：c1，H2：c2…`` for a pipe-separated row whose context names as many columns; cells joined
    by "，" when the headers do not line up; the row unchanged when it is not pipe-separated."""
    if "|" not in row:
        return row
    cells = [c.strip() for c in row.split("|")]
    m = _HEADER.search(context)
    headers = [h.strip() for h in m.group(1).split("|")] if m and "|" in m.group(1) else []
    if len(headers) == len(cells):
        parts = [_cell(h, c) for h, c in zip(headers, cells) if c and h not in ("序号", "编号")]
    else:
        parts = [c for c in cells if c]
    return "，".join(parts).rstrip("。；;，, ") + "。"


def simplified_display(text: str) -> str:
    """Simplified characters and full-width punctuation, for a traditional-character sentence."""
    out = to_simplified(text).translate(_HALF_TO_FULL)
    return _THOUSANDS_COMMA.sub(",", out)


def display_text(text: str, chunk: Chunk) -> str:
    """The answer line for ``text`` (a sentence of ``chunk``), or "" when it reads well as it is."""
    shown = table_phrase(text, chunk.context) if chunk.kind == "table_row" else text
    if to_simplified(shown) != shown:
        shown = simplified_display(shown)
    return "" if shown == text else shown
