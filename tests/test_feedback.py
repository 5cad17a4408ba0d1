"""Feedback storage (append_feedback) and promotion to draft gold items (promote_feedback)."""

from __future__ import annotations

import json

import pytest

from rag.errors import InputError
from rag.eval.feedback import append_feedback, promote_feedback, trim_quote
from rag.eval.gold import read_gold
from rag.settings import Settings

CITATION = {
    "n": 1,
    "chunk_id": "quanzhou-action-plan:p0030",
    "doc": "quanzhou-action-plan",
    "quote": "经认定的按非财政资金购置设备软件费用的30%，给予不超过500万元补助。",
    "text": "9.建设产业链中试孵化平台。……经认定的按非财政资金购置设备软件费用的30%，给予不超过500万元补助。",
}


@pytest.fixture
def settings(tmp_path):
    return Settings.load(overrides={"data_dir": tmp_path / "data"}, env={})


def test_append_writes_one_json_line_per_record(settings):
    path = append_feedback(settings, {"question": "中试平台补助多少？", "answer": "不超过500万元[1]", "rating": "up",
                                      "comment": "准确", "citations": [CITATION], "mode": "extractive"})
    append_feedback(settings, {"question": "寿宁县的重点产业链？", "answer": "", "rating": "down", "abstained": True})
    assert path == settings.data_dir / "feedback.jsonl"
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [x["rating"] for x in lines] == ["up", "down"]
    assert lines[0]["comment"] == "准确" and lines[0]["citations"][0]["chunk_id"] == CITATION["chunk_id"]
    assert lines[1]["comment"] == "" and lines[1]["citations"] == [] and lines[1]["timestamp"]
    assert "中试平台补助多少？" in path.read_text(encoding="utf-8")  # stored readable, not \\u-escaped


@pytest.mark.parametrize("record, message", [
    ({"question": "q", "rating": "meh"}, "rating 'meh' is not valid; choose one of up, down"),
    ({"question": " ", "rating": "up"}, "needs the question"),
    ({"question": "q", "rating": "up", "citations": "x"}, "citations must be a list"),
])
def test_append_rejects_bad_records(settings, record, message):
    with pytest.raises(InputError, match=message):
        append_feedback(settings, record)


def test_trim_quote_returns_a_verbatim_8_to_40_char_piece():
    q = trim_quote(CITATION["quote"])
    assert q == "经认定的按非财政资金购置设备软件费用的30%，给予不超过500万元补助"
    assert 8 <= len(q) <= 40 and q in CITATION["quote"]
    long = "对入选中华全国工商业联合会当年度发布的“中国民营企业500强”企业由市级财政每家给予500万元一次性奖励"
    assert trim_quote(long) == long[:40]
    assert trim_quote("短句。") is None
    heading = "9.建设产业链中试孵化平台。支持县域企业、高校院所、园区基地围绕县域重点产业链建设中试平台，经认定的按非财政资金购置设备软件费用的30%，给予不超过500万元补助。"
    assert trim_quote(heading) == "经认定的按非财政资金购置设备软件费用的30%，给予不超过500万元补助"  # the fact, not the heading


def test_promote_turns_feedback_into_valid_draft_gold_items(settings, tmp_path):
    append_feedback(settings, {"question": "中试平台补助多少？", "answer": "不超过500万元[1]", "rating": "up",
                               "citations": [CITATION, CITATION], "mode": "extractive", "timestamp": "t1"})
    append_feedback(settings, {"question": "泉州单项冠军奖励多少？", "answer": "50万元", "rating": "down",
                               "comment": "漏了配套", "citations": [CITATION], "timestamp": "t2"})
    append_feedback(settings, {"question": "寿宁县的重点产业链？", "answer": "文件中未找到", "rating": "down",
                               "abstained": True, "citations": [], "timestamp": "t3"})
    append_feedback(settings, {"question": "中试平台补助多少？", "answer": "500万元", "rating": "up", "timestamp": "t4",
                               "citations": [CITATION]})  # a later verdict on the same question wins
    out = tmp_path / "drafts" / "gold.draft.jsonl"
    assert promote_feedback(settings, out) == 3

    items = {it.question: it for _, it in read_gold(out)}  # the drafts pass the gold-file checks
    up = items["中试平台补助多少？"]
    assert up.answer == "500万元" and up.answerable and up.key_facts == ()
    assert up.tags == ("from-feedback", "rating-up", "needs_review")
    assert [(e.doc, e.quote) for e in up.evidence] == [("quanzhou-action-plan", trim_quote(CITATION["quote"]))]
    down = items["泉州单项冠军奖励多少？"]
    assert down.answerable and "rating-down" in down.tags  # rated down but answered: still answerable
    abstained = items["寿宁县的重点产业链？"]
    assert not abstained.answerable and abstained.evidence == ()
    raw = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert {r["feedback"]["comment"] for r in raw} >= {"漏了配套"}


def test_promote_without_feedback_file_says_so(settings, tmp_path):
    with pytest.raises(InputError, match="no feedback yet: .*feedback.jsonl does not exist"):
        promote_feedback(settings, tmp_path / "out.jsonl")


def test_promote_names_a_broken_line(settings, tmp_path):
    path = append_feedback(settings, {"question": "q", "rating": "up"})
    with path.open("a", encoding="utf-8") as f:
        f.write("{broken\n")
    with pytest.raises(InputError, match=r"feedback\.jsonl:2: not valid JSON"):
        promote_feedback(settings, tmp_path / "out.jsonl")


def test_trim_quote_never_spans_the_gap_between_two_cited_sentences():
    """A quote of two non-adjacent sentences ("A。……B。") yields a piece of one of them, which
    is verbatim in the passage (the "……" is not)."""
    passage = "对获评试点县的，省级财政给予一次性奖励1000万元。其余条款另行规定。县级配套资金不低于500万元。"
    quote = "对获评试点县的，省级财政给予一次性奖励1000万元。……县级配套资金不低于500万元。"
    piece = trim_quote(quote)
    assert piece and "…" not in piece and piece in passage
