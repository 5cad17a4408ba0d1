"""The /api request and response models (pydantic) and how a validation error reads in our error shape.

Requests forbid unknown fields and check each field with the project's one check for it
(``rag.settings``: question length, answer mode, k), so the API, the Gradio API and the CLI say the
same thing. Every refusal is ``{"error": "中文 / English", "field": name}`` (:class:`ErrorReply`);
:func:`validation_reply` turns pydantic's errors into that shape. Responses mirror
``Answer.to_dict()`` / ``ScoredChunk.to_result()`` field for field (the tests compare them).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from ..errors import InputError
from ..settings import (
    ANSWER_MODES,
    MAX_QUESTION_CHARS,
    MAX_TOP_K,
    check_answer_mode,
    check_question_length,
    check_top_k,
)

EXAMPLE_QUESTION = "试点县能得到哪些支持？"
FIELD_NAMES = {"question": "问题", "mode": "回答方式", "docs": "检索范围", "id": "请求编号", "k": "结果数"}


def _refuse(check, value: Any) -> Any:
    """``check(value)``; its InputError becomes a pydantic error carrying the same message."""
    try:
        return check(value)
    except InputError as e:
        raise PydanticCustomError("rag_input", "{message}", {"message": str(e)}) from None


def _question(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("rag_input", "{message}", {
            "message": f"问题（question）必须是文本 / \"question\" must be a string, not {type(value).__name__}"})
    return _refuse(check_question_length, value)  # emptiness and punctuation-only: the pipeline's clean_query


def _request_id(value: Any) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
        raise PydanticCustomError("rag_input", "{message}", {
            "message": "请求编号（id）必须是字符串或整数 / \"id\" must be a string or an integer"})
    return value


def _docs(value: Any) -> Any:
    if value is not None and (not isinstance(value, list) or not all(isinstance(d, str) for d in value)):
        raise PydanticCustomError("rag_input", "{message}", {
            "message": "检索范围（docs）必须是文件编号列表 / \"docs\" must be a list of document ids (strings)"})
    return value


_QUESTION = Field(description=f"用中文提问，最多 {MAX_QUESTION_CHARS} 个字符 / the question, at most "
                              f"{MAX_QUESTION_CHARS} characters, not only punctuation",
                  json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION_CHARS}, examples=[EXAMPLE_QUESTION])
_DOCS = Field(None, description="只在这些文件中检索（文件编号、别名、文件名或标题；见 GET /api/health）/ "
                                "restrict retrieval to these documents (ids, aliases, file names or titles)",
              examples=[["whitepaper-2024"]])
_ID = Field(None, description="调用方的请求编号，原样返回（字符串）/ the caller's id, echoed back as a string")


Question = Annotated[str, BeforeValidator(_question), _QUESTION]
Docs = Annotated[list[str] | None, BeforeValidator(_docs), _DOCS]
RequestId = Annotated[str | int | None, BeforeValidator(_request_id), _ID]


class AskRequest(BaseModel):
    """``POST /api/ask``: one question."""

    model_config = ConfigDict(extra="forbid")
    question: Question
    mode: Annotated[Literal[ANSWER_MODES] | None,  # type: ignore[valid-type]
                    BeforeValidator(lambda v: v if v is None else _refuse(check_answer_mode, v)),
                    Field(None, description="extractive（原文摘录）或 llm（大模型生成）；默认为服务端设置 / the answer "
                                            "mode; default: the server's RAG_ANSWER_MODE")]
    docs: Docs
    id: RequestId


class SearchRequest(BaseModel):
    """``POST /api/search``: ranked passages for a question, no answer."""

    model_config = ConfigDict(extra="forbid")
    question: Question
    k: Annotated[Annotated[int, Field(ge=1, le=MAX_TOP_K)] | None,
                 BeforeValidator(lambda v: v if v is None else _refuse(check_top_k, v)),
                 Field(None, description=f"结果数，1–{MAX_TOP_K}；默认为服务端设置 / how many "
                                                             f"passages, 1 to {MAX_TOP_K}; default: the server's RAG_TOP_K")]
    docs: Docs
    id: RequestId


class ErrorReply(BaseModel):
    """Every 4xx/5xx reply: a message in Chinese (then English) and the request field it is about."""

    error: str = Field(description="中文说明 / English explanation", examples=["问题为空，请输入一个问题 / the question is empty"])
    field: str | None = Field(None, description="出错的请求字段 / the request field at fault", examples=["question"])


# ---------------------------------------------------------------------------------------------- responses
class SentenceOut(BaseModel):
    text: str = Field(description="the sentence as quoted from the source")
    citations: list[int] = Field(description="the [n] of its sources (numbers of ``citations``)")
    supported: bool = Field(description="verified against its sources; false is shown as 〔未核实〕")
    display: str | None = Field(None, description="the sentence as shown when it differs (simplified, a table row as a phrase)")


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    doc: str
    title: str
    issuer: str
    date: str
    heading_path: list[str]
    quote: str = Field(description="the cited sentences, verbatim; non-adjacent ones joined by ……")
    spans: list[list[int]] = Field(default_factory=list,
                                   description="[start, end) character offsets of each cited sentence in ``text``")
    text: str = Field(description="the whole passage")
    memo: str = Field(description="the memo-ready citation 《标题》（文号）…")


class AskResponse(BaseModel):
    """The answer: the same object as one line of ``rag ask --batch``."""

    id: str
    question: str
    answer: str = Field(description="the answer text with [n] markers")
    abstained: bool = Field(description="true when the documents do not answer the question")
    mode: str
    sentences: list[SentenceOut]
    citations: list[CitationOut]
    retrieved: list[str] = Field(description="ids of the passages retrieved, best first")
    notices: list[str] = Field(description="notes for the reader (fallbacks, filters)")
    timings_ms: dict[str, float]
    query: str | None = Field(None, description="what retrieval searched for when it differs from the question")


class SearchResult(BaseModel):
    id: str
    doc: str
    title: str
    heading_path: list[str]
    kind: str
    text: str
    score: float
    ranks: dict[str, int | None]
    warning: str | None = Field(None, description="set when the passage addresses the reader or the model")


class SearchResponse(BaseModel):
    """Ranked passages: the same object as one line of ``rag search --batch``."""

    id: str | None = None
    question: str
    results: list[SearchResult]


class IndexState(BaseModel):
    model_config = ConfigDict(extra="allow")  # plus the manifest's counts (documents, chunks, ...)
    state: str = Field(description="fresh | stale | missing")
    reason: str
    dir: str


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    issuer: str
    date: str
    kind: str


class AnswerModes(BaseModel):
    default: str
    llm_configured: bool


class CorpusReport(BaseModel):
    skipped: list[dict[str, Any]] = Field(description="corpus files left out of the index, with the reason")
    inferred: list[dict[str, Any]] = Field(description="metadata read from uncatalogued files' text")


class HealthResponse(BaseModel):
    status: str
    index: IndexState
    documents: list[DocumentOut]
    answer_modes: AnswerModes
    corpus: CorpusReport


# ---------------------------------------------------------------------------------------------- errors
class ApiError(Exception):
    """A request the API refuses; ``message`` is shown to the caller as is."""

    def __init__(self, status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers


def _field_of(loc: tuple) -> str | None:
    names = [p for p in loc if isinstance(p, str) and p != "body"]
    return names[0] if names else None


def _message(err: dict[str, Any], allowed: tuple[str, ...]) -> str:
    kind, name = err["type"], _field_of(tuple(err.get("loc", ())))
    label = f"{FIELD_NAMES.get(name, name)}（{name}）" if name else "请求体"
    if kind == "rag_input":
        return err["ctx"]["message"]
    if kind == "missing":
        if name == "question":
            return f"缺少问题（question）/ \"question\" is required, e.g. {{\"question\": \"{EXAMPLE_QUESTION}\"}}"
        return f"缺少{label} / \"{name}\" is required"
    if kind == "extra_forbidden":
        return (f"未知字段 {name}，可用字段：{', '.join(allowed)} / unknown field \"{name}\"; "
                f"allowed: {', '.join(allowed)}")
    return f"{label}无效 / \"{name}\": {err.get('msg', 'invalid value')}"


def validation_reply(errors: list[dict[str, Any]], model: type[BaseModel] | None) -> tuple[int, str, str | None]:
    """(status, message, field) for pydantic's ``errors`` of a request body for ``model``.

    Not JSON or not an object: 400. A field: 422, naming the field; unknown fields are reported
    first (all of them), then the request's fields in order.
    """
    example = f'{{"question": "{EXAMPLE_QUESTION}"}}'
    for err in errors:
        if err["type"] == "json_invalid":
            return 400, f"请求体不是有效的 JSON / the request body is not valid JSON; send e.g. {example}", None
        if tuple(err.get("loc", ())) in (("body",), ()) and err["type"] != "missing":
            return 400, f"请求体必须是 JSON 对象 / the request body must be a JSON object, e.g. {example}", None
    allowed = tuple(model.model_fields) if model else ()
    if any(tuple(e.get("loc", ())) == ("body",) for e in errors):  # no body at all
        return 422, _message({"type": "missing", "loc": ("body", "question")}, allowed), "question"
    extras = sorted(_field_of(tuple(e["loc"])) or "" for e in errors if e["type"] == "extra_forbidden")
    if extras:
        names = ", ".join(extras)
        return 422, (f"未知字段 {names}，可用字段：{', '.join(allowed)} / unknown field(s) {names}; "
                     f"allowed: {', '.join(allowed)}"), extras[0]
    order = {n: i for i, n in enumerate(allowed)}
    first = min(errors, key=lambda e: order.get(_field_of(tuple(e.get("loc", ()))) or "", len(order)))
    return 422, _message(first, allowed), _field_of(tuple(first.get("loc", ())))


def parse_request(model: type[BaseModel], data: dict[str, Any]) -> tuple[BaseModel | None, tuple[int, str, str | None]]:
    """``model`` validated from ``data`` (the Gradio API's arguments), or the reply for its first error."""
    try:
        return model.model_validate(data), (200, "", None)
    except ValidationError as e:
        errors = [{**dict(err), "loc": ("body", *err["loc"])} for err in e.errors()]
        return None, validation_reply(errors, model)
