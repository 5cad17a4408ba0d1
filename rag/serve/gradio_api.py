"""The chat UI's Gradio API for programmatic callers (``gradio_client``): named endpoints returning
structured data, the same objects as the HTTP API.

- ``/ask``    (question, docs?, mode?, id?) -> the answer as ``POST /api/ask`` returns it: ``answer`` text,
  ``sentences`` with their ``citations``, ``citations`` (memo lines), ``abstained``, ``notices``, ...
- ``/search`` (question, k?, docs?, id?)   -> the passages as ``POST /api/search`` returns them
- ``/health`` ()                           -> index state and documents as ``GET /api/health``

Arguments are checked by the HTTP API's pydantic models (:mod:`rag.serve.models`), so a refusal says
the same thing: ``gradio_client`` raises ``AppError`` whose ``message`` is the API's ``error`` and whose
``title`` is the field at fault (``"错误"`` when none). The page's own events (send, select a turn,
rate, export) are ``api_visibility="private"`` in :mod:`rag.serve.ui`: they take and return chat
state and HTML, which is no interface for a program.
"""

import logging
import time
from typing import Any, Literal

import gradio as gr

from ..answer.deadline import question_arrived
from ..errors import RagError
from ..pipeline import Pipeline
from .api import ask_payload, health_payload, search_payload, status_for
from .models import ApiError, AskRequest, SearchRequest, parse_request

log = logging.getLogger(__name__)

ASK_GROUP = "ask"  # questions share the UI's concurrency group (rag/serve/app.py)
ENDPOINTS = ("ask", "search", "health")


def _refused(message: str, field: str | None) -> gr.Error:
    return gr.Error(message, title=field or "错误", print_exception=False)


def _call(fn, pipeline: Pipeline, req: Any = None) -> dict[str, Any]:
    """``fn(pipeline, req)``, every failure a gr.Error in the HTTP API's words."""
    try:
        return fn(pipeline) if req is None else fn(pipeline, req)
    except ApiError as e:
        raise _refused(e.message, e.field) from None
    except RagError as e:
        _, label, field = status_for(e)
        raise _refused(label + str(e), field) from None
    except Exception:
        log.exception("Gradio API call %s failed", getattr(fn, "__name__", fn))
        raise _refused("服务器内部错误，详情见服务日志 / internal server error; see the server log", None) from None


def _validated(model, data: dict[str, Any]):
    req, (_, message, field) = parse_request(model, {k: v for k, v in data.items() if v is not None})
    if req is None:
        raise _refused(message, field)
    return req


def add_api(pipeline: Pipeline) -> None:
    """Register the named endpoints on the Blocks being built (call inside ``with gr.Blocks()``)."""

    def api_ask(question: str, docs: list[str] | None = None, mode: Literal["extractive", "llm"] | None = None,
                id: str | None = None) -> dict[str, Any]:
        """回答一个问题：answer text, sentences with citations, citations, abstained, notices (as POST /api/ask).
        docs: document ids to search (see /health); mode: extractive or llm (default: the server's)."""
        arrived = time.monotonic()
        req = _validated(AskRequest, {"question": question, "docs": docs, "mode": mode, "id": id})
        with question_arrived(arrived):
            return _call(ask_payload, pipeline, req)

    def api_search(question: str, k: int | None = None, docs: list[str] | None = None,
                   id: str | None = None) -> dict[str, Any]:
        """检索段落：ranked passages for a question, no answer (as POST /api/search); k from 1 to 200."""
        return _call(search_payload, pipeline, _validated(SearchRequest, {"question": question, "k": k, "docs": docs,
                                                                          "id": id}))

    def api_health() -> dict[str, Any]:
        """索引状态：index state, documents, answer modes, skipped files (as GET /api/health)."""
        return _call(health_payload, pipeline)

    gr.api(api_ask, api_name="ask", concurrency_id=ASK_GROUP)
    gr.api(api_search, api_name="search")
    gr.api(api_health, api_name="health")
