"""HTML for the chat UI: answers, sources and the retrieval view. Pure functions, no Gradio.

Answers are rendered from their structure — each :class:`~rag.types.AnswerSentence` with its
renumbered citations, its verified flag and its paragraph — never by searching or parsing the
answer text. Every piece of document text and user input passes through :func:`html.escape`
before it is put into markup, so a document containing ``<script>`` shows it as text. The markup
uses ``rag-*`` classes styled by ``static/ui.css``; element ids ``src-{turn}-{n}`` tie the ``[n]``
markers of answer ``turn`` to its entries in the sources panel (see ``static/ui.js``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from ..answer.guard import flag_reason
from ..errors import ConfigError, IndexDamagedError, IndexMismatchError, IndexMissingError, InputError, LLMError
from ..export.text import answer_to_text
from ..text import heading_label
from ..types import Answer, AnswerSentence, Citation, ScoredChunk

UNVERIFIED_BADGE = '<span class="rag-badge" title="这句话未能在所引段落中核实，请勿直接引用">未经核实</span>'
# Retriever names as staff read them; unknown names (e.g. a reranker) show as they are.
RETRIEVER_LABELS = {"bm25": "BM25", "dense": "向量", "rerank": "重排"}


def flag_html(reason: str) -> str:
    """The warning on a passage flagged by :mod:`rag.ingest.hostile` (it addresses the reader or the model); "" if none."""
    if not reason:
        return ""
    return (f'<div class="rag-flag" role="note"><b>疑似指令性文字</b>（{esc(reason)}）：这段文字像是对读者或大模型'
            "下指令，可能是插入的提示词，不作为回答依据，请勿引用。</div>")


# The chat page speaks Chinese only: ratings as they are labelled, and the Chinese for errors whose message has none.
RATING_LABELS = {"up": "有用", "down": "没用"}
_ERRORS_ZH = (
    (IndexMissingError, "还没有索引，请先运行 rag build。"),
    (IndexDamagedError, "索引文件已损坏，请运行 rag build --force 后重启服务。"),
    (IndexMismatchError, "索引与当前设置不符，请运行 rag build 后重启服务。"),
    (LLMError, "大模型调用失败，请稍后再试或改用抽取式回答。"),
    (ConfigError, "配置有误，请联系管理员（详情见服务日志）。"),
    (InputError, "输入有误，请修改后再试。"),
)


def chinese_message(message: str) -> str:
    """The Chinese half of a bilingual ``中文 / English`` message; "" when the message has no Chinese."""
    head = message.split(" / ", 1)[0].strip()
    return head if any("\u4e00" <= ch <= "\u9fff" for ch in head) else ""


def error_text(err: Exception) -> str:
    """What the chat page says about ``err``: its Chinese half, else a Chinese sentence for its kind."""
    if isinstance(err, InputError | ConfigError) and chinese_message(str(err)):
        return chinese_message(str(err))
    return next((zh for kind, zh in _ERRORS_ZH if isinstance(err, kind)), "无法回答这个问题，请稍后再试（详情见服务日志）。")


def esc(text: object) -> str:
    """``str(text)`` escaped for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def _anchor(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def _cite(turn: int, n: int) -> str:
    return f'<a class="rag-cite" href="#{_anchor(turn, n)}" title="查看来源 [{n}]">[{n}]</a>'


def question_html(question: str) -> str:
    """The user's question as a chat message."""
    return f'<div class="rag-q">{esc(question)}</div>'


def streaming_html(text: str) -> str:
    """Partial answer text while it streams (plain, escaped)."""
    return f'<div class="rag-answer rag-streaming">{esc(text)}<span class="rag-typing">▍</span></div>'


def error_html(message: str) -> str:
    """A chat message saying the question could not be answered, and why."""
    return f'<div class="rag-banner rag-error"><b>无法回答：</b>{esc(message)}</div>'


def _sentence_html(s: AnswerSentence, turn: int) -> str:
    if s.supported:
        cites = "".join(_cite(turn, n) for n in s.citations) if s.shows_citations else ""
        return f'<span class="rag-sent">{esc(s.shown)}{cites}</span>'
    return f'<span class="rag-sent rag-unsupported">{esc(s.shown)}</span>{UNVERIFIED_BADGE}'


def _sentences_html(answer: Answer, turn: int) -> str:
    """The answer sentence by sentence, paragraph by paragraph: cited ones with links, unsupported ones flagged."""
    return "<br>".join("".join(_sentence_html(s, turn) for s in group) for group in answer.paragraphs())


def notices_html(answer: Answer, requested_mode: str | None = None) -> str:
    """The LLM-fallback banner (when ``requested_mode`` was llm but the answer is not) and the answer's notices."""
    out = []
    if requested_mode == "llm" and answer.mode != "llm":
        out.append('<div class="rag-banner rag-fallback"><b>大模型调用失败，</b>以下为抽取式回答（原文摘录）。</div>')
    out += [f'<div class="rag-notice">注意：{esc(n)}</div>' for n in answer.notices]
    return "".join(out)


def copy_button(text: str, label: str, title: str) -> str:
    """A button that puts ``text`` on the clipboard (handled by ``static/ui.js``)."""
    return f'<button type="button" class="rag-copy" data-copy="{esc(text)}" title="{esc(title)}">{esc(label)}</button>'


def answer_html(answer: Answer, turn: int, requested_mode: str | None = None) -> str:
    """The final answer as a chat message: banner for abstentions, [n] links, badges, notices.

    An answer without sentences (only ever made by hand) shows its text as it is, escaped.
    The chat sanitizes messages (no buttons, no data attributes), so the button that copies this
    answer sits in its sources panel.
    """
    if answer.abstained:
        body = f'<div class="rag-banner rag-abstain"><b>未能作答。</b>{esc(answer.answer)}</div>'
    elif answer.sentences:
        body = f'<div class="rag-text-body">{_sentences_html(answer, turn)}</div>'
    else:
        body = f'<div class="rag-text-body">{esc(answer.answer).replace(chr(10), "<br>")}</div>'
    mode = "大模型" if answer.mode == "llm" else "抽取式"
    what = "已拒答" if answer.abstained else f"{mode}回答 · {len(answer.citations)} 个来源 · 点击 [n] 查看出处"
    foot = f'<div class="rag-foot">第 {turn} 问 · {what}<span class="rag-rated"></span></div>'
    return f'<div class="rag-answer">{body}{notices_html(answer, requested_mode)}{foot}</div>'


_RATED = re.compile(r'<span class="rag-rated">[^<]*</span>')


def with_rating(message: str, rating: str | None) -> str:
    """An answer message (from :func:`answer_html`) showing its current rating (``up``/``down``; None: none)."""
    label = f" · 您的评价：{RATING_LABELS[rating]}" if rating in RATING_LABELS else ""
    return _RATED.sub(f'<span class="rag-rated">{label}</span>', message, count=1)


def rating_target_html(answer: Answer | None, turn: int, rating: str | None = None) -> str:
    """Which answer the 有用/没用 buttons rate (the one whose sources are shown), and its current rating."""
    if answer is None:
        return '<div class="rag-rate-target rag-empty">提问后可评价回答：评价针对右侧正在显示来源的那一问。</div>'
    q = answer.question if len(answer.question) <= 30 else answer.question[:30] + "…"
    now = f"当前评价：<b>{RATING_LABELS[rating]}</b>（可改）" if rating in RATING_LABELS else "尚未评价"
    return f'<div class="rag-rate-target">评价第 {turn} 问「{esc(q)}」的回答 · {now}</div>'


def corpus_notice_html(report: dict) -> str:
    """Files the index left out (and why, in Chinese), and the metadata read from new files' text; "" when neither."""
    skipped, inferred = report.get("skipped") or [], report.get("inferred") or []
    out = []
    if skipped:
        items = "；".join(f"{esc(s.get('file', ''))}（{esc(s.get('reason_zh') or '无法读取')}）" for s in skipped)
        out.append(f'<div class="rag-banner rag-fallback rag-skipped"><b>有 {len(skipped)} 个文件未能收录：</b>{items}。'
                   "其余文件照常检索；修正后运行 rag build。</div>")
    if inferred:
        names = {"title": "标题", "issuer": "发文单位", "date": "日期", "number": "文号"}
        rows = []
        for r in inferred:
            facts = "，".join(f"{names[k]}：{esc(r[k])}" for k in names if k in r.get("from", {}))
            rows.append(f"<li>{esc(r.get('file', ''))}：{facts or '正文中未找到'}</li>")
        out.append('<details class="rag-notice rag-inferred"><summary>'
                   f"{len(inferred)} 个文件未在目录（catalog.toml）中登记，其信息取自正文</summary><ul>{''.join(rows)}</ul></details>")
    return "".join(out)


def highlighted_text(text: str, quote: str, spans: Sequence[tuple[int, int]] = ()) -> str:
    """``text`` escaped, with exactly the cited ``spans`` (else the first occurrence of ``quote``) in ``<mark>``."""
    if not spans:
        at = text.find(quote) if quote else -1
        spans = [(at, at + len(quote))] if at >= 0 else []
    out, pos = [], 0
    for s, e in sorted(spans):
        if s < pos or e > len(text):
            continue
        out.append(f"{esc(text[pos:s])}<mark>{esc(text[s:e])}</mark>")
        pos = e
    return "".join(out) + esc(text[pos:])


def source_html(c: Citation, turn: int, highlight: bool = True, open_: bool = False, flag: str = "") -> str:
    """One source: title, issuer, date, heading path, the paragraph with its quote marked, memo copy;
    ``flag``: why the passage looks like an instruction (shown as a warning above it)."""
    meta = " · ".join(esc(x) for x in (c.issuer, c.date) if x)
    meta = f' <span class="rag-meta">{meta}</span>' if meta else ""
    path = esc(heading_label(c.heading_path)) or "（正文）"
    text = highlighted_text(c.text, c.quote, c.spans) if highlight else esc(c.text)
    memo = esc(c.memo)
    return (
        f'<details class="rag-source" id="{_anchor(turn, c.n)}"{" open" if open_ else ""}>'
        f'<summary><span class="rag-n">[{c.n}]</span> <span class="rag-title">{esc(c.title)}</span>'
        f"{meta}</summary>"
        f'<div class="rag-path">{path}</div>'
        f"{flag_html(flag)}"
        f'<div class="rag-para">{text}</div>'
        f'<div class="rag-memo"><div class="rag-memo-text">{memo}</div>'
        f'{copy_button(c.memo, "复制引文", "复制可直接粘贴进公文的引文")}</div>'
        f'<div class="rag-id">段落 {esc(c.chunk_id)}</div>'
        "</details>"
    )


def sources_html(answer: Answer | None, turn: int = 0) -> str:
    """The sources panel for one answer (``None``: the empty panel), with a copy-answer button."""
    if answer is None:
        return '<div class="rag-empty">提问后，这里显示回答所引的原文段落。</div>'
    copy = copy_button(answer_to_text(answer), "复制回答（含来源）", "复制回答正文和来源，纯文本")
    head = f'<div class="rag-sources-head"><span>第 {turn} 问：{esc(answer.question)}</span>{copy}</div>'
    if not answer.citations:
        return head + '<div class="rag-empty">这个回答没有来源段落。</div>'
    if answer.abstained:
        head += '<div class="rag-banner rag-abstain">未能作答：以下是最接近的段落，仅供参考，不是答案的出处。</div>'
    chunks = {r.chunk.id: r.chunk for r in answer.retrieved}
    items = "".join(source_html(c, turn, highlight=not answer.abstained,
                                flag=flag_reason(chunks[c.chunk_id]) if c.chunk_id in chunks else "")
                    for c in answer.citations)
    return f'<div class="rag-sources">{head}{items}</div>'


def _rank_cell(rank: int | None, score: float | None) -> str:
    if rank is None:
        return '<td class="rag-num rag-na">—</td>'
    return f'<td class="rag-num">{rank}<small>（{score:.3f}）</small></td>' if score is not None else f'<td class="rag-num">{rank}</td>'


def retrieval_html(retrieved: Sequence[ScoredChunk], cited: dict[str, int] | None = None, snippet: int = 80,
                   query: str = "") -> str:
    """The ranked passages with per-retriever ranks/scores and the fused score.

    ``cited`` maps chunk ids to the [n] the answer gave them, so one sees which passages were used;
    ``query`` is what retrieval searched for when it differs from the question (LLM mode's rewrite).
    """
    if not retrieved:
        return '<div class="rag-empty">提问后，这里显示检索到的段落及其 BM25、向量与融合排名。</div>'
    cited = cited or {}
    names: list[str] = []
    for r in retrieved:  # a retriever that ranked none of them (dense when it is off) gets no column
        names += [k for k, v in r.ranks.items() if k not in names and v is not None]
    head = "".join(f'<th class="rag-num">{esc(RETRIEVER_LABELS.get(k, k))} 名次（分数）</th>' for k in names)
    rows = []
    for i, r in enumerate(retrieved, 1):
        c = r.chunk
        text = c.text if len(c.text) <= snippet else c.text[:snippet] + "…"
        used = f'<span class="rag-used">[{cited[c.id]}]</span>' if c.id in cited else ""
        cells = "".join(_rank_cell(r.ranks.get(k), r.scores.get(k)) for k in names)
        reason = flag_reason(c)
        rows.append(
            ('<tr class="rag-flagged">' if reason else "<tr>") + f'<td class="rag-num">{i}</td>'
            f'<td class="rag-num">{r.score:.4f}</td>{cells}'
            f'<td>{used}<b>{esc(c.title)}</b><br><small>{esc(heading_label(c.heading_path))}</small>{flag_html(reason)}'
            f'<br>{esc(text)}<br><small class="rag-id">{esc(c.id)}</small></td></tr>'
        )
    note = ('<div class="rag-foot">融合分数：各检索器名次的加权倒数排名融合（RRF）；“—”表示该检索器未检出该段落'
            '（未启用的检索器不列出）；[n] 表示该段落被回答引用；标有“疑似指令性文字”的段落不作为回答依据。</div>')
    searched = (f'<div class="rag-query">检索用语（大模型改写）：{esc(query)}</div>' if query else "")
    return (f'{searched}<table class="rag-retrieval"><thead><tr>'
            f'<th class="rag-num">融合名次</th><th class="rag-num">融合分数</th>'
            f'{head}<th>段落</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{note}')


def cited_ids(answer: Answer) -> dict[str, int]:
    """Chunk id -> the [n] the answer gave it (empty for an abstention, whose sources are not cited)."""
    return {c.chunk_id: c.n for c in answer.citations} if not answer.abstained else {}
