"""Lines of a policy document that frame it rather than say anything: never answer sentences.

A document's title, 文号, addressee (各设区市人民政府…：), signature and date, the list of its
annexes and its 施行/解释 clause are metadata: quoting one as an answer reads wrong in a memo. Two
of them are the answer to particular questions and are allowed there: the 施行/有效期 clause to a
question that asks *when*, and a 责任单位 line to one that asks *who*.
The patterns describe official-document layout (GB/T 9704 党政机关公文格式), not any question.
"""

from __future__ import annotations

import re

FRAME_LINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("文号", re.compile(r"^[\u4e00-\u9fff]{1,8}[〔\[［(（]\s*\d{4}\s*[〕\]］)）]\s*\d+\s*号$")),
    ("addressee", re.compile(r"^各[\u4e00-\u9fff、，,（）()]{2,60}[：:]$")),
    ("date", re.compile(r"^[\d〇零一二三四五六七八九十]{4}\s*年\s*[\d一二三四五六七八九十]{0,3}\s*月?\s*[\d一二三四五六七八九十]{0,3}\s*日?$")),
    ("signature", re.compile(r"^[\u4e00-\u9fff]{2,30}(?:人民政府|办公室|办公厅|委员会|厅|局)(?:\s*[\d〇零一二三四五六七八九十]{4}\s*年.{0,8})?$")),
    ("annexes", re.compile(r"^附\s*件\s*\d*\s*[：:]")),
    ("in-force", re.compile(r"(?:之日起|起)施行|负责解释|有效期至|自印发之日起")),
    ("responsible", re.compile(r"^(?:责任单位|牵头单位|配合单位)\s*[：:]")),
)
ALLOWED_FOR = {"in-force": "date", "responsible": "who"}  # frame kind -> question type it answers


def frame_kind(text: str) -> str:
    """The kind of framing line ``text`` is (文号, addressee, date, signature, annexes, in-force,
    responsible), or "" for an ordinary sentence."""
    t = text.strip().rstrip("。.；;")
    for kind, pattern in FRAME_LINES:
        if pattern.search(t):
            return kind
    return ""
