"""Metrics, gate and report of rag.eval on tiny hand-made data with exact expectations."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rag.errors import InputError
from rag.eval import (
    POLICY,
    EvalResult,
    EvalRun,
    Metrics,
    QuestionRecord,
    QuestionSummary,
    Rule,
    aggregate,
    all_facts,
    breakdown,
    citation_support_rate,
    cited_evidence_recall,
    compare_to_baseline,
    evidence_ranks,
    evidence_recall_at_k,
    find_flips,
    hit_at_k,
    key_fact_recall,
    mrr_at_k,
    percentile,
    read_gold,
    reciprocal_rank_at_k,
    sentence_supported,
)
from rag.eval.baseline import dump_baseline, read_baseline
from rag.eval.console import flip_lines, print_result, split_rows
from rag.eval.gate import SPLIT_POLICY, check_targets
from rag.eval.metrics import consistency
from rag.eval.report import ReportInfo, render_report
from rag.eval.run import SplitResult

RETRIEVED = [
    ("whitepaper-2024", "全省83个县域梳理确定县域重点产业链164条。"),
    ("quanzhou-action-plan", "对首次认定的制造业单项冠军企业，市财政给予一次性配套50万元奖励。"),
    ("whitepaper-2024", "省工信厅梳理试点县需求清单52项，分由省直相关部门逐项推动落实。"),
]


# --------------------------------------------------------------------------- retrieval metrics


def test_evidence_ranks_respect_document_and_matching_rule():
    evidence = [
        ("whitepaper-2024", "试点县需求清单 52 项"),  # spaces ignored
        ("", "“一次性配套50万元奖励”"),  # any document; punctuation ignored
        ("quanzhou-action-plan", "梳理试点县需求清单52项"),  # right text, wrong document
    ]
    assert evidence_ranks(RETRIEVED, evidence) == [3, 2, None]


def test_traditional_chunk_matches_simplified_quote():
    retrieved = [("news-county-chain", "83個縣域(金門縣暫未列入)梳理確定縣域重點產業鏈164條")]
    assert evidence_ranks(retrieved, [("news-county-chain", "梳理确定县域重点产业链164条")]) == [1]


def test_hit_recall_and_reciprocal_rank_at_k():
    ranks = [3, None, 1]
    assert hit_at_k([3, None], 1) == 0.0
    assert hit_at_k([3, None], 5) == 1.0
    assert evidence_recall_at_k(ranks, 1) == pytest.approx(1 / 3)
    assert evidence_recall_at_k(ranks, 5) == pytest.approx(2 / 3)
    assert evidence_recall_at_k([], 5) == 0.0
    assert reciprocal_rank_at_k([3, None], 10) == pytest.approx(1 / 3)
    assert reciprocal_rank_at_k([12], 10) == 0.0
    assert mrr_at_k([[3], [None], [1, 2]], 10) == pytest.approx((1 / 3 + 0 + 1) / 3)
    assert mrr_at_k([], 10) is None


# --------------------------------------------------------------------------- answer metrics


def test_key_fact_recall_and_all_facts():
    answer = "试点县共10个，包括漳浦县、安溪县。"
    assert key_fact_recall(answer, ["10个", "漳浦县", "古田县"]) == pytest.approx(2 / 3)
    assert all_facts(answer, ["10个", "漳浦县", "古田县"]) is False
    assert all_facts(answer, ["10 个", "漳浦縣"]) is True  # spacing and traditional forms normalise
    assert key_fact_recall(answer, []) is None
    assert key_fact_recall("白皮书近3万字。", ["近3萬字"]) == 1.0


def test_cited_evidence_recall():
    cited = [RETRIEVED[2]]
    evidence = [("whitepaper-2024", "试点县需求清单52项"), ("whitepaper-2024", "县域重点产业链164条")]
    assert cited_evidence_recall(cited, evidence) == 0.5
    assert cited_evidence_recall([], evidence) == 0.0
    assert cited_evidence_recall(cited, []) is None


def test_sentence_support_needs_citations_and_matching_numbers():
    src = ["对首次认定的制造业单项冠军企业，市财政给予一次性配套50万元奖励。"]
    assert sentence_supported("市财政给予一次性配套50万元奖励[1]。", src)
    assert sentence_supported("首次认定的单项冠军企业，市财政一次性配套奖励50万元。", src)  # paraphrase, same facts
    assert not sentence_supported("首次认定的单项冠军企业，市财政一次性配套奖励80万元。", src)  # invented number
    assert not sentence_supported("市财政给予一次性配套50万元奖励。", [])  # no citation
    assert not sentence_supported("泉州对人才团队给予住房补贴。", src)  # unrelated source
    rate = citation_support_rate([("市财政给予一次性配套50万元奖励[1]。", src), ("泉州对人才团队给予住房补贴。", src), ("[1]", src)])
    assert rate == 0.5  # the marker-only "sentence" is not judged


def test_percentile_interpolates():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([], 50) is None


# --------------------------------------------------------------------------- aggregation


def record(qid, *, ranks=(), answerable=True, tags=(), docs=("whitepaper-2024",), answer=None, search_ms=10.0, question=None,
           split="dev", paraphrase_of=None):
    ranks = list(ranks)
    ret = None
    if answerable and ranks:
        ret = {"hit@1": hit_at_k(ranks, 1), "hit@5": hit_at_k(ranks, 5), "hit@10": hit_at_k(ranks, 10),
               "recall@5": evidence_recall_at_k(ranks, 5), "recall@10": evidence_recall_at_k(ranks, 10),
               "rr@10": reciprocal_rank_at_k(ranks, 10)}
    return QuestionRecord.from_dict({
        "id": qid, "split": split, "paraphrase_of": paraphrase_of, "question": question or f"问题{qid}", "tags": list(tags),
        "answerable": answerable,
        "docs": list(docs) if answerable else [], "key_facts": [],
        "evidence": [{"doc": "whitepaper-2024", "quote": f"证据{qid}{i}", "rank": r} for i, r in enumerate(ranks)],
        "retrieved": [{"rank": 1, "chunk_id": f"c-{qid}", "doc": "whitepaper-2024", "chars": 100, "score": 1.0, "text": ""}] if answerable else [],
        "retrieval": ret, "search_ms": search_ms if answerable else None, "answer": answer})


def answer(*, abstained=False, recall=None, support=None, cited=None, chars=20, latency=100.0, found=(), unsupported=0):
    return {"text": "答" * chars, "abstained": abstained, "chars": chars, "key_facts_found": list(found), "key_facts_missing": [],
            "key_fact_recall": recall, "all_facts": None if recall is None else recall == 1.0, "cited": [],
            "cited_evidence_recall": cited, "sentences": 1, "citation_support": support,
            "unsupported_sentences": unsupported, "self_reported_supported": 1,
            "latency_ms": latency}


def test_aggregate_exact_values():
    recs = [
        record("a", ranks=[1], tags=["table"], answer=answer(recall=1.0, support=1.0, cited=1.0, chars=10, latency=100)),
        record("b", ranks=[7, None], tags=["table", "heldout"], answer=answer(recall=0.5, support=0.5, cited=0.0, chars=30, latency=300,
                                                                            unsupported=1)),
        record("c", ranks=[None], answer=answer(abstained=True, recall=0.0, cited=0.0, latency=200)),
        record("u", answerable=False, tags=["unanswerable"], answer=answer(abstained=True, latency=400)),
    ]
    m = aggregate(recs)
    assert m.get("hit@1") == pytest.approx(1 / 3)
    assert m.get("hit@5") == pytest.approx(1 / 3)
    assert m.get("hit@10") == pytest.approx(2 / 3)
    assert m.get("evidence_recall@10") == pytest.approx((1 + 0.5 + 0) / 3)
    assert m.get("mrr@10") == pytest.approx((1 + 1 / 7 + 0) / 3)
    assert m.get("chunk_chars_mean") == 100
    assert m.get("key_fact_recall") == pytest.approx(0.5)
    assert m.get("all_facts_rate") == pytest.approx(1 / 3)
    assert m.get("cited_evidence_recall") == pytest.approx(1 / 3)
    assert m.get("citation_support_rate") == pytest.approx(0.75)  # over the two answers given
    assert m.unsupported_sentences == 1  # a total, over the answers given
    assert m.get("abstention_rate") == 1.0
    assert m.get("false_abstention_rate") == pytest.approx(1 / 3)
    assert m.get("answer_chars_median") == 20
    assert m.get("latency_p50_ms") == 250
    assert m.get("search_p95_ms") == 10

    split = breakdown(recs, "heldout")
    assert split["heldout"].n == 1 and split["tuned"].n == 3
    assert split["heldout"].metrics.hit_at_10 == 1.0
    tags = breakdown(recs, "tag")
    assert tags["table"].n == 2 and tags["table"].metrics.hit_at_5 == 0.5
    assert breakdown(recs, "doc")["(no evidence)"].metrics.abstention_rate == 1.0


def test_aggregate_without_answers_leaves_answer_metrics_empty():
    m = aggregate([record("a", ranks=[2])])
    assert m.get("hit@5") == 1.0
    assert m.get("key_fact_recall") is None and m.get("abstention_rate") is None and m.get("latency_p50_ms") is None


# --------------------------------------------------------------------------- gate

BASE = Metrics.from_dict({"hit@1": 0.60, "hit@5": 0.90, "hit@10": 0.95, "key_fact_recall": 0.80})


def metrics(**values):
    """Metrics with the given values (``hit@5`` spelled ``hit_at_5``), None elsewhere."""
    return Metrics(**values)


def status(results, metric):
    return next(g for g in results if g.metric == metric)


def test_worse_run_fails_naming_the_metric():
    now = replace(BASE, hit_at_5=0.85)
    res = compare_to_baseline(now, BASE)
    g = status(res, "hit@5")
    assert g.status == "regressed" and g.failed
    assert "hit@5" in g.message and "0.850" in g.message and "0.900" in g.message
    assert [x.metric for x in res if x.failed] == ["hit@5"]


def test_run_within_tolerance_passes():
    now = replace(BASE, hit_at_5=0.885, hit_at_1=0.575)  # -0.015 (tol 0.02), -0.025 (tol 0.03)
    assert not any(g.failed for g in compare_to_baseline(now, BASE))


def test_floors_apply_without_baseline_and_missing_metrics_fail():
    res = compare_to_baseline(metrics(hit_at_5=0.30), None)
    assert status(res, "hit@5").status == "below-floor"
    assert status(res, "key_fact_recall").status == "n/a"  # not measured, no baseline: not a failure
    res = compare_to_baseline(metrics(hit_at_5=0.95), metrics(key_fact_recall=0.8))
    assert status(res, "key_fact_recall").status == "missing"


def test_lower_is_better_metric_gates_on_increase():
    policy = {"false_abstention_rate": Rule(higher_is_better=False, tolerance=0.02, floor=0.25)}
    assert status(compare_to_baseline(metrics(false_abstention_rate=0.10), metrics(false_abstention_rate=0.05), policy),
                  "false_abstention_rate").status == "regressed"
    assert status(compare_to_baseline(metrics(false_abstention_rate=0.30), None, policy), "false_abstention_rate").status == "below-floor"
    assert status(compare_to_baseline(metrics(false_abstention_rate=0.0), metrics(false_abstention_rate=0.05), policy),
                  "false_abstention_rate").status == "ok"


def test_policy_covers_headline_metrics():
    assert {"hit@5", "hit@10", "mrr@10", "key_fact_recall", "abstention_rate"} <= set(POLICY)


# --------------------------------------------------------------------------- flips and report


def test_flips_and_html_report_show_the_flipped_question(tmp_path):
    before = [record("q1", ranks=[2], answer=answer(recall=1.0, found=["164条"])), record("q2", ranks=[1])]
    now = [record("q1", ranks=[None], answer=answer(recall=0.0), question="全省确定了多少条县域重点产业链？"), record("q2", ranks=[1])]
    flips = find_flips({r.id: QuestionSummary.of(r) for r in now}, {r.id: QuestionSummary.of(r) for r in before})
    assert [f.id for f in flips] == ["q1"]
    assert flips[0].direction == "worse"
    assert flips[0].changes == {"retrieval hit@5": (True, False), "all evidence in top 5": (True, False),
                                "all key facts": (True, False)}
    text = "\n".join(flip_lines(flips[0]))
    assert "#2 → not found" in text and "key facts lost: 164条" in text

    run = EvalRun(now, aggregate(now), "extractive", True)
    dev = SplitResult("dev", Path("g.jsonl"), run, gate=compare_to_baseline(run.metrics, aggregate(before)), flips=flips)
    frozen_run = EvalRun([record("fz", ranks=[1], split="frozen", tags=["frozen"])], aggregate([record("fz", ranks=[1])]),
                         "extractive", True, split="frozen")
    frozen = SplitResult("frozen", Path("f.jsonl"), frozen_run, gate=compare_to_baseline(frozen_run.metrics, None, {}))
    result = EvalResult({"dev": dev, "frozen": frozen}, targets=check_targets(frozen_run.metrics),
                        warnings=["settings differ from the baseline: top_k 10 → 1"])
    info = ReportInfo(gold="g.jsonl", corpus_hash="abc", baseline="b.json", baseline_created="2025-01-01", settings={"top_k": 1})
    page = render_report(result, info)
    out = tmp_path / "report.html"
    out.write_text(page, encoding="utf-8")
    assert out.stat().st_size > 0
    assert page.count("<svg") >= 7  # splits, dev and frozen vs baseline, held-out, per doc, per tag, frozen per tag
    assert "Splits side by side" in page and "frozen (n=1)" in page and "<td>frozen</td><td class='q'>fz</td>" in page
    assert "Frozen split targets" in page and "not measured" in page
    assert "GATE FAILED" in page
    assert "全省确定了多少条县域重点产业链？" in page and "flip worse" in page
    assert "top_k 10 → 1" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained


# --------------------------------------------------------------------------- gold file errors


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {"id": "a", "question": "试点县有哪些？", "answer": "10个", "key_facts": ["10个"],
        "evidence": [{"doc": "000", "quote": "上杭县、武平县、古田县等10个试点县"}], "answerable": True, "tags": []}


def test_malformed_gold_line_names_file_and_line(tmp_path):
    path = write_lines(tmp_path / "g.jsonl", [json.dumps(GOOD, ensure_ascii=False), "", '{"id": "b", "question": '])
    with pytest.raises(InputError, match=r"g\.jsonl:3: not valid JSON"):
        read_gold(path)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"question": ""}, r":1: 'question' must be a non-empty string"),
        ({"evidence": [{"doc": "000", "quote": "太短"}]}, r":1: evidence\[0\]\.quote must be 8–40 characters, got 2"),
        ({"key_facts": "10个"}, r":1: 'key_facts' must be a list"),
        ({"answerable": "yes"}, r":1: 'answerable' must be true or false"),
        ({"answerable": False}, r":1: an unanswerable item must have empty 'evidence'"),
    ],
)
def test_bad_gold_fields_are_named(tmp_path, change, message):
    path = write_lines(tmp_path / "g.jsonl", [json.dumps(dict(GOOD, **change), ensure_ascii=False)])
    with pytest.raises(InputError, match=message):
        read_gold(path)


def test_duplicate_ids_and_empty_files(tmp_path):
    line = json.dumps(GOOD, ensure_ascii=False)
    with pytest.raises(InputError, match=r":2: duplicate id 'a' \(first used on line 1\)"):
        read_gold(write_lines(tmp_path / "d.jsonl", [line, line]))
    with pytest.raises(InputError, match="no gold items"):
        read_gold(write_lines(tmp_path / "e.jsonl", [""]))
    with pytest.raises(InputError, match="no such gold file"):
        read_gold(tmp_path / "missing.jsonl")
    assert [it.id for _, it in read_gold(write_lines(tmp_path / "ok.jsonl", [line]))] == ["a"]


def test_baseline_file_round_trips_with_one_line_per_question():
    payload = {"format": 2, "created": "x", "settings": {"top_k": 10},
               "splits": {"dev": {"file": "g", "metrics": {"hit@5": 0.5}, "questions": {"q1": {"top": ["a"]}, "q2": {"top": []}}},
                          "frozen": {"file": "f", "metrics": {}, "questions": {}}}}
    text = dump_baseline(payload)
    assert json.loads(text) == payload
    assert '    "q1": {"top": ["a"]},' in text.splitlines() and '  "top_k": 10' in text.splitlines()


def test_old_one_split_baseline_is_read_as_the_dev_split(tmp_path):
    old = {"created": "x", "gold_file": "eval/gold.jsonl", "gold_hash": "h", "corpus_hash": "c", "mode": "extractive",
           "answers": True, "settings": {"top_k": 10}, "metrics": {"hit@5": 0.9},
           "questions": {"q1": {"question": "问", "answerable": True, "hit@5": 1.0, "evidence": [{"doc": "d", "quote": "q", "rank": 2}]}}}
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    base = read_baseline(path)
    assert base.migrated_from == 1 and list(base.splits) == ["dev"]
    dev = base.splits["dev"]
    assert dev.file == "eval/gold.jsonl" and dev.hash == "h" and dev.metrics.hit_at_5 == 0.9
    assert dev.questions["q1"].evidence[0].rank == 2
    assert base.to_dict()["format"] == 2 and "frozen" not in base.to_dict()["splits"]
    path.write_text('{"format": 2, "created": "x"}', encoding="utf-8")
    with pytest.raises(InputError, match="not a baseline file"):
        read_baseline(path)


# --------------------------------------------------------------------------- the runner on a real index

TINY_GOLD = [
    {"id": "pilot", "question": "县域重点产业链试点县是哪几个？", "answer": "10个试点县", "key_facts": ["10个"],
     "evidence": [{"doc": "白皮书", "quote": "上杭县、武平县、古田县等10个试点县"}], "answerable": True, "tags": ["pilot-county"]},
    {"id": "pilot-both", "question": "省里确定了哪些试点县？泉州方案对试点县有什么支持？", "answer": "10个；加大支持力度",
     "key_facts": ["10个"], "evidence": [{"doc": "白皮书", "quote": "上杭县、武平县、古田县等10个试点县"},
                                          {"doc": "002", "quote": "强化财政、土地、人才、用能、投融资等要素保障"}],
     "answerable": True, "tags": ["cross-doc"]},
    {"id": "nope", "question": "广东省对试点县每个补助多少钱？", "answer": "", "key_facts": [], "evidence": [],
     "answerable": False, "tags": ["unanswerable"]},
]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    try:
        from rag.pipeline import Pipeline, build_index
        from rag.settings import Settings

        settings = Settings.load(overrides={"index_dir": tmp_path_factory.mktemp("eval-index"), "embedding_model": "none",
                                            "retrieval_mode": "hybrid"})
        build_index(settings)
    except ImportError as e:
        pytest.skip(f"index cannot be built yet: {e}")
    return Pipeline(settings)


TINY_FROZEN = [
    dict(TINY_GOLD[1], id="fz-both", question="试点县是哪些？泉州那边给试点县啥支持？", tags=["cross-doc", "frozen"]),
    dict(TINY_GOLD[2], id="fz-nope", question="广东那边试点县一个补多少？", tags=["unanswerable", "frozen"]),
]
TINY_PARAPHRASES = [{"id": "pilot", "paraphrases": ["试点县都有哪几个？", "省里定的试点县是哪些县？"]}]


def test_run_eval_cli_passes_on_its_own_baseline_and_fails_with_top_k_1(pipeline, tmp_path, capsys):
    from rag.eval import run_eval_cli
    from rag.pipeline import Pipeline

    gold = write_lines(tmp_path / "gold.jsonl", [json.dumps(x, ensure_ascii=False) for x in TINY_GOLD])
    frozen = write_lines(tmp_path / "frozen.jsonl", [json.dumps(x, ensure_ascii=False) for x in TINY_FROZEN])
    para = write_lines(tmp_path / "para.jsonl", [json.dumps(x, ensure_ascii=False) for x in TINY_PARAPHRASES])
    base = tmp_path / "baseline.json"
    splits = {"frozen": frozen, "paraphrases": para}
    assert run_eval_cli(pipeline, gold, None, base, tmp_path / "r0", update_baseline=True, **splits) == 0
    saved = json.loads(base.read_text(encoding="utf-8"))
    assert saved["format"] == 2 and saved["corpus_hash"] == pipeline.index.manifest.corpus["hash"]
    assert saved["settings"]["top_k"] == pipeline.settings.top_k
    assert list(saved["splits"]) == ["dev", "frozen", "paraphrase"] and saved["splits"]["frozen"]["hash"]
    assert set(saved["splits"]["dev"]["questions"]) == {"pilot", "pilot-both", "nope"}
    assert set(saved["splits"]["paraphrase"]["questions"]) == {"pilot/p1", "pilot/p2"}
    assert saved["splits"]["paraphrase"]["metrics"]["paraphrase_consistency"] in (0.0, 1.0)
    capsys.readouterr()
    assert run_eval_cli(pipeline, gold, None, base, tmp_path / "r1", update_baseline=False, **splits) == 0
    out = capsys.readouterr().out
    assert "dev (3)" in out and "frozen (2)" in out and "paraphrase (2)" in out  # the side-by-side table
    assert "frozen split targets" in out and "paraphrase consistency:" in out
    results = [json.loads(x) for x in (tmp_path / "r1" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["split"]) for r in results] == [("pilot", "dev"), ("pilot-both", "dev"), ("nope", "dev"), ("fz-both", "frozen"),
                                                        ("fz-nope", "frozen"), ("pilot/p1", "paraphrase"), ("pilot/p2", "paraphrase")]
    assert results[0]["docs"] == ["whitepaper-2024"] and results[2]["retrieval"] is None
    assert results[5]["paraphrase_of"] == "pilot" and results[5]["key_facts"] == ["10个"]
    page = (tmp_path / "r1" / "report.html").read_text(encoding="utf-8")
    assert "Splits side by side" in page and "Paraphrase consistency" in page and "<td>paraphrase</td>" in page

    # One retrieved chunk cannot hold quotes from two documents: evidence recall must drop, in
    # the dev split (pilot-both) and in the frozen split (fz-both), and each split's gate says so.
    if not all(e["rank"] and e["rank"] <= 5 for q in ("pilot-both", "fz-both") for e in results_by_id(results)[q]["evidence"]):
        pytest.skip("retrieval no longer puts both pilot-county quotes in the top 5; pick another cross-doc item")
    worse = Pipeline(pipeline.settings.with_(top_k=1))
    code = run_eval_cli(worse, gold, None, base, tmp_path / "r2", update_baseline=False, **splits)
    out = capsys.readouterr().out
    assert code == 1
    assert "settings differ from the baseline: top_k 10 → 1" in out
    assert "gate FAILED" in out and "dev: evidence_recall@5" in out and "frozen: evidence_recall@5" in out
    assert "pilot-both" in out and "→ not found" in out  # the per-question diff
    # frozen questions are withheld from the console (a test split is not read item by item)
    assert "fz-both" not in out and "frozen-split question(s) changed" in out
    page = (tmp_path / "r2" / "report.html").read_text(encoding="utf-8")
    assert "GATE FAILED" in page and "pilot-both" in page and "flip worse" in page


def results_by_id(results):
    return {r["id"]: r for r in results}


def test_a_one_split_baseline_still_gates_dev_and_says_the_other_splits_have_none(pipeline, tmp_path, capsys):
    from rag.eval import run_eval_cli

    gold = write_lines(tmp_path / "gold.jsonl", [json.dumps(x, ensure_ascii=False) for x in TINY_GOLD])
    frozen = write_lines(tmp_path / "frozen.jsonl", [json.dumps(x, ensure_ascii=False) for x in TINY_FROZEN])
    base = tmp_path / "baseline.json"
    assert run_eval_cli(pipeline, gold, None, base, tmp_path / "r0", update_baseline=True) == 0
    new = json.loads(base.read_text(encoding="utf-8"))
    dev = new["splits"]["dev"]
    old = {"created": new["created"], "gold_file": dev["file"], "gold_hash": dev["hash"], "corpus_hash": new["corpus_hash"],
           "mode": new["mode"], "answers": True, "settings": new["settings"], "metrics": dict(dev["metrics"], **{"hit@1": 2.0}),
           "questions": dev["questions"]}
    base.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert run_eval_cli(pipeline, gold, None, base, tmp_path / "r1", update_baseline=False, frozen=frozen) == 1
    out = " ".join(capsys.readouterr().out.split())  # undo Rich's line wrapping
    assert "baseline format 1 (dev split only)" in out and "rag eval --update-baseline" in out
    assert "dev: hit@1" in out and "frozen:" not in out


def test_unknown_evidence_doc_names_the_gold_line(pipeline, tmp_path):
    from rag.eval import run_eval_cli

    bad = dict(TINY_GOLD[0], evidence=[{"doc": "no-such-doc", "quote": "上杭县、武平县、古田县等10个试点县"}])
    gold = write_lines(tmp_path / "gold.jsonl", [json.dumps(TINY_GOLD[2], ensure_ascii=False), json.dumps(bad, ensure_ascii=False)])
    with pytest.raises(InputError, match=r"gold\.jsonl:2: evidence doc .*no-such-doc"):
        run_eval_cli(pipeline, gold, None, None, tmp_path / "r", update_baseline=False)


# --------------------------------------------------------------------------- splits, paraphrases, targets


def split_result(name, records, base=None, policy=None):
    run = EvalRun(records, aggregate(records), "extractive", True, split=name)
    return SplitResult(name, Path(f"{name}.jsonl"), run, gate=compare_to_baseline(run.metrics, base, SPLIT_POLICY[name] if policy is None else policy))


def test_split_table_puts_the_splits_side_by_side_and_marks_a_failing_metric():
    dev = split_result("dev", [record("a", ranks=[1], answer=answer(recall=1.0)), record("b", ranks=[3], answer=answer(recall=0.5))])
    frozen = split_result("frozen", [record("f", ranks=[None], split="frozen", answer=answer(recall=0.0))],
                          base=Metrics(hit_at_5=1.0, key_fact_recall=1.0))
    result = EvalResult({"dev": dev, "frozen": frozen})
    rows = {r[0]: r[1:] for r in split_rows(result)}
    assert rows["hit@1"] == ["0.500", "0.000"]
    assert rows["hit@5"] == ["1.000", "0.000 ✗"]  # regressed against the frozen baseline
    assert rows["key-fact recall"] == ["0.750", "0.000 ✗"]
    assert "abstention (unanswerable)" not in rows  # measured on neither split
    assert "paraphrase consistency" not in rows

    from rich.console import Console

    console = Console(width=160, record=True)
    print_result(console, result)
    text = console.export_text()
    assert "┃ metric" in text and "dev (2)" in text and "frozen (1)" in text
    assert "frozen split vs baseline" in text and "regressed" in text


def test_paraphrase_consistency_on_a_tiny_example():
    def rec(qid, found, of=None, recall=None):
        return record(qid, ranks=[1], split="paraphrase" if of else "dev", paraphrase_of=of,
                      answer=answer(found=found, recall=recall, abstained=not found))

    originals = {r.id: r for r in [rec("a", ["10个", "164条"], recall=1.0), rec("b", ["30%"], recall=0.5),
                                   rec("c", [], recall=0.0), rec("d", ["83个"], recall=1.0)]}
    paraphrases = [
        rec("a/p1", ["164条", "10个"], "a"), rec("a/p2", ["10个", "164条"], "a"),  # same facts, any order: consistent
        rec("b/p1", ["30%"], "b"), rec("b/p2", ["30%", "500万元"], "b"),  # one paraphrase finds more: not consistent
        rec("c/p1", [], "c"), rec("c/p2", [], "c"),  # all miss everything: consistent (consistency is not correctness)
        rec("d/p1", [], "d"), rec("d/p2", ["83个"], "d"),  # one paraphrase abstains: not consistent
        rec("x/p1", ["1"], "x"),  # no original in this run: left out
    ]
    c = consistency(originals, paraphrases)
    assert [(it.id, it.consistent) for it in c.items] == [("a", True), ("b", False), ("c", True), ("d", False)]
    assert c.consistent == 2 and c.rate == 0.5
    assert c.items[1].paraphrases_found == (("30%",), ("30%", "500万元"))
    assert c.original_key_fact_recall == pytest.approx((1.0 + 0.5 + 0.0 + 1.0) / 4)
    assert consistency({}, []).rate is None


def test_frozen_targets_are_reported_met_or_not_and_fail_only_when_enforced():
    now = Metrics(key_fact_recall=0.65, cited_evidence_recall=0.80, false_abstention_rate=0.15, abstention_rate=5 / 6,
                  unsupported_sentences=0, answer_chars_median=None)
    targets = check_targets(now)
    status = {t.target.metric: t.status for t in targets}
    assert status == {"key_fact_recall": "not met", "cited_evidence_recall": "met", "false_abstention_rate": "not met",
                      "abstention_rate": "met", "unsupported_sentences": "met", "answer_chars_median": "not measured"}
    assert targets[0].message() == "key_fact_recall: target ≥ 0.850: not met (0.650)"
    assert targets[3].message() == "abstention_rate: target ≥ 5/6 (0.833): met (0.833)"

    dev = split_result("dev", [record("a", ranks=[1], answer=answer(recall=1.0))])
    reported = EvalResult({"dev": dev}, targets=targets)
    assert reported.failures() == []
    enforced = EvalResult({"dev": dev}, targets=targets, enforce_targets=True)
    assert enforced.failures() == ["frozen target key_fact_recall: target ≥ 0.850: not met (0.650)",
                                   "frozen target false_abstention_rate: target ≤ 0.030: not met (0.150)",
                                   "frozen target answer_chars_median: target ≤ 450: not measured (–)"]


def test_gate_fails_when_one_split_regresses_and_frozen_has_no_floors():
    dev_base = aggregate([record("a", ranks=[1], answer=answer(recall=1.0))])
    dev = split_result("dev", [record("a", ranks=[1], answer=answer(recall=1.0))], base=dev_base)
    # Far below every dev floor, but the frozen split is gated on regressions only.
    low = [record("f", ranks=[None], split="frozen", answer=answer(recall=0.2))]
    frozen_ok = split_result("frozen", low, base=aggregate(low))
    assert EvalResult({"dev": dev, "frozen": frozen_ok}).failures() == []
    frozen_worse = split_result("frozen", low, base=replace(aggregate(low), key_fact_recall=0.25))
    assert EvalResult({"dev": dev, "frozen": frozen_worse}).failures() == [
        "frozen: key_fact_recall 0.200 vs baseline 0.250 (Δ -0.050, tolerance 0.02)"]
    para = split_result("paraphrase", [record("a/p1", ranks=[1], split="paraphrase", paraphrase_of="a", answer=answer(recall=1.0))])
    para.run.metrics = replace(para.run.metrics, paraphrase_consistency=0.9)
    para.gate = compare_to_baseline(para.run.metrics, replace(para.run.metrics, paraphrase_consistency=1.0), SPLIT_POLICY["paraphrase"],
                                    ["paraphrase_consistency"])
    assert [g.status for g in para.gate] == ["regressed"]
