"""Pure HTML rendering for the UI: escaping, quote highlight, unsupported and abstention marks, structure."""

from __future__ import annotations

from html import escape as html_escape
from importlib.resources import files

from rag.answer.base import Draft, verify_draft
from rag.answer.verify import CitedSentence
from rag.export import answer_to_markdown, answer_to_text
from rag.serve.html import (
    UNVERIFIED_BADGE,
    answer_html,
    highlighted_text,
    question_html,
    retrieval_html,
    sources_html,
    streaming_html,
)
from rag.types import Answer, AnswerSentence, Chunk, Citation, ScoredChunk

from .answer_fixtures import DOCUMENTS, PILOT, QZ_REWARD, scored

TEXT = "对试点县给予专项资金支持，每个试点县补助500万元。优先保障项目用地。"
QUOTE = "每个试点县补助500万元。"


def citation(n=1, text=TEXT, quote=QUOTE, title="泉州行动方案") -> Citation:
    return Citation(n=n, chunk_id=f"plan:p{n:04d}", doc="plan", title=title, issuer="泉州市人民政府", date="2024",
                    heading_path=("二、支持政策", "（一）资金"), quote=quote, text=text,
                    memo=f"《{title}》（泉州市人民政府，2024年）“二、支持政策 › （一）资金”：“{quote}”")


def supported_answer() -> Answer:
    return Answer(
        question="试点县有什么支持？",
        answer="每个试点县补助500万元。[1]\n另有<b>神秘</b>奖励。〔未核实〕",
        abstained=False, mode="extractive",
        sentences=(AnswerSentence("每个试点县补助500万元。", (1,), True, paragraph=0),
                   AnswerSentence("另有<b>神秘</b>奖励。", (), False, paragraph=1)),
        citations=(citation(),),
        notices=("第2句未能在所引段落中核实，已标注为未核实。",),
    )


def test_question_and_streaming_text_are_escaped():
    assert question_html("<img src=x onerror=alert(1)>补助？") == \
        '<div class="rag-q">&lt;img src=x onerror=alert(1)&gt;补助？</div>'
    assert "&lt;script&gt;" in streaming_html("<script>")


def test_answer_links_citations_and_flags_unsupported_sentences():
    html = answer_html(supported_answer(), turn=3)
    assert '<span class="rag-sent">每个试点县补助500万元。<a class="rag-cite" href="#src-3-1" title="查看来源 [1]">[1]</a></span>' in html
    assert '<br><span class="rag-sent rag-unsupported">另有&lt;b&gt;神秘&lt;/b&gt;奖励。</span>' + UNVERIFIED_BADGE in html
    assert "未经核实" in html and "<b>神秘" not in html
    assert '<div class="rag-notice">注意：第2句未能在所引段落中核实，已标注为未核实。</div>' in html
    assert "rag-abstain" not in html and "rag-fallback" not in html
    # the sources panel copies the whole answer as plain text with its memo-ready sources
    assert f'data-copy="{html_escape(answer_to_text(supported_answer()))}"' in sources_html(supported_answer(), 3)


def test_answer_is_rendered_from_its_sentences_never_by_parsing_the_text():
    # a sentence quoting "[2]" and "〔未核实〕" verbatim, the same sentence twice, and a paragraph break
    quoted = "按附表[2]〔未核实〕执行。"
    a = Answer(question="q", answer="（正文不会被解析）[9]", abstained=False, mode="extractive",
               sentences=(AnswerSentence(quoted, (1,), True, 0), AnswerSentence(quoted, (2,), True, 0),
                          AnswerSentence("甲乙。", (), False, 1)),
               citations=(citation(1), citation(2)))
    html = answer_html(a, turn=4)
    sent = '<span class="rag-sent">按附表[2]〔未核实〕执行。{}</span>'
    link = '<a class="rag-cite" href="#src-4-{n}" title="查看来源 [{n}]">[{n}]</a>'
    body = (sent.format(link.format(n=1)) + sent.format(link.format(n=2)) + "<br>"
            + '<span class="rag-sent rag-unsupported">甲乙。</span>' + UNVERIFIED_BADGE)
    assert f'<div class="rag-text-body">{body}</div>' in html
    assert html.count('class="rag-cite"') == 2 and "src-4-9" not in html and "正文不会被解析" not in html
    assert html.count(UNVERIFIED_BADGE) == 1  # the quoted mark stays text


def test_verified_answer_carries_its_paragraphs_and_renders_them():
    draft = Draft("问", "extractive", (CitedSentence("由市财政分别给予一次性配套300万元、200万元、100万元奖励。", (3,)),
                                     CitedSentence("省工信厅梳理试点县需求清单52项。", (1,))),
                  {1: PILOT, 3: QZ_REWARD}, tuple(scored(PILOT, QZ_REWARD)), separators=("", "\n"))
    a = verify_draft(draft, DOCUMENTS)
    assert [(s.citations, s.paragraph) for s in a.sentences] == [((1,), 0), ((2,), 1)]
    assert a.answer == "由市财政分别给予一次性配套300万元、200万元、100万元奖励。[1]\n省工信厅梳理试点县需求清单52项。[2]"
    html = answer_html(a, turn=1)
    assert 'href="#src-1-1" title="查看来源 [1]">[1]</a></span><br><span class="rag-sent">省工信厅' in html
    assert "奖励。[1]\n\n省工信厅梳理试点县需求清单52项。[2]" in answer_to_markdown(a)


def test_answer_without_sentences_shows_its_text_escaped():
    a = Answer(question="q", answer="甲[1]<i>乙</i>\n丙", abstained=False, mode="llm")
    html = answer_html(a, turn=1)
    assert '<div class="rag-text-body">甲[1]&lt;i&gt;乙&lt;/i&gt;<br>丙</div>' in html
    assert "rag-cite" not in html


def test_page_styling_and_behaviour_are_package_data():
    static = files("rag.serve").joinpath("static")
    css, js = static.joinpath("ui.css").read_text(encoding="utf-8"), static.joinpath("ui.js").read_text(encoding="utf-8")
    assert "a.rag-cite" in css and ".rag-badge" in css and "details.rag-source" in css
    assert js.startswith("() => {") and "a.rag-cite" in js and "button.rag-copy" in js


def test_abstention_has_a_banner_and_sources_are_not_highlighted():
    a = Answer(question="上海有补贴吗？", answer="文件中未找到能回答“上海有补贴吗？”的内容。以下是最接近的段落，仅供参考。",
               abstained=True, mode="extractive", citations=(citation(quote=TEXT),))
    html = answer_html(a, turn=1)
    assert '<div class="rag-banner rag-abstain"><b>未能作答。</b>文件中未找到' in html
    panel = sources_html(a, 1)
    assert "最接近的段落，仅供参考，不是答案的出处" in panel
    assert "<mark>" not in panel


def test_llm_fallback_notice_is_shown():
    a = Answer(question="q", answer="甲。[1]", abstained=False, mode="extractive",
               sentences=(AnswerSentence("甲。", (1,), True),), notices=("大模型请求超时，已改用抽取式回答。",))
    html = answer_html(a, turn=1, requested_mode="llm")
    assert "rag-fallback" in html and "大模型调用失败" in html
    assert "大模型请求超时" in html
    assert "rag-fallback" not in answer_html(a, turn=1, requested_mode="extractive")


def test_highlight_marks_the_quote_and_escapes_around_it():
    assert highlighted_text("<a>前文。" + QUOTE + "后文&。", QUOTE) == \
        "&lt;a&gt;前文。<mark>每个试点县补助500万元。</mark>后文&amp;。"
    assert highlighted_text("没有引文<x>", "不在其中") == "没有引文&lt;x&gt;"
    assert highlighted_text("a<b>c", "<b>") == "a<mark>&lt;b&gt;</mark>c"


def test_source_panel_shows_metadata_path_highlight_and_escaped_memo():
    evil = citation(title='方案"><script>alert(1)</script>', text="<script>alert(1)</script>" + TEXT)
    panel = sources_html(Answer("试点县<有>什么支持？", "x", False, "extractive", citations=(evil,)), 2)
    assert '<details class="rag-source" id="src-2-1">' in panel
    assert "第 2 问：试点县&lt;有&gt;什么支持？" in panel
    assert '<span class="rag-meta">泉州市人民政府 · 2024</span>' in panel
    assert "二、支持政策 › （一）资金" in panel
    assert "<mark>每个试点县补助500万元。</mark>" in panel
    assert "<script" not in panel and panel.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 5  # title, text, memo, its copy, answer copy
    assert 'data-copy="《方案&quot;&gt;&lt;script&gt;' in panel  # attribute value cannot be broken out of


def test_empty_states():
    assert "提问后" in sources_html(None)
    assert "提问后" in retrieval_html(())


def test_retrieval_view_shows_fused_and_per_retriever_ranks():
    def sc(cid, text, score, ranks, scores):
        return ScoredChunk(Chunk(cid, "plan", "泉州<方案>", ("二、支持政策",), "text", text, 0, len(text)),
                           score, ranks, scores)

    rows = [sc("plan:p1", "第一段<b>", 0.0325, {"bm25": 1, "dense": 2}, {"bm25": 7.5, "dense": 0.61}),
            sc("plan:p2", "第二段" * 40, 0.0161, {"bm25": None, "dense": 1}, {"bm25": None, "dense": 0.7})]
    html = retrieval_html(rows, cited={"plan:p1": 1})
    assert '<th class="rag-num">BM25 名次（分数）</th><th class="rag-num">向量 名次（分数）</th>' in html
    assert '<td class="rag-num">1</td><td class="rag-num">0.0325</td><td class="rag-num">1<small>（7.500）</small></td>' in html
    assert '<td class="rag-num rag-na">—</td><td class="rag-num">1<small>（0.700）</small></td>' in html
    assert '<span class="rag-used">[1]</span><b>泉州&lt;方案&gt;</b>' in html
    assert "第一段&lt;b&gt;" in html and "…" in html  # long passages are cut
    # a retriever that ranked none of the passages (dense when it is off) gets no column
    bm25_only = [sc("plan:p1", "第一段", 0.03, {"bm25": 1, "dense": None}, {"bm25": 7.5, "dense": None})]
    html = retrieval_html(bm25_only)
    assert "BM25 名次" in html and "向量" not in html and "rag-na" not in html
