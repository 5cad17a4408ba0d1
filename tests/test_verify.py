"""Citation parsing, support checks, sentence splitting and memo rendering on hand-made chunks."""

from __future__ import annotations

from rag.answer.base import Draft, verify_draft
from rag.answer.citations import format_date, memo_line
from rag.answer.verify import CitedSentence, check_sentence, facts, parse_cited_sentences, verify_sentences
from rag.export import answer_to_markdown, answer_to_text
from rag.text import split_sentences

from .answer_fixtures import DOCUMENTS, NEWS_TECH, PILOT, QZ_REWARD, WP, scored


def test_parse_markers_in_every_common_form():
    text = "甲句内容很长[1]。乙句内容很长。[2][3]\n- 丙句内容很长【4】；丁句内容[1, 5]。"
    got = parse_cited_sentences(text)
    assert [(s.text, s.citations) for s in got] == [
        ("甲句内容很长。", (1,)), ("乙句内容很长。", (2, 3)), ("丙句内容很长；丁句内容。", (4, 1, 5)),
    ]


def test_sentence_spans_are_verbatim_and_keep_closing_quotes():
    text = "他说：“要坚持因地制宜。”随后提出目标；一是强链。\n二是补齐短板！好。"
    spans = split_sentences(text)  # "好。" is too short to stand alone
    assert [s.text for s in spans] == ["他说：“要坚持因地制宜。”", "随后提出目标；一是强链。", "二是补齐短板！好。"]
    assert all(text[s.start:s.end] == s.text for s in spans)
    clauses = split_sentences("一是加强链条建设；二是补齐短板弱项。", clauses=True)
    assert [s.text for s in clauses] == ["一是加强链条建设；", "二是补齐短板弱项。"]


def test_facts_cover_numbers_percentages_and_dates():
    assert facts("2024年6月起，占比28.8%，新增1,257家") == ["2024年6月", "28.8%", "1257"]


def test_support_needs_words_and_every_number():
    assert check_sentence("省工信厅梳理试点县需求清单52项", [PILOT.text]).supported
    wrong = check_sentence("省工信厅梳理试点县需求清单25项", [PILOT.text])
    assert not wrong.supported and wrong.missing_facts == ("25项",) or "25" in wrong.missing_facts
    assert not check_sentence("试点县得到了中央财政的大额补贴和税收减免", [PILOT.text]).supported
    assert not check_sentence("由市财政给予一次性配套300万元奖励", [PILOT.text]).supported
    assert check_sentence("由市财政分别给予一次性配套300万元、200万元、100万元奖励", [QZ_REWARD.text]).supported


def test_traditional_source_supports_a_simplified_sentence():
    assert check_sentence("省科技厅启动省科技特派团服务重点产业链专项行动，围绕24条县域重点产业链发布技术需求榜单",
                          [NEWS_TECH.text]).supported


def test_unknown_ids_removed_and_reported():
    v = verify_sentences([CitedSentence("省工信厅梳理试点县需求清单52项。", (1, 4))], {1: PILOT})
    assert v.unknown_ids == (4,) and v.sentences[0].citations == (1,) and v.sentences[0].supported


def test_verified_draft_renumbers_and_renders_memo_citations():
    draft = Draft("问", "llm", [CitedSentence("由市财政分别给予一次性配套300万元、200万元、100万元奖励。", (3,)),
                               CitedSentence("省工信厅梳理试点县需求清单52项。", (1,))],
                  {1: PILOT, 3: QZ_REWARD}, tuple(scored(PILOT, NEWS_TECH, QZ_REWARD)))
    a = verify_draft(draft, DOCUMENTS)
    assert a.answer.endswith("奖励。[1]省工信厅梳理试点县需求清单52项。[2]")
    assert [(c.n, c.chunk_id) for c in a.citations] == [(1, QZ_REWARD.id), (2, PILOT.id)]
    assert a.citations[0].memo == (
        "《泉州市加快推进县域重点产业链高质量发展行动方案（送审稿）》（泉州市人民政府办公室，2024年）"
        "“三、保障机制 › 23.落实正向激励”：“落实全省县域重点产业链发展综合评价办法和指标体系，对获评全省县域重点产业链"
        "高质量发展优秀奖的县域，按（三类县域）档次由市财政分别给予一次性配套300万元、200万元、100万元奖励。”"
    )
    text = answer_to_text(a)
    assert "来源：" in text and "[2] 《福建省县域重点产业链发展白皮书（2024）》" in text
    md = answer_to_markdown(a)
    assert md.startswith("## 问") and "### 来源" in md and PILOT.id in md


def test_memo_format_and_dates():
    assert format_date("2024-12") == "2024年12月" and format_date("2021-06-29") == "2021年6月29日"
    assert format_date("2024") == "2024年" and format_date("") == ""
    memo = memo_line(PILOT, WP, "省工信厅梳理试点县需求清单52项")
    assert memo == ("《福建省县域重点产业链发展白皮书（2024）》（福建省工业和信息化厅，2024年12月）"
                    "“二、福建省县域重点产业链发展取得新进展 › （三）县域重点产业链工作加速推进 › 4.推进试点先行，打造示范样板”："
                    "“省工信厅梳理试点县需求清单52项”")
