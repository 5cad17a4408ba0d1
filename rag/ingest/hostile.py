"""Passages that address the reader or the model instead of stating policy (possible prompt injection).

A policy document states rules, amounts and responsibilities; it does not tell the reader to
ignore what came before, to treat this paragraph as the one that counts, what to answer, or
who "you" (an assistant, a model) are. :func:`hostile_reason` matches a passage against
:data:`PATTERNS` — data: a name, a regular expression over the passage's :func:`rag.text.search_form`
(NFKC, so full-width ``：`` is ``:``; simplified; lower case) and the reason shown to users — and
returns the first reason, or "" for an ordinary passage.

Checked when answering (cheap: a few regular expressions over the ≤ top-k retrieved passages,
cached per text), not stored in the index: the patterns can change without a rebuild and the
index format stays as it is. None of the seed corpus's passages matches (tests/test_hostile.py).
A flagged passage is never used to compose an answer and never accepted as a sentence's only
support (:mod:`rag.answer.guard`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..text import search_form

# (name, pattern, reason). Patterns are anchored on imperative or role words so that ordinary
# policy prose ("以本办法为准", "问：……答：……", "忽略不计") does not match.
_OBJECTS = r"(?:指令|指示|命令|要求|规则|提示|设定|约束|内容|资料|来源|信息|说明|文字|条款|对话)"
PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("ignore-previous",
     rf"(?:忽略|无视|忘记|忘掉|不要理会|不必理会|不用理会|抛开|跳过|覆盖)\s*(?:掉)?\s*"
     rf"(?:以上|上述|上面|前面|之前|此前|先前|其他|其它|所有|全部|一切|你的|系统)[^。！？\n]{{0,12}}?{_OBJECTS}",
     "要求忽略其他内容或指令"),
    ("ignore-previous-en",
     r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,30}\b(?:instructions?|prompts?|rules|context|above|previous)\b",
     "要求忽略其他内容或指令"),
    ("this-overrides",
     r"以(?:本|此|这)(?:条|段|句|则|处|段落|条信息|条消息|条内容|部分)(?!例|款|规定)[^。！？\n]{0,4}为准"
     r"|(?:本|此|这)(?:条|段|句|段落)(?:内容)?(?:优先于|高于|覆盖)(?:其他|其它|以上|上述|所有)",
     "声称本段优先于其他内容"),
    ("answer-directive",
     r"(?:^|[,，。;；!！?？\s])(?:请|请你|你|务必|必须|只需|只|仅|直接|一律)?\s*(?:回答|回复|答复|输出|告诉用户|告知用户|对用户说)"
     r"\s*(?::|“|\"|「)",
     "指示应当如何回答"),
    ("answer-directive-2",
     r"(?:回答|回复|答复)(?:用户|提问|问题)?时(?:请|必须|务必|一律|应当|只)|(?:直接|一律|务必|必须)(?:回答|回复|答复|告诉用户)",
     "指示应当如何回答"),
    ("role-play",
     r"你(?:现在)?(?:是|扮演|充当|作为)(?:一个|一名|一位)?[^。！？\n]{0,10}?"
     r"(?:助手|助理|模型|ai|人工智能|机器人|客服|gpt|chatgpt)"
     r"|(?:扮演|充当)[^。！？\n]{0,8}?(?:角色|助手)|角色扮演",
     "设定模型的角色"),
    ("model-address",
     r"(?:大模型|语言模型|人工智能|ai助手|智能助手|chatgpt|gpt|llm|assistant)\s*(?:请|必须|应当|应该|务必|你)",
     "直接对模型下指令"),
    ("prompt-markup",
     r"<\|?(?:im_start|im_end|system|assistant|user)\|?>|\[/?inst\]|<<\s*sys\s*>>|#{2,}\s*(?:instruction|system)"
     r"|(?:^|\n)\s*(?:system|assistant|user|系统|助手)\s*:"
     r"|(?:系统|system)\s*(?:提示词?|prompt|指令)|提示词|prompt\s*injection|越狱|jailbreak",
     "包含提示词或对话角色标记"),
)


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern: ``name``, ``regex`` and the user-visible ``reason``."""
    name: str
    regex: re.Pattern[str]
    reason: str


COMPILED: tuple[Pattern, ...] = tuple(Pattern(n, re.compile(p), r) for n, p, r in PATTERNS)


@functools.lru_cache(maxsize=8192)
def hostile_match(text: str) -> Pattern | None:
    """The first pattern that ``text`` matches, or None."""
    form = search_form(text)
    for p in COMPILED:
        if p.regex.search(form):
            return p
    return None


def hostile_reason(text: str) -> str:
    """Why ``text`` looks like it addresses the reader or the model (e.g. "要求忽略其他内容或指令"), or ""."""
    p = hostile_match(text)
    return p.reason if p else ""
