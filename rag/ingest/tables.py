"""Tables as they arrive in the corpus, rebuilt row by row.

Three shapes: tab-separated rows (``parse_tab_table``), one cell per line in groups
(``parse_cell_table``), and PDF-flattened rows that start with a row number
(``parse_numbered_table``). Header rows repeated after page breaks are dropped, two-row headers
merged, and row-spanning cells filled down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .repair import fix_spacing


def _cells(line: str) -> list[str]:
    return [fix_spacing(c.strip()) for c in line.split("\t")]


def is_tab_row(line: str) -> bool:
    """A table row with tab-separated cells (a line that starts with a tab is one cell per line)."""
    if line.startswith("\t") and sum(1 for p in line.split("\t") if p.strip()) < 2:
        return False
    parts = line.split("\t")
    return len(parts) >= 2 and any(p.strip() for p in parts)


@dataclass
class Table:
    """A rebuilt table: caption, header cells and rows."""
    caption: str
    header: list[str]
    rows: list[list[str]]
    group_labels: list[str] = field(default_factory=list)  # per row: group label ("" if none)
    header_extra: str = ""

    def context_for(self, i: int) -> str:
        """Search-only context for a row: caption and column headers."""
        head = " | ".join(h for h in self.header if h)
        bits = [self.caption, f"列：{head}" if head else "", self.header_extra, self.group_labels[i]]
        return "；".join(b for b in bits if b)


def _merge_header(h1: list[str], h2: list[str]) -> list[str]:
    """Two header rows where the second refines merged cells of the first."""
    width = max(len(h1), len(h2))
    h1 = h1 + [""] * (width - len(h1))
    h2 = h2 + [""] * (width - len(h2))
    out, last = [], ""
    for a, b in zip(h1, h2):
        if a:
            last = a
        elif b:
            a = last  # a merged cell spans this column too
        out.append(f"{a} {b}".strip() if b else a)
    return out


def _fill_leading(row: list[str], prev: list[str] | None) -> list[str]:
    """Leading empty cells are row-spanned cells from above: fill them down."""
    if prev is None:
        return row
    out = list(row)
    for i, c in enumerate(out):
        if c:
            break
        if i < len(prev):
            out[i] = prev[i]
    return out


def parse_tab_table(lines: list[str], caption: str) -> Table:
    """Tab-separated rows (one row per line); header rows repeated after page breaks are dropped."""
    rows = [_cells(ln) for ln in lines if ln.strip()]
    header = rows[0]
    body = rows[1:]
    extra_header = None
    if body and not body[0][0] and not any(re.search(r"\d", c) and not re.search(r"[（(]%[）)]|\(%\)", c) for c in body[0][:3] if c):
        extra_header = body[0]
        body = body[1:]
    if extra_header:
        header = _merge_header(header, extra_header)
    table = Table(caption, header, [])
    group = ""
    prev = None
    nonempty_header = [c for c in header if c]
    if len(nonempty_header) == 1 and not re.fullmatch(r"\d+", nonempty_header[0]):
        group, header = nonempty_header[0], []
        table.header = header
    for r in body:
        if r == rows[0] or (extra_header and r == extra_header):
            continue  # header repeated after a page break
        filled = [c for c in r if c]
        if len(filled) == 1 and not re.fullmatch(r"[\d.]+", filled[0]) and len(r) <= 3:
            group = filled[0]  # a group label row such as 新增省级…名单
            continue
        r = _fill_leading(r, prev)
        while r and not r[-1]:
            r = r[:-1]
        table.rows.append(r)
        table.group_labels.append(group)
        prev = r
    return table


def parse_cell_table(groups: list[list[str]], caption: str) -> Table:
    """One cell per line, rows separated by blank lines; lines without a leading tab continue a cell."""
    rows: list[list[str]] = []
    for g in groups:
        cells: list[str] = []
        for ln in g:
            if ln.startswith("\t") or not cells:
                cells.append(ln.strip())
            else:
                cells[-1] += ln.strip()
        rows.append([fix_spacing(c) for c in cells])
    header_rows = []
    # header rows: before the first row that holds a digit or a long cell
    while rows and not any(re.search(r"\d", c) and len(c) < 6 or len(c) > 25 for c in rows[0]):
        header_rows.append(rows.pop(0))
        if len(header_rows) == 2:
            break
    header = header_rows[0] if header_rows else []
    extra = ""
    if len(header_rows) > 1:
        extra = "细分列：" + " | ".join(c for c in header_rows[1] if c)
    table = Table(caption, header, [], header_extra=extra)
    prev = None
    for r in rows:
        if not any(r):
            continue
        r = _fill_leading(r, prev)
        table.rows.append(r)
        table.group_labels.append("")
        prev = r
    return table


ROW_START = re.compile(r"^(\d{1,3})(?:\s|$)")
_SHORT_LABEL = re.compile(r"^[\u4e00-\u9fff]{1,2}$")


def _join_wrapped(pieces: list[str]) -> str:
    """Join lines of a wrapped table cell: no space between two CJK characters, one space otherwise."""
    out = ""
    for p in (re.sub(r"\s+", " ", x.strip()) for x in pieces):
        if not p:
            continue
        if out and not ("\u4e00" <= out[-1] <= "\u9fff" and "\u4e00" <= p[0] <= "\u9fff"):
            out += " "
        out += p
    return out


def parse_numbered_table(lines: list[str], caption: str) -> Table:
    """A table flattened by PDF extraction: a header line with 序号, then rows that start with
    their number (1, 2, 3 …) and may wrap over several lines; short labels just before a row
    (分类 such as 产业/结构) apply to the rows that follow."""
    header, rest = lines[0], lines[1:]
    first = next((i for i, ln in enumerate(rest) if (m := ROW_START.match(ln)) and m.group(1) == "1"), len(rest))
    pre, rest = rest[:first], rest[first:]
    # terminators: last token of rows that fit on one line (e.g. 预期性)
    terminators = {ln.split()[-1] for ln in rest if ROW_START.match(ln) and len(ln.split()) >= 3}
    labels_pre = [ln for ln in pre if _SHORT_LABEL.match(ln) and ln not in terminators][-2:]
    header_extra = _join_wrapped([ln for ln in pre if ln not in labels_pre])
    rows: list[list[str]] = []
    groups: list[str] = []
    group = "".join(labels_pre[-2:]) if labels_pre else ""
    expected = 1
    cur: list[str] | None = None
    pending: list[str] = []
    for ln in rest:
        m = ROW_START.match(ln)
        if m and int(m.group(1)) == expected:
            if pending:
                group = "".join(pending)
                pending = []
            if cur is not None:
                rows.append([_join_wrapped(cur)])
            cur = [ln]
            groups.append(group)
            expected += 1
            continue
        if _SHORT_LABEL.match(ln) and ln not in terminators:
            pending.append(ln)
            continue
        if pending and cur is not None:
            cur.extend(pending)
            pending = []
        if cur is not None:
            cur.append(ln)
    if cur is not None:
        rows.append([_join_wrapped(cur + pending)])
    t = Table(caption, [_join_wrapped([header, header_extra])], rows, [f"分类：{g}" if g else "" for g in groups])
    return t
