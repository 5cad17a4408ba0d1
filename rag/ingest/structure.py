"""Turn repaired document text into blocks that know their place in the outline.

A block is a heading, a paragraph (``text``), a list item, or one table row. Chinese
policy heading conventions give the levels::

    第X篇 / compilation part          0
    第X章, 前言, 附件N, 目录-less titles 1
    第X节                             2
    一、                              3
    （一）                            4
    1. / 1． / 1、                    5
    （1） / ⑴                         6
    ①                                 7
    专栏N, 表N (boxes and tables)      8

Paragraph boundaries follow sentences, not line breaks: a line that does not end a
sentence is joined with the next one unless the next one is a heading or a table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .repair import SENTENCE_END, drop_page_furniture, fix_spacing, is_hard_wrapped, typical_line_length
from .tables import ROW_START, Table, is_tab_row, parse_cell_table, parse_numbered_table, parse_tab_table

CN_NUM = "一二三四五六七八九十百零〇"

HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (0, re.compile(rf"^第[{CN_NUM}\d]+篇[：:\s]")),
    (1, re.compile(rf"^第[{CN_NUM}\d]+章(?![程])")),
    # unnumbered sections sit beside 一、二、… (a following 一、 closes them)
    (3, re.compile(r"^(?:前\s*言|序\s*言|引\s*言|结\s*语|后\s*记|编制说明)$")),
    (1, re.compile(r"^附\s*件\s*\d*(?:[：:\s]|$)")),
    (2, re.compile(rf"^第[{CN_NUM}\d]+节(?![约点日])")),
    (3, re.compile(rf"^[{CN_NUM}]+、")),
    (4, re.compile(rf"^[（(]\s*[{CN_NUM}]+\s*[）)]")),
    (5, re.compile(r"^\d{1,2}\s*[.．、](?!\d)")),
    (6, re.compile(r"^[（(]\d{1,2}[）)]|^[⑴-⒇]")),
    (7, re.compile(r"^[①-⑳]")),
    (8, re.compile(r"^专栏\s*\d+")),
    (8, re.compile(r"^表\s*\d+[\s：:]")),
]
BOX_LEVEL = 8
PART_LEVEL = 0
TITLE_LEVEL = 1
FIGURE = re.compile(r"^图\s*\d+\s*\S")
TOC = re.compile(r"^目\s*录$")
LABEL_LINE = re.compile(r"^(?:责任单位|牵头单位|配合单位|备注|注|资料来源|来源|主送|抄送)[：:]")
# "1.县域经济实力稳固提升。2023年…": a numbered item whose first sentence is its heading.
LEAD_PHRASE = re.compile(r"^(.{2,40}?)[。：:；]")
MAX_HEADING_CHARS = 50
_DATE_LINE = re.compile(r"^(?:\d{4}\s*年[\s\d]*月?[\s\d]*日?|[一二三四五六七八九〇○零]{4}年[一二三四五六七八九十]{0,3}月?[一二三四五六七八九十]{0,3}日?)$")
_ANNEX = re.compile(r"^附\s*件\s*\d+\s*[：:]")


@dataclass
class Block:
    """A heading, paragraph, list item or table row with its heading path."""
    kind: str  # heading | text | list_item | table_row | front
    text: str
    level: int = -1
    context: str = ""  # table caption + headers (search-only)
    heading_path: tuple[str, ...] = ()
    part: str = ""
    stated: bool = False  # a heading that states a figure (a table caption with a count): a chunk of its own


_CAPTION_LABEL = re.compile(r"^\s*(?:附\s*件|表|专栏|图)\s*[\d一二三四五六七八九十]+[\s：:、.．]*")


def states_figure(caption: str) -> bool:
    """Does a caption state a figure besides its own number (附件1 泉州市50条… yes; 表2 重点任务 no)?"""
    return bool(re.search(r"\d", _CAPTION_LABEL.sub("", caption)))


@dataclass
class Part:
    """One piece of a compilation: its title line, issuer and 文号 (from the catalog)."""
    title: str
    starts_with: str
    issuer: str = ""
    number: str = ""


def heading_level(line: str) -> int | None:
    """Level of a marked heading line, or None."""
    s = line.strip()
    for level, pat in HEADING_PATTERNS:
        if pat.match(s):
            return level
    return None


def _ends_sentence(s: str) -> bool:
    s = s.rstrip()
    return bool(s) and (s[-1] in SENTENCE_END or s[-1] in "：:")


# ----------------------------------------------------------------------------- main parse
class Parser:
    """Turns repaired text into blocks with heading paths (see the module docstring)."""
    def __init__(self, parts: list[Part] | None = None):
        self.parts = parts or []
        self.short_limit = 45  # a line without sentence end at most this long stands alone

    def parse(self, text: str) -> list[Block]:
        """Blocks of ``text`` in document order."""
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        lines = [ln.replace("\u3000", " ").rstrip(" \r") for ln in lines]
        lines = drop_page_furniture(lines)
        lines = [ln for ln in lines if not FIGURE.match(ln.strip())]
        hard = is_hard_wrapped(lines)
        if hard:
            self.short_limit = max(8, typical_line_length(lines) - 8)
        units = self._units(lines, hard)
        units = self._drop_toc(units)
        return self._outline(units)

    # A unit is ("line", text) or ("table", Table) or ("break", "").
    def _units(self, lines: list[str], hard: bool) -> list[tuple[str, object]]:
        units: list[tuple[str, object]] = []
        i, n = 0, len(lines)
        while i < n:
            ln = lines[i]
            if not ln.strip():
                if not hard:
                    units.append(("break", ""))
                i += 1
                continue
            # tab-separated table rows
            if is_tab_row(ln):
                j = i
                block = []
                while j < n and (is_tab_row(lines[j]) or not lines[j].strip()):
                    if lines[j].strip():
                        block.append(lines[j])
                    j += 1
                caption = self._take_caption(units)
                units.append(("table", parse_tab_table(block, caption)))
                i = j
                continue
            # one cell per line: several blank-line separated groups of tab-led lines
            if ln.startswith("\t"):
                groups, j = self._cell_groups(lines, i)
                if len(groups) >= 3 and sum(len(g) for g in groups) >= 8:
                    caption = self._take_caption(units)
                    units.append(("table", parse_cell_table(groups, caption)))
                    i = j
                    continue
            # a box or table caption followed by a 序号 header: a table flattened by PDF extraction
            if heading_level(ln.strip()) == BOX_LEVEL:
                k = i + 1
                while k < n and not lines[k].strip():
                    k += 1
                if k < n and "序号" in lines[k] and "\t" not in lines[k]:
                    j = k
                    body = []
                    while j < n:
                        s = lines[j].strip()
                        lvl = heading_level(s) if s else None
                        if s and j > k and lvl is not None and lvl != BOX_LEVEL and not ROW_START.match(s):
                            break
                        if s and j > k and lvl == BOX_LEVEL:
                            break
                        if s:
                            body.append(s)
                        j += 1
                    units.append(("table", parse_numbered_table(body, fix_spacing(ln.strip()))))
                    i = j
                    continue
            units.append(("line", fix_spacing(ln.strip())))
            i += 1
        return units

    @staticmethod
    def _cell_groups(lines: list[str], i: int) -> tuple[list[list[str]], int]:
        groups: list[list[str]] = []
        cur: list[str] = []
        j = i
        while j < len(lines):
            ln = lines[j]
            if not ln.strip() and ln != "\t":
                if cur:
                    groups.append(cur)
                    cur = []
                j += 1
                # stop at two blank lines followed by a non-tab line
                if j < len(lines) and lines[j].strip() and not lines[j].startswith("\t") and not cur:
                    break
                continue
            if ln.startswith("\t") or (cur and ln.strip() and len(ln.strip()) <= 12):
                cur.append(ln)
                j += 1
                continue
            break
        if cur:
            groups.append(cur)
        return groups, j

    @staticmethod
    def _take_caption(units: list[tuple[str, object]]) -> str:
        """The caption is the last short line(s) before the table (表N …, 附件N …)."""
        cap: list[str] = []
        k = len(units) - 1
        while k >= 0 and units[k][0] == "break":
            k -= 1
        while k >= 0 and units[k][0] == "line" and len(str(units[k][1])) <= 40 and not _ends_sentence(str(units[k][1])):
            cap.insert(0, str(units[k][1]))
            del units[k]
            k -= 1
            if cap and re.match(r"^(表\s*\d+|附\s*件)", cap[0]):
                break
            while k >= 0 and units[k][0] == "break":
                k -= 1
            if len(cap) >= 2:
                break
        return " ".join(cap)

    @staticmethod
    def _drop_toc(units):
        out, skipping = [], False
        for kind, val in units:
            if kind == "line" and TOC.match(str(val)):
                skipping = True
                continue
            if skipping:
                if kind == "line":
                    s = str(val)
                    if re.match(r"^前\s*言$", s) or (len(s) > 60 and _ends_sentence(s)):
                        skipping = False
                    else:
                        continue
                else:
                    continue
            out.append((kind, val))
        return out

    # ------------------------------------------------------------------ outline
    def _part_for(self, line: str) -> Part | None:
        norm = re.sub(r"\s+", "", line)
        for p in self.parts:
            if norm.startswith(re.sub(r"\s+", "", p.starts_with)):
                return p
        return None

    def _outline(self, units) -> list[Block]:
        paragraphs = self._paragraphs(units)
        blocks: list[Block] = []
        stack: list[tuple[int, str]] = []
        part = ""
        seen_body = False
        for idx, (kind, val) in enumerate(paragraphs):
            nxt = paragraphs[idx + 1] if idx + 1 < len(paragraphs) else ("", "")
            prev_ = paragraphs[idx - 1] if idx > 0 else ("", "")
            if kind == "table":
                table: Table = val  # type: ignore[assignment]
                cap_level = heading_level(table.caption) if table.caption else None
                if cap_level is not None and cap_level < BOX_LEVEL:
                    while stack and stack[-1][0] >= cap_level and stack[-1][0] != PART_LEVEL:
                        stack.pop()
                    stack.append((cap_level, table.caption))
                    path = tuple(h for _, h in stack)
                else:
                    path = tuple(h for _, h in stack) + ((table.caption,) if table.caption else ())
                if table.caption and states_figure(table.caption):
                    # a caption can state a fact (附件1 泉州市50条县域重点产业链目录): it is quotable text too
                    blocks.append(Block("heading", table.caption, cap_level if cap_level is not None else BOX_LEVEL,
                                        heading_path=path, part=part, stated=True))
                for i, row in enumerate(table.rows):
                    blocks.append(Block("table_row", " | ".join(c for c in row), context=table.context_for(i),
                                        heading_path=path, part=part))
                seen_body = True
                continue
            s = str(val)
            p = self._part_for(s) if self.parts else None
            if p is not None:
                part = p.title
                stack = [(PART_LEVEL, p.title)]
                if re.sub(r"\s+", "", s) == re.sub(r"\s+", "", p.starts_with) or len(s) <= MAX_HEADING_CHARS:
                    blocks.append(Block("heading", s, PART_LEVEL, heading_path=(p.title,), part=part))
                    continue
                # the part starts with a heading-like line that is also content: fall through
            level = heading_level(s)
            lead = None
            if level is not None and ("。" in s or len(s) > MAX_HEADING_CHARS):
                m = LEAD_PHRASE.match(s)
                if m and level != BOX_LEVEL:
                    lead = m.group(1)
                else:
                    level = None if level != BOX_LEVEL else level
            if level is None and self._is_title(s, seen_body) and not (nxt[0] == "line" and _DATE_LINE.match(str(nxt[1]))):
                level = TITLE_LEVEL if seen_body else None
            # a list of annexes (附件1：… 附件2：…) is text, not a run of empty sections
            if level is not None and _ANNEX.match(s) and any(
                    k == "line" and _ANNEX.match(str(v)) for k, v in (nxt, prev_)):
                level = None
            if level is None:
                kind_ = "list_item" if re.match(r"^(?:——|[-•·●■▪]\s)", s) else ("text" if seen_body or stack else "front")
                blocks.append(Block(kind_, s, heading_path=tuple(h for _, h in stack), part=part))
                # front matter ends at the first heading or the first real paragraph
                if kind_ != "front" or (len(s) > 60 and _ends_sentence(s)):
                    seen_body = True
                continue
            heading = lead if lead else s
            # pop siblings and deeper sections; a compilation part stays the root of its headings
            while stack and stack[-1][0] >= level and not (stack[-1][0] == PART_LEVEL and level > PART_LEVEL):
                stack.pop()
            stack.append((level, heading))
            path = tuple(h for _, h in stack)
            if lead:
                blocks.append(Block("list_item" if level >= 5 else "text", s, heading_path=path, part=part))
            else:
                blocks.append(Block("heading", s, level, heading_path=path, part=part))
            seen_body = True
        return blocks

    @staticmethod
    def _is_title(s: str, seen_body: bool) -> bool:
        """An unmarked title line: short, no sentence end, not a label or a number."""
        if len(s) > 40 or len(s) < 4 or _ends_sentence(s) or s.endswith(("、", "，", ",")):
            return False
        if LABEL_LINE.match(s) or re.fullmatch(r"[\d\s.%年月日\-—]+", s) or s.startswith(("□", "■", "（作者", "(作者")):
            return False
        if re.fullmatch(r"[\d〇○零一二三四五六七八九十]{2,4}年[\d〇○零一二三四五六七八九十]{1,3}月([\d〇○零一二三四五六七八九十]{1,3}日)?", s):
            return False
        if re.search(r"[，,。；]", s) and not re.search(r"[:：]", s):
            return False
        cjk = sum(1 for c in s if "\u4e00" <= c <= "\u9fff")
        if cjk < 4 or cjk < 0.6 * len(s.replace(" ", "")):
            return False
        return seen_body

    def _paragraphs(self, units) -> list[tuple[str, object]]:
        """Join lines into paragraphs: a paragraph ends at a sentence end, a heading or a table."""
        out: list[tuple[str, object]] = []
        buf = ""

        def flush():
            nonlocal buf
            if buf:
                out.append(("line", buf))
                buf = ""

        for kind, val in units:
            if kind == "table":
                flush()
                out.append((kind, val))
                continue
            if kind == "break":
                # blank lines separate paragraphs only when the text before ended a sentence
                if buf and _ends_sentence(buf):
                    flush()
                continue
            s = str(val)
            starts_new = (
                heading_level(s) is not None
                or LABEL_LINE.match(s) is not None
                or (self.parts and self._part_for(s) is not None)
            )
            if starts_new:
                flush()
                if heading_level(s) is not None and not re.search(r"[。；]", s) and len(s) <= MAX_HEADING_CHARS:
                    out.append(("line", s))  # a heading line stands alone
                    continue
                buf = s
                continue
            if not buf:
                buf = s
                continue
            if _ends_sentence(buf) or self._standalone_short(buf, self.short_limit):
                flush()
                buf = s
            else:
                buf = buf + s if not (buf[-1].isascii() and buf[-1].isalnum() and s[0].isascii() and s[0].isalnum()) else buf + " " + s
        flush()
        return out

    @staticmethod
    def _standalone_short(buf: str, limit: int) -> bool:
        """A short line without sentence end that stands alone (title, signature, date)."""
        return len(buf) <= limit and not buf.endswith(("、", "，", ","))
