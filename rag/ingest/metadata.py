"""Document metadata read from the text itself, for files the catalog says nothing about.

Chinese official documents state their own metadata in fixed places (GB/T 9704):

- the document number (文号) on a line of its own above the title: ``闽政〔2021〕12号``
  (also written with [] ［］ () （） 【】 brackets and stray spaces: ``闽政〔2021〕12 号``);
- the title, possibly wrapped over several lines (``泉州市加快推进县域重点产业链`` /
  ``高质量发展行动方案`` / ``（送审稿）``), often ``<issuer>关于……的通知``;
- a line under the title naming the issuer and/or the date (a white paper's cover);
- the signature (落款) at the end: the issuer's name on one line, the date on the next
  (``福建省人民政府`` / ``2021年6月29日``; Chinese numerals ``二〇二一年六月二十九日`` too).

:func:`infer_metadata` looks only there — never in body sentences, which cite other documents'
numbers and dates — and says where each value came from, so ``rag build`` and ``/api/health``
can show what was inferred.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# How far from the top the title block, the number and the cover lines may sit, and from the end the 落款.
HEAD_LINES = 30
TAIL_LINES = 15
TITLE_MAX = 80

# What a field was read from (``Inferred.sources`` values).
FROM_NUMBER_LINE = "number line"  # a 文号 line of its own near the top
FROM_TITLE_LINES = "title lines"  # the first title-like line(s), joined
FROM_UNDER_TITLE = "line under the title"
FROM_SIGNATURE = "signature (落款)"  # issuer line + date line at the end (or closing a cover letter)
FROM_TITLE_PREFIX = "title (……关于)"  # the issuer named before 关于 in the title
FROM_HEADER = "header (……文件)"  # the red-header line 福建省人民政府文件

_ORG_SUFFIXES = (
    "人民政府办公厅", "人民政府办公室", "人民政府", "政府", "办公厅", "办公室", "委员会", "工作委员会", "领导小组",
    "厅", "局", "委", "部", "院", "署", "办", "会", "中心", "公司", "集团", "银行", "协会", "联合会", "管委会", "研究院",
    # traditional forms
    "人民政府辦公廳", "人民政府辦公室", "辦公廳", "辦公室", "委員會", "廳", "辦", "會", "聯合會", "管委會", "研究院",
)
_ORG = re.compile(r"^[\u4e00-\u9fff（）()·]{2,40}$")
_BRACKETS = "〔［\\[(（【"
_NUMBER = re.compile(
    r"^([\u4e00-\u9fff]{1,12})\s*[" + _BRACKETS + r"]\s*((?:19|20)\d{2})\s*[〕］\])）】]\s*第?\s*(\d{1,5})\s*号$"
)
_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "〇○零一二三四五六七八九十"
_DATE_CN = re.compile(r"^(\d{4})年(\d{1,2})月(?:(\d{1,2})日)?$")
_DATE_CN_NUMERALS = re.compile(rf"^([{_CN_NUM}]{{4}})年([{_CN_NUM}]{{1,2}})月(?:([{_CN_NUM}]{{1,3}})日)?$")
_DATE_ISO = re.compile(r"^(\d{4})[-./](\d{1,2})(?:[-./](\d{1,2}))?$")
_ABBR_DATE = re.compile(r"^[\[［【]([\u4e00-\u9fff]{2,20})[\]］】]\s*(.+)$")  # [省经贸委]2025-08-16
_ENUMERATED = re.compile(r"^(第[一二三四五六七八九十百零〇\d]+[章节篇部分条]|[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．](?!\d))")
_TITLE_END = re.compile(r"(通知|意见|方案|规划|办法|决定|报告|白皮书|细则|规定|纲要|计划|函|批复|公告|通报|汇编|条例|"
                        r"措施|要点|总结|讲话|指南|决议|章程|通告|指引|清单|目录|[)）])$")
_SENTENCE_END = re.compile(r"[。；;，,：:！!？?、]$")
_CJK_SPACE = re.compile(r"(?<=[\u4e00-\u9fff（）“”《》〔〕])\s+(?=[\u4e00-\u9fff（）“”《》〔〕\d])|(?<=\d)\s+(?=[年月日号〕）\]])")
_NOT_TITLE = re.compile(r"^(目\s*录|前\s*言|附件\d*|抄送|主送|（此件[^）]*）|\(此件[^)]*\))")


@dataclass(frozen=True)
class Inferred:
    """What the text says about itself: title, issuer, date (ISO-like ``2021-06-29`` / ``2024-12``), 文号,
    and for each field found, where it was read from."""

    title: str = ""
    issuer: str = ""
    date: str = ""
    number: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return getattr(self, name)


def _norm(line: str) -> str:
    line = unicodedata.normalize("NFKC", line).replace("\u3000", " ").strip()
    line = line.lstrip("#").strip()  # a Markdown heading
    line = re.sub(r"[*_]{2}(.+?)[*_]{2}", r"\1", line)  # **bold**
    # NFKC turns 〔〕 into themselves but （） into (); keep the full-width forms documents use
    line = line.replace("(", "（").replace(")", "）")
    return _CJK_SPACE.sub("", line)


def _lines(text: str) -> list[str]:
    return [s for s in (_norm(ln) for ln in text.splitlines()) if s]


def parse_number(line: str) -> str:
    """``闽政〔2021〕12号`` from a line that is only a document number (any bracket style, stray spaces); else ""."""
    m = _NUMBER.match(re.sub(r"\s+", "", line)) or _NUMBER.match(line)
    return f"{m.group(1)}〔{m.group(2)}〕{int(m.group(3))}号" if m else ""


def _cn_int(s: str) -> int:
    if all(ch in _CN_DIGITS for ch in s):  # 二〇二一 (digit by digit)
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    tens, _, ones = s.partition("十")  # 十, 十二, 二十, 二十九
    return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)


def parse_date(line: str) -> str:
    """``2021-06-29`` / ``2024-12`` / ``2024`` from a line that is only a date; else ""."""
    s = re.sub(r"\s+", "", line)
    for pattern, conv in ((_DATE_CN, int), (_DATE_ISO, int), (_DATE_CN_NUMERALS, _cn_int)):
        m = pattern.match(s)
        if m:
            y, mo, d = conv(m.group(1)), conv(m.group(2)), m.group(3) and conv(m.group(3))
            if not (1949 <= y <= 2100 and 1 <= mo <= 12 and (not d or 1 <= d <= 31)):
                return ""
            return f"{y:04d}-{mo:02d}" + (f"-{d:02d}" if d else "")
    return ""


def parse_issuers(line: str) -> str:
    """The issuer(s) named by a line that is only organisation names (``A 厅 B 局`` -> ``A厅、B局``); else ""."""
    names = [n for n in re.split(r"[\s、]+", line.strip()) if n]
    if not names or len(names) > 6:
        return ""
    for n in names:
        if not _ORG.match(n) or not n.endswith(_ORG_SUFFIXES) or "关于" in n or len(n) < 3:
            return ""
    return "、".join(names)


def _signed_line(line: str) -> tuple[str, str]:
    """(issuer, date) of a one-line signature such as ``福建省人民政府 2021年6月29日``."""
    m = re.match(r"^(.+?)\s*((?:\d{4}|[" + _CN_NUM + r"]{4})\s*年.*|\d{4}[-./]\d{1,2}(?:[-./]\d{1,2})?)$", line)
    if m:
        issuer, date = parse_issuers(m.group(1)), parse_date(m.group(2))
        if issuer and date:
            return issuer, date
    return "", ""


def _abbr_date(line: str) -> str:
    m = _ABBR_DATE.match(line)
    return parse_date(m.group(2)) if m else ""


def _titleish(line: str) -> bool:
    return (2 <= len(line) <= 60 and not _SENTENCE_END.search(line) and not _ENUMERATED.match(line)
            and not _NOT_TITLE.match(line) and not parse_number(line) and not parse_date(line)
            and not _abbr_date(line) and not line.endswith("文件") and "\t" not in line)


def _front_matter(line: str) -> bool:
    """A line that may stand above a title: 文号, date, red header (……文件), 目录, （此件……）."""
    return bool(parse_number(line) or parse_date(line) or _abbr_date(line) or line.endswith("文件")
                or _NOT_TITLE.match(line))


def _title(head: list[str]) -> tuple[str, int]:
    """(title, index after its last line) from the first lines; ("", 0) when body text comes first."""
    for i, line in enumerate(head):
        if _front_matter(line):
            continue
        if parse_issuers(line) and not (i + 1 < len(head) and head[i + 1].startswith("关于")):
            continue  # an issuer line above the title; part of it only when 关于 follows
        if not _titleish(line) or len(line) < 4:
            return "", 0
        title, j = line, i + 1
        while j < len(head) and len(title) < TITLE_MAX:
            nxt = head[j]
            parens = re.fullmatch(r"（[^（）]{1,20}）", nxt) is not None  # （送审稿） （2024） （试行）
            if not _titleish(nxt) or (parse_issuers(nxt) and not parens) or (_TITLE_END.search(title) and not parens):
                break
            title, j = title + nxt, j + 1
        return title, j
    return "", 0


def _signature(lines: list[str], lone_date: bool = True) -> tuple[str, str]:
    """(issuer, date) of the last signature among ``lines``: issuer line(s) followed by a date line.

    A date alone on one of the last three lines (a signature without the issuer's name) gives the date only.
    """
    lone = ""
    for i in range(len(lines) - 1, -1, -1):
        issuer, date = _signed_line(lines[i])
        if issuer:
            return issuer, date
        date = parse_date(lines[i])
        if not date:
            continue
        names: list[str] = []
        k = i - 1
        while k >= 0 and len(names) < 4 and parse_issuers(lines[k]):
            names.insert(0, parse_issuers(lines[k]))
            k -= 1
        if names:
            return "、".join(names), date
        if lone_date and not lone and i >= len(lines) - 3:
            lone = date
    return "", lone


def infer_metadata(text: str) -> Inferred:
    """Title, issuer, date and 文号 as the document states them (empty where it does not), and their sources."""
    lines = _lines(text)
    head = lines[:HEAD_LINES]
    sources: dict[str, str] = {}
    found: dict[str, str] = {}

    def put(name: str, value: str, source: str) -> None:
        if value and name not in found:
            found[name], sources[name] = value, source

    for line in head:
        n = parse_number(line)
        if n:
            put("number", n, FROM_NUMBER_LINE)
            break
    title, end = _title(head)
    put("title", title, FROM_TITLE_LINES)
    # the signature at the end wins: it is where a document states who issued it and when
    issuer, date = _signature(lines[max(end + 3, len(lines) - TAIL_LINES):])  # below the title and its cover lines
    put("issuer", issuer, FROM_SIGNATURE)
    put("date", date, FROM_SIGNATURE)
    if title:
        # a cover: the lines right under the title name the issuer and/or the date
        for line in head[end:end + 3]:
            signed = _signed_line(line)
            put("issuer", parse_issuers(line) or signed[0], FROM_UNDER_TITLE)
            put("date", parse_date(line) or _abbr_date(line) or signed[1], FROM_UNDER_TITLE)
            if not (parse_issuers(line) or parse_date(line) or _abbr_date(line) or signed[0] or parse_number(line)):
                break
        # a cover letter (印发……的通知) closes with its own signature before the document it issues
        issuer, date = _signature(head[end:], lone_date=False)
        put("issuer", issuer, FROM_SIGNATURE)
        put("date", date, FROM_SIGNATURE)
        m = re.match(r"^(.{3,30}?)关于", title)
        if m and parse_issuers(m.group(1)):
            put("issuer", parse_issuers(m.group(1)), FROM_TITLE_PREFIX)
    for line in head:
        if line.endswith("文件") and parse_issuers(line[:-2]):
            put("issuer", parse_issuers(line[:-2]), FROM_HEADER)
            break
    return Inferred(title=found.get("title", ""), issuer=found.get("issuer", ""), date=found.get("date", ""),
                    number=found.get("number", ""), sources=sources)
