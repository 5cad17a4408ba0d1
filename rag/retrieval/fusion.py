"""Weighted reciprocal rank fusion as a pure function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fused:
    """One fused item: its id, fused score and 1-based rank in each input list (None if absent)."""

    id: str
    score: float
    ranks: dict[str, int | None]


def reciprocal_rank_fusion(
    ranked: Mapping[str, Sequence[str]], weights: Mapping[str, float] | None = None, k: int = 60
) -> list[Fused]:
    """Fuse ranked id lists: ``score(id) = sum_r weights[r] / (k + rank_r(id))``.

    ``ranked`` maps a retriever name to its ids, best first. A missing weight counts as 1.0;
    a list with weight 0 still reports ranks but adds nothing to the score. Ties are broken
    by the best single rank, then by the order of first appearance (lists in the given order),
    so the result is deterministic.
    """
    if k < 1:
        raise ValueError(f"k={k} is not valid; it must be at least 1")
    weights = weights or {}
    names = list(ranked)
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int | None]] = {}
    first_seen: dict[str, int] = {}
    for name in names:
        w = float(weights.get(name, 1.0))
        seen: set[str] = set()
        for rank, item in enumerate(ranked[name], 1):
            if item in seen:  # a duplicate keeps its best rank
                continue
            seen.add(item)
            if item not in ranks:
                ranks[item] = dict.fromkeys(names)
                scores[item] = 0.0
                first_seen[item] = len(first_seen)
            ranks[item][name] = rank
            scores[item] += w / (k + rank)

    def best_rank(item: str) -> int:
        return min(r for r in ranks[item].values() if r is not None)

    order = sorted(scores, key=lambda i: (-scores[i], best_rank(i), first_seen[i]))
    return [Fused(i, scores[i], ranks[i]) for i in order]
