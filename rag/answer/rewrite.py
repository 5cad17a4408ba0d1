"""LLM mode: rewrite a staff question into the documents' terms (and into parts) before retrieval.

The model gets the question and, as hints, what the vocabulary (:mod:`rag.vocab`) knows about its
everyday words (省里 → 省级、全省 …), and must reply with JSON ``{"query": …, "parts": [...]}``.
Retrieval then uses the rewrite *and* the question as asked, so a poor rewrite cannot lose what
the question itself would find; the answer is still composed for, and verified against, the
question as asked. The rewrite is shown in the retrieval view (``Answer.query``).

It is a small part of the question's deadline (``REWRITE_SHARE`` of RAG_LLM_TIMEOUT, counted
from the question's arrival) on the answerer's own client (same concurrency limit and circuit
breaker). Any failure — timeout, error status, not JSON — means: retrieve with the question as
asked, and say so in a notice.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from ..vocab import Vocabulary
from .deadline import Deadline, question_deadline

log = logging.getLogger(__name__)

REWRITE_FILE = "rewrite_system.txt"
REWRITE_SHARE = 0.3  # of the question's LLM budget; the answer gets the rest
MAX_HINTS = 12
_JSON = re.compile(r"\{.*\}", re.S)


@dataclass(frozen=True)
class Rewrite:
    """The question in the documents' terms (``query``) and its self-contained sub-questions."""

    query: str
    parts: tuple[str, ...] = ()

    def retrieval_text(self, question: str) -> str:
        """What the rankers see: the rewrite, its parts, then the question as asked."""
        pieces = [self.query, *[p for p in self.parts if p != self.query], question]
        return "\n".join(dict.fromkeys(p for p in pieces if p))


class QueryRewriter:
    """Asks the chat model for a :class:`Rewrite` of a question (see the module docstring)."""

    def __init__(self, client, system_prompt: str, vocabulary: Vocabulary, timeout: float):
        self.client = client
        self.system_prompt = system_prompt
        self.vocabulary = vocabulary
        self.timeout = timeout

    def hints(self, question: str) -> list[str]:
        """"everyday → formal、formal" lines for the vocabulary's everyday words found in ``question``."""
        from ..text import search_form

        q = search_form(question)
        words = sorted((w for w in self.vocabulary.variants if len(w) >= 2 and w in q), key=len, reverse=True)
        return [f"{w} → {'、'.join(self.vocabulary.expand(w)[1:6])}" for w in words[:MAX_HINTS]
                if len(self.vocabulary.expand(w)) > 1]

    def messages(self, question: str) -> list[dict[str, str]]:
        """The system prompt and the user message (the question, then the vocabulary hints)."""
        hints = self.hints(question)
        user = f"问题：{question}"
        if hints:
            user += "\n可参考的文件用语：\n" + "\n".join(hints)
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": user}]

    def rewrite(self, question: str) -> tuple[Rewrite | None, str]:
        """(the rewrite, "") or (None, why it is not used)."""
        budget = question_deadline(self.timeout).remaining() * REWRITE_SHARE
        deadline = Deadline.after(budget)
        try:
            text = "".join(self.client.chat(self.messages(question), deadline, stream=False))
        except Exception as e:  # noqa: BLE001 - any failure: retrieve with the question as asked
            log.warning("question rewrite failed: %s: %s", type(e).__name__, e)
            return None, "问题改写未完成（大模型服务不可用或超时），已按原问题检索。"
        parsed = parse_rewrite(text)
        if parsed is None:
            return None, "问题改写结果无法解析，已按原问题检索。"
        return parsed, ""


def parse_rewrite(text: str) -> Rewrite | None:
    """The :class:`Rewrite` in a model reply (a JSON object, possibly inside a code fence), or None."""
    m = _JSON.search(text or "")
    if not m:
        return None
    try:
        data = json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
    query = data.get("query") if isinstance(data, dict) else None
    if not isinstance(query, str) or not query.strip() or len(query) > 512:
        return None
    parts = data.get("parts", [])
    parts = tuple(p.strip() for p in parts if isinstance(p, str) and p.strip())[:6] if isinstance(parts, list) else ()
    return Rewrite(query.strip(), parts)
