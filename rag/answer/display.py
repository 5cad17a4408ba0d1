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


_UNIT_TOKEN = re.compile(r"^(?:%|‰|[^\d\s]{0,3}(?:元|人|家|个|项|件|吨|台|条|米|亩|座|所|户|次|倍|千瓦时)(?:/[^\d\s]+)?)$")
_ATTRIBUTE = re.compile(r"\s*(预期性|约束性)$")


def indicator_phrase(row: str, label: str = "") -> str:
    """A plan's indicator row as PDF text gives it — ``序号 指标名称 单位 目标值 属性``
    (``12 规上工业全员劳动生产率 万元/人 40 预期性``) — as ``指标名称：{label}40万元/人（预期性）``,
    ``label`` being the value column's header (2025年目标); "" when the row is not laid out so."""
    m = _ATTRIBUTE.search(row)
    body, attribute = (row[: m.start()], m.group(1)) if m else (row, "")
    tokens = body.split()
    if len(tokens) < 4 or not tokens[0].isdigit():
        return ""
    at = next((i for i in range(len(tokens) - 2, 1, -1) if _UNIT_TOKEN.match(tokens[i])), None)
    if at is None:
        return ""
    name = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", " ".join(tokens[1:at]))
    unit, value = tokens[at], " ".join(tokens[at + 1:])
    value = re.sub(r"^([0-9][0-9.]*)\s*", lambda n: n.group(1) + unit, value, count=1) if value[:1].isdigit() else value
    return f"{name}：{label}{value}" + (f"（{attribute}）" if attribute else "") + "。"


def table_phrase(row: str, context: str) -> str:
    """``H1：c1，H2：c2…`` for a pipe-separated row whose context names as many columns; cells joined
    by "，" when the headers do not line up; a plan's indicator row (``序号 指标名称 单位 …`` in its
    headers) as ``指标名称：值单位（属性）``; else the row unchanged."""
    if "|" not in row:
        if "单位" not in context:
            return row
        m = re.search(r"单位\s*(.+?)\s*属性", context)
        label = re.sub(r"(?<=\d)\s+(?=年)", "", m.group(1)) if m else ""
        return indicator_phrase(row, label) or row
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
