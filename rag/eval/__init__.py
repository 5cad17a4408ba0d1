"""Evaluation against gold sets: metrics, the regression gate, the report, and user feedback.

Modules, from the bottom up:

- :mod:`~rag.eval.gold` — reading and validating the dev, frozen and paraphrase files;
- :mod:`~rag.eval.records` — the typed per-question records and aggregate metrics, and their JSON;
- :mod:`~rag.eval.metrics` — hit@k, recall@k, MRR, key-fact and cited-evidence recall, aggregation,
  paraphrase consistency;
- :mod:`~rag.eval.support` — the evaluator's own citation-support check;
- :mod:`~rag.eval.gate` — rules against a baseline per split, the frozen targets, question flips;
- :mod:`~rag.eval.baseline` — ``eval/baseline.json`` (per split; the old one-split format is read too);
- :mod:`~rag.eval.run` — the runner over the splits and the ``rag eval`` entry point;
- :mod:`~rag.eval.console` / :mod:`~rag.eval.report` — terminal summary and HTML report;
- :mod:`~rag.eval.feedback` — thumbs up/down storage and promotion to draft gold items.

The names below are the ones callers (the CLI, the UI, tests, benchmarks) need.
"""

from .baseline import Baseline, SplitBaseline, dump_baseline, read_baseline
from .feedback import append_feedback, feedback_path, promote_feedback
from .gate import (
    FROZEN_TARGETS,
    POLICY,
    SPLIT_POLICY,
    Flip,
    GateResult,
    Rule,
    Target,
    TargetResult,
    check_targets,
    compare_to_baseline,
    find_flips,
    settings_diff,
)
from .gold import HELDOUT_TAG, QUOTE_MAX, QUOTE_MIN, load_gold, paraphrase_items, read_gold, read_paraphrases
from .metrics import (
    aggregate,
    all_facts,
    breakdown,
    cited_evidence_recall,
    consistency,
    evidence_ranks,
    evidence_recall_at_k,
    hit_at_k,
    key_fact_recall,
    mrr_at_k,
    percentile,
    reciprocal_rank_at_k,
)
from .records import METRICS, SPLITS, Consistency, Metrics, QuestionRecord, QuestionSummary
from .run import EvalResult, EvalRun, SplitResult, evaluate, run_eval, run_eval_cli
from .support import citation_support_rate, sentence_supported

__all__ = [
    "FROZEN_TARGETS", "HELDOUT_TAG", "METRICS", "POLICY", "QUOTE_MAX", "QUOTE_MIN", "SPLITS", "SPLIT_POLICY", "Baseline",
    "Consistency", "EvalResult", "EvalRun", "Flip", "GateResult", "Metrics", "QuestionRecord", "QuestionSummary", "Rule",
    "SplitBaseline", "SplitResult", "Target", "TargetResult", "aggregate", "all_facts", "append_feedback", "breakdown",
    "check_targets", "citation_support_rate", "cited_evidence_recall", "compare_to_baseline", "consistency",
    "dump_baseline", "evaluate", "evidence_ranks", "evidence_recall_at_k", "feedback_path", "find_flips", "hit_at_k",
    "key_fact_recall", "load_gold", "mrr_at_k", "paraphrase_items", "percentile", "promote_feedback", "read_baseline",
    "read_gold", "read_paraphrases", "reciprocal_rank_at_k", "run_eval", "run_eval_cli", "sentence_supported",
    "settings_diff",
]
