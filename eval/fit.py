"""Fit the extractive answerer's remaining thresholds on the dev split, cross-validated.

    python eval/fit.py [--folds 5] [--out eval/fit.json]

What is fitted: ``SUBJECT_MIN`` (how much of the question's subject the sentence stating an asked
value must carry, else abstain), ``COVER_MIN`` (how much of the question's term weight a passage
must cover to count as answering), ``HEAD_MIN`` (0 = off: the credit the subject's rarest noun
needs in that sentence or its headings) and ``UNIT_MATCH`` (1 = off: the score factor for a
sentence counting in the classifier a count question asks in, 几条 → 50条). Data: the dev split only — eval/gold.jsonl without its
``heldout`` items (including the 20 near-miss unanswerable ``nm-*`` items) and the staff-style
paraphrases of dev items in eval/paraphrases.jsonl. The frozen split (eval/frozen.jsonl) is never
read here.

Utility per question: an answerable one scores its key-fact recall (0 when it abstains), an
unanswerable one scores 1 when it abstains. The objective is the mean over questions. (A first
version averaged the answerable and the unanswerable means, so that 17 unanswerable questions
weighed as much as 113 answerable ones; it chose SUBJECT_MIN 0.7 / COVER_MIN 0.4, which abstained
more on everything — we judged that a bad trade and weigh questions equally.)
k-fold CV (folds by question id, paraphrases with their original) estimates how well the chosen
values generalise; the values written to the code are the best on all dev data — unless the values
already in the code are within one question's worth of it (1 / number of questions), then those stay.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer import candidates, extractive, question  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.text import match_key  # noqa: E402

# (HEAD_MIN 0.6 and COVER_MIN 0.4 lost in every earlier run: eval/README.md "Fitted parameters")
# UNIT_MATCH stays at its earlier fit (1.3; 1.0/1.15/1.5/2.0 lost: eval/README.md) to keep the grid small
# HEAD_MIN 0.6 lost on every fold of the previous run (eval/README.md) and is left out to keep the grid small
# SUBJECT_MIN 0.5 and COVER_MIN 0.5 lost on every fold of the 36-combination run of 2026-12-02 (eval/README.md);
# CORPUS_WEIGHT 0.75 won there at the grid's edge, so this grid goes on to 1.0 (corpus IDF only)
GRID = {"SUBJECT_MIN": [0.3, 0.4], "COVER_MIN": [0.6], "HEAD_MIN": [0.0],
        "UNIT_MATCH": [1.3], "CORPUS_WEIGHT": [0.5, 0.75, 1.0], "BORROWED_WEIGHT": [0.25, 0.5]}
MODULE = {"SUBJECT_MIN": extractive, "COVER_MIN": extractive, "HEAD_MIN": candidates, "UNIT_MATCH": extractive,
          "CORPUS_WEIGHT": question, "BORROWED_WEIGHT": question}


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def dev_items() -> list[dict]:
    """Dev questions: gold minus heldout, and paraphrases (grouped with their original)."""
    gold = [g for g in _load(ROOT / "eval/gold.jsonl") if "heldout" not in g.get("tags", [])]
    by_id = {g["id"]: g for g in gold}
    items = [dict(g, group=g["id"]) for g in gold]
    for p in _load(ROOT / "eval/paraphrases.jsonl"):
        if p["id"] in by_id:
            items += [dict(by_id[p["id"]], question=q, group=p["id"]) for q in p["paraphrases"]]
    return items


def utility(answer, item: dict) -> float:
    """Key-fact recall for an answerable item (0 if abstained); 1/0 abstained for an unanswerable one."""
    if not item.get("answerable", True):
        return 1.0 if answer.abstained else 0.0
    if answer.abstained:
        return 0.0
    facts = item.get("key_facts", [])
    text = match_key(answer.answer)
    return sum(1 for f in facts if match_key(f) in text) / len(facts) if facts else 1.0


def objective(scores: list[float], items: list[dict]) -> float:
    """Mean utility per question: unanswerable questions weigh by their share of the data (13 % here,
    close to the 14 % of the frozen split), as they would in use."""
    return sum(scores) / len(scores)


DENSE_WEIGHTS = [0.0, 0.1, 0.2, 0.35, 0.5, 1.0]


def fit_dense(index_dir: Path, out: Path) -> None:
    """Objective and hit@5 on the dev items for each dense weight (BM25 weight 1), answers as configured."""
    from rag.settings import Settings

    items = dev_items()
    rows = []
    for w in DENSE_WEIGHTS:
        pipe = Pipeline(Settings.load(overrides={"index_dir": index_dir, "embedding_model": "static", "dense_weight": w}))
        scores, hits = [], []
        for it in items:
            a = pipe.ask(it["question"])
            scores.append(utility(a, it))
            quotes = [match_key(e["quote"]) for e in it.get("evidence", [])]
            if quotes:
                hits.append(any(q in match_key(sc.chunk.text) for sc in a.retrieved[:5] for q in quotes))
        rows.append({"dense_weight": w, "objective": round(objective(scores, items), 4),
                     "hit@5": round(sum(hits) / len(hits), 4)})
        print(json.dumps(rows[-1]), flush=True)
    best = max(rows, key=lambda r: (r["objective"], r["hit@5"], -r["dense_weight"]))
    result = {"items": len(items), "rows": rows, "chosen": best["dense_weight"]}
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


def _rank(scores: list[float], items: list[dict], combo: dict) -> tuple[float, float]:
    """Objective first (to 4 places); on a tie the stricter setting (higher thresholds) wins: an
    abstention is safer in a memo than a wrong cited answer."""
    return round(objective(scores, items), 4), sum(combo.values())


def _choose(table: list[list[float]], items: list[dict], combos: list[dict], rows, incumbent: int | None) -> int:
    """The best combination on ``rows``; the values in the code now (``incumbent``) stay unless the
    best beats them by at least one question's worth (1 / len(rows)) of the objective: a smaller
    gain is within what one question's luck moves (added 2026-12-02, after a change won by 0.0013
    on 191 questions; see eval/README.md "Fitted parameters")."""
    rows = list(rows)
    sub = [items[i] for i in rows]
    best = max(range(len(combos)), key=lambda c: _rank([table[c][i] for i in rows], sub, combos[c]))
    if incumbent is not None:
        gain = objective([table[best][i] for i in rows], sub) - objective([table[incumbent][i] for i in rows], sub)
        if gain < 1 / len(rows):
            return incumbent
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "eval/fit.json")
    ap.add_argument("--dense-index", type=Path, default=None,
                    help="instead: fit the dense weight on an index built with RAG_EMBEDDING_MODEL=static in this folder")
    args = ap.parse_args()
    if args.dense_index is not None:
        fit_dense(args.dense_index, ROOT / "eval/fit_dense.json")
        return
    items = dev_items()
    pipe = Pipeline()
    retrieved = [pipe.search(it["question"]) for it in items]  # retrieval does not depend on the grid
    answerer = pipe.answerer("extractive")
    combos = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
    current = {name: getattr(MODULE[name], name) for name in GRID}  # the values in the code now
    incumbent = combos.index(current) if current in combos else None
    table: list[list[float]] = []
    for combo in combos:
        for name, value in combo.items():
            setattr(MODULE[name], name, value)
        table.append([utility(answerer.answer(it["question"], r, pipe.documents), it) for it, r in zip(items, retrieved)])
        print(json.dumps({**combo, "objective": round(objective(table[-1], items), 4)}), flush=True)
    groups = sorted({it["group"] for it in items})
    random.Random(0).shuffle(groups)
    fold_of = {g: i % args.folds for i, g in enumerate(groups)}
    cv = []
    for k in range(args.folds):
        train = [i for i, it in enumerate(items) if fold_of[it["group"]] != k]
        test = [i for i, it in enumerate(items) if fold_of[it["group"]] == k]
        best = _choose(table, items, combos, train, incumbent)
        cv.append({"fold": k, "chosen": combos[best],
                   "test_objective": round(objective([table[best][i] for i in test], [items[i] for i in test]), 4)})
    best = _choose(table, items, combos, range(len(items)), incumbent)
    result = {"items": len(items), "grid": GRID, "incumbent": combos[incumbent] if incumbent is not None else None,
              "cv": cv, "cv_mean_test_objective": round(sum(f["test_objective"] for f in cv) / len(cv), 4),
              "chosen": combos[best], "dev_objective": round(objective(table[best], items), 4),
              "incumbent_objective": round(objective(table[incumbent], items), 4) if incumbent is not None else None}
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
