"""Evaluation against gold sets: metrics, the regression gate, the report, and user feedback.

Modules, from the bottom up:

- :mod:`~rag.eval.gold` — reading and validating gold JSONL files;
- :mod:`~rag.eval.records` — the typed per-question records and aggregate metrics, and their JSON;
- :mod:`~rag.eval.metrics` — hit@k, recall@k, MRR, key-fact and cited-evidence recall, aggregation;
- :mod:`~rag.eval.support` — the evaluator's own citation-support check;
- :mod:`~rag.eval.gate` — rules against a baseline, question flips, settings changes;
- :mod:`~rag.eval.run` — the runner, the baseline file and the ``rag eval`` entry point;
- :mod:`~rag.eval.console` / :mod:`~rag.eval.report` — terminal summary and HTML report;
- :mod:`~rag.eval.feedback` — thumbs up/down storage and promotion to draft gold items.

The names below are the ones callers (the CLI, the UI, tests, benchmarks) need.
"""

from .feedback import append_feedback, feedback_path, promote_feedback
from .gate import POLICY, Flip, GateResult, Rule, compare_to_baseline, find_flips, settings_diff
from .gold import HELDOUT_TAG, QUOTE_MAX, QUOTE_MIN, load_gold, read_gold
from .metrics import (
    aggregate,
    all_facts,
    breakdown,
    cited_evidence_recall,
    evidence_ranks,
    evidence_recall_at_k,
    hit_at_k,
    key_fact_recall,
    mrr_at_k,
    percentile,
    reciprocal_rank_at_k,
)
from .records import METRICS, Metrics, QuestionRecord, QuestionSummary
from .run import Baseline, EvalRun, evaluate, read_baseline, run_eval_cli
from .support import citation_support_rate, sentence_supported

__all__ = [
    "HELDOUT_TAG", "METRICS", "POLICY", "QUOTE_MAX", "QUOTE_MIN", "Baseline", "EvalRun", "Flip", "GateResult", "Metrics",
    "QuestionRecord", "QuestionSummary", "Rule", "aggregate", "all_facts", "append_feedback", "breakdown",
    "citation_support_rate", "cited_evidence_recall", "compare_to_baseline", "evaluate", "evidence_ranks",
    "evidence_recall_at_k", "feedback_path", "find_flips", "hit_at_k", "key_fact_recall", "load_gold", "mrr_at_k",
    "percentile", "promote_feedback", "read_baseline", "read_gold", "reciprocal_rank_at_k", "run_eval_cli",
    "sentence_supported", "settings_diff",
]
