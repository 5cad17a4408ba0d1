"""Renderers of an :class:`~rag.types.Answer` outside the browser.

- :mod:`rag.export.text` — plain text for the terminal and the clipboard (``rag ask``, 复制回答).
- :mod:`rag.export.markdown` — one answer, or a whole chat session, as Markdown.
- :mod:`rag.export.docx` — a chat session as a Word document.

A low-level package: it reads the typed records (sentences with their paragraphs and citations)
and imports only :mod:`rag.types`, :mod:`rag.text` and :mod:`rag.errors`, so both the CLI and the
server can use it.
"""

from __future__ import annotations

from .docx import write_docx
from .markdown import answer_to_markdown, conversation_markdown
from .text import answer_lines, answer_to_text

__all__ = ["answer_lines", "answer_to_markdown", "answer_to_text", "conversation_markdown", "write_docx"]
