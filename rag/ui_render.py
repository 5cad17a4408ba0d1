"""HTML for the chat UI: answers, sources and the retrieval view. Pure functions, no Gradio.

Every piece of document text and user input passes through :func:`html.escape` before it
is put into markup, so a document containing ``<script>`` shows it as text. The markup uses
``rag-*`` classes styled by :data:`CSS`; element ids ``src-{turn}-{n}`` tie the ``[n]``
markers of answer ``turn`` to its entries in the sources panel (see :data:`JS`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from .render import answer_to_text
from .types import Answer, Citation, ScoredChunk

UNVERIFIED_BADGE = '<span class="rag-badge" title="这句话未能在所引段落中核实，请勿直接引用">未经核实</span>'
_MARKER = re.compile(r"\[(\d+)\]|〔未核实〕")
# Retriever names as staff read them; unknown names (e.g. a reranker) show as they are.
RETRIEVER_LABELS = {"bm25": "BM25", "dense": "向量", "rerank": "重排"}


def esc(text: object) -> str:
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
    return f'<div class="rag-banner rag-error"><b>无法回答：</b>{esc(message)}</div>'


def _marked_text(text: str, turn: int) -> str:
    """Escape ``text`` and turn its ``[n]`` markers and 〔未核实〕 marks into links and badges."""
    out, pos = [], 0
    for m in _MARKER.finditer(text):
        out.append(esc(text[pos:m.start()]))
        out.append(_cite(turn, int(m.group(1))) if m.group(1) else UNVERIFIED_BADGE)
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def _sentences_html(answer: Answer, turn: int) -> str:
    """The answer sentence by sentence: cited ones with links, unsupported ones flagged.

    Paragraph breaks come from ``answer.answer``, which holds the same sentences in order;
    when a sentence cannot be found there the text is rendered from its markers instead.
    """
    parts, pos = [], 0
    for s in answer.sentences:
        at = answer.answer.find(s.text, pos)
        if at < 0:
            return _marked_text(answer.answer, turn)
        if parts and "\n" in answer.answer[pos:at]:
            parts.append("<br>")
        pos = at + len(s.text)
        if s.supported:
            cites = "".join(_cite(turn, n) for n in s.citations)
            parts.append(f'<span class="rag-sent">{esc(s.text)}{cites}</span>')
        else:
            parts.append(f'<span class="rag-sent rag-unsupported">{esc(s.text)}</span>{UNVERIFIED_BADGE}')
    return "".join(parts)


def notices_html(answer: Answer, requested_mode: str | None = None) -> str:
    out = []
    if requested_mode == "llm" and answer.mode != "llm":
        out.append('<div class="rag-banner rag-fallback"><b>大模型调用失败，</b>以下为抽取式回答（原文摘录）。</div>')
    out += [f'<div class="rag-notice">注意：{esc(n)}</div>' for n in answer.notices]
    return "".join(out)


def copy_button(text: str, label: str, title: str) -> str:
    """A button that puts ``text`` on the clipboard (handled by :data:`JS`)."""
    return f'<button type="button" class="rag-copy" data-copy="{esc(text)}" title="{esc(title)}">{esc(label)}</button>'


def answer_html(answer: Answer, turn: int, requested_mode: str | None = None) -> str:
    """The final answer as a chat message: banner for abstentions, [n] links, badges, notices.

    The chat sanitizes messages (no buttons, no data attributes), so the button that copies this
    answer sits in its sources panel.
    """
    if answer.abstained:
        body = f'<div class="rag-banner rag-abstain"><b>未能作答。</b>{esc(answer.answer)}</div>'
    elif answer.sentences:
        body = f'<div class="rag-text-body">{_sentences_html(answer, turn)}</div>'
    else:
        body = f'<div class="rag-text-body">{_marked_text(answer.answer, turn)}</div>'
    mode = "大模型" if answer.mode == "llm" else "抽取式"
    what = "已拒答" if answer.abstained else f"{mode}回答 · {len(answer.citations)} 个来源 · 点击 [n] 查看出处"
    foot = f'<div class="rag-foot">{what}</div>'
    return f'<div class="rag-answer">{body}{notices_html(answer, requested_mode)}{foot}</div>'


def highlighted_text(text: str, quote: str) -> str:
    """``text`` escaped, with the first occurrence of ``quote`` wrapped in ``<mark>``."""
    at = text.find(quote) if quote else -1
    if at < 0:
        return esc(text)
    end = at + len(quote)
    return f"{esc(text[:at])}<mark>{esc(text[at:end])}</mark>{esc(text[end:])}"


def source_html(c: Citation, turn: int, highlight: bool = True, open_: bool = False) -> str:
    """One source: title, issuer, date, heading path, the paragraph with its quote marked, memo copy."""
    meta = " · ".join(esc(x) for x in (c.issuer, c.date) if x)
    meta = f' <span class="rag-meta">{meta}</span>' if meta else ""
    path = " › ".join(esc(h) for h in c.heading_path) or "（正文）"
    text = highlighted_text(c.text, c.quote) if highlight else esc(c.text)
    memo = esc(c.memo)
    return (
        f'<details class="rag-source" id="{_anchor(turn, c.n)}"{" open" if open_ else ""}>'
        f'<summary><span class="rag-n">[{c.n}]</span> <span class="rag-title">{esc(c.title)}</span>'
        f"{meta}</summary>"
        f'<div class="rag-path">{path}</div>'
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
    items = "".join(source_html(c, turn, highlight=not answer.abstained) for c in answer.citations)
    return f'<div class="rag-sources">{head}{items}</div>'


def _rank_cell(rank: int | None, score: float | None) -> str:
    if rank is None:
        return '<td class="rag-num rag-na">—</td>'
    return f'<td class="rag-num">{rank}<small>（{score:.3f}）</small></td>' if score is not None else f'<td class="rag-num">{rank}</td>'


def retrieval_html(retrieved: Sequence[ScoredChunk], cited: dict[str, int] | None = None, snippet: int = 80) -> str:
    """The ranked passages with per-retriever ranks/scores and the fused score.

    ``cited`` maps chunk ids to the [n] the answer gave them, so one sees which passages were used.
    """
    if not retrieved:
        return '<div class="rag-empty">提问后，这里显示检索到的段落及其 BM25、向量与融合排名。</div>'
    cited = cited or {}
    names: list[str] = []
    for r in retrieved:
        names += [k for k in r.ranks if k not in names]
    head = "".join(f"<th>{esc(RETRIEVER_LABELS.get(k, k))} 名次（分数）</th>" for k in names)
    rows = []
    for i, r in enumerate(retrieved, 1):
        c = r.chunk
        text = c.text if len(c.text) <= snippet else c.text[:snippet] + "…"
        used = f'<span class="rag-used">[{cited[c.id]}]</span>' if c.id in cited else ""
        cells = "".join(_rank_cell(r.ranks.get(k), r.scores.get(k)) for k in names)
        rows.append(
            f'<tr><td class="rag-num">{i}</td><td class="rag-num">{r.score:.4f}</td>{cells}'
            f'<td>{used}<b>{esc(c.title)}</b><br><small>{esc(" › ".join(c.heading_path))}</small>'
            f'<br>{esc(text)}<br><small class="rag-id">{esc(c.id)}</small></td></tr>'
        )
    note = ('<div class="rag-foot">融合分数：各检索器名次的加权倒数排名融合（RRF）；“—”表示该检索器未检出或未启用；'
            '[n] 表示该段落被回答引用。</div>')
    return (f'<table class="rag-retrieval"><thead><tr><th>融合名次</th><th>融合分数</th>{head}<th>段落</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{note}')


def cited_ids(answer: Answer) -> dict[str, int]:
    return {c.chunk_id: c.n for c in answer.citations} if not answer.abstained else {}


# Styling for the markup above (passed to gr.mount_gradio_app(css=...)).
CSS = """
.rag-answer { line-height: 1.75; }
.rag-streaming { white-space: pre-wrap; color: var(--body-text-color-subdued); }
.rag-typing { animation: rag-blink 1s step-start infinite; }
@keyframes rag-blink { 50% { opacity: 0; } }
a.rag-cite { font-size: 0.8em; vertical-align: super; text-decoration: none; color: #1d4ed8; font-weight: 600;
  padding: 0 1px; cursor: pointer; }
a.rag-cite:hover { text-decoration: underline; }
.rag-unsupported { background: #fff3cd; text-decoration: underline dotted #b45309; }
.rag-badge { display: inline-block; font-size: 0.75em; line-height: 1.4; padding: 0 6px; margin: 0 2px;
  border-radius: 8px; background: #b45309; color: #fff; vertical-align: middle; }
.rag-banner { padding: 8px 12px; border-radius: 6px; margin: 4px 0; border-left: 4px solid; }
.rag-abstain { background: #fef2f2; border-color: #dc2626; color: #7f1d1d; }
.rag-error { background: #fef2f2; border-color: #dc2626; color: #7f1d1d; }
.rag-fallback { background: #fff7ed; border-color: #ea580c; color: #7c2d12; }
.rag-notice { font-size: 0.85em; color: #92400e; margin-top: 4px; }
.rag-foot { font-size: 0.8em; color: var(--body-text-color-subdued); margin-top: 6px; }
.rag-sources-head { font-weight: 600; margin-bottom: 6px; display: flex; justify-content: space-between;
  align-items: flex-start; gap: 8px; }
.rag-empty { color: var(--body-text-color-subdued); padding: 12px 4px; }
details.rag-source { border: 1px solid var(--border-color-primary); border-radius: 6px; margin: 6px 0;
  padding: 6px 10px; background: var(--background-fill-primary); }
details.rag-source[open] { border-color: #1d4ed8; }
details.rag-source.rag-flash { box-shadow: 0 0 0 3px #93c5fd; }
details.rag-source summary { cursor: pointer; }
.rag-n { color: #1d4ed8; font-weight: 700; }
.rag-title { font-weight: 600; }
.rag-meta, .rag-path, .rag-id { color: var(--body-text-color-subdued); font-size: 0.85em; }
.rag-path { margin: 4px 0; }
.rag-para { white-space: pre-wrap; line-height: 1.7; margin: 6px 0; }
.rag-para mark { background: #fde68a; color: inherit; padding: 0 1px; }
.rag-memo { display: flex; gap: 8px; align-items: flex-start; background: var(--background-fill-secondary);
  border-radius: 4px; padding: 6px 8px; font-size: 0.85em; }
.rag-memo-text { flex: 1; max-height: 6em; overflow: auto; }
button.rag-copy { flex: none; border: 1px solid #1d4ed8; color: #1d4ed8; background: #fff; border-radius: 4px;
  padding: 1px 8px; cursor: pointer; font-size: 0.85rem; line-height: 1.5; }
button.rag-copy.rag-copied { background: #1d4ed8; color: #fff; }
table.rag-retrieval { width: 100%; border-collapse: collapse; font-size: 0.85em; }
table.rag-retrieval th, table.rag-retrieval td { border-bottom: 1px solid var(--border-color-primary);
  padding: 4px 6px; vertical-align: top; text-align: left; }
.rag-num { white-space: nowrap; font-variant-numeric: tabular-nums; }
.rag-na { color: var(--body-text-color-subdued); }
.rag-used { color: #fff; background: #1d4ed8; border-radius: 4px; padding: 0 4px; margin-right: 4px; }
"""

# Page-level behaviour, run once on load (gr.mount_gradio_app(js=...)): [n] links open and scroll to
# their source (waiting briefly when the panel is being switched to another answer), and copy buttons
# put their text (an answer, a memo citation) on the clipboard (with a fallback for plain-http pages).
JS = """
() => {
  function openSource(id, tries) {
    const el = document.getElementById(id);
    if (!el) { if (tries > 0) setTimeout(() => openSource(id, tries - 1), 100); return; }
    el.open = true;
    el.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    el.classList.add('rag-flash');
    setTimeout(() => el.classList.remove('rag-flash'), 1200);
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const ta = document.createElement('textarea');
    ta.value = text; ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    try { document.execCommand('copy'); } finally { ta.remove(); }
    return Promise.resolve();
  }
  document.addEventListener('click', (ev) => {
    const cite = ev.target.closest && ev.target.closest('a.rag-cite');
    if (cite) {
      ev.preventDefault();
      openSource((cite.getAttribute('href') || '').replace(/^#/, ''), 30);
      return;
    }
    const btn = ev.target.closest && ev.target.closest('button.rag-copy');
    if (btn) {
      ev.preventDefault();
      ev.stopPropagation();
      const label = btn.dataset.label || (btn.dataset.label = btn.textContent);
      copyText(btn.dataset.copy || '').then(() => {
        btn.textContent = '已复制'; btn.classList.add('rag-copied');
        setTimeout(() => { btn.textContent = label; btn.classList.remove('rag-copied'); }, 1500);
      }, () => { btn.textContent = '复制失败'; });
    }
  }, true);
}
"""
