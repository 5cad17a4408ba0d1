import pytest

from rag.retrieval.fusion import reciprocal_rank_fusion


def test_rrf_sums_weighted_reciprocal_ranks():
    fused = reciprocal_rank_fusion({"bm25": ["a", "b", "c"], "dense": ["b", "d"]}, {"bm25": 1.0, "dense": 0.5}, k=60)
    assert [f.id for f in fused] == ["b", "a", "c", "d"]
    b = fused[0]
    assert b.score == pytest.approx(1 / 62 + 0.5 / 61)
    assert b.ranks == {"bm25": 2, "dense": 1}
    assert fused[3].ranks == {"bm25": None, "dense": 2}


def test_zero_weight_reports_ranks_but_adds_nothing():
    fused = reciprocal_rank_fusion({"bm25": ["a", "b"], "dense": ["b", "a"]}, {"bm25": 1.0, "dense": 0.0}, k=1)
    assert [f.id for f in fused] == ["a", "b"]
    assert fused[1].ranks == {"bm25": 2, "dense": 1}


def test_ties_are_deterministic():
    fused = reciprocal_rank_fusion({"bm25": ["a", "b"], "dense": ["b", "a"]}, k=60)
    assert [f.id for f in fused] == ["a", "b"]  # equal score and best rank: first seen wins


def test_duplicates_keep_best_rank_and_empty_input():
    assert [f.ranks for f in reciprocal_rank_fusion({"bm25": ["a", "a", "b"]})] == [{"bm25": 1}, {"bm25": 3}]
    assert reciprocal_rank_fusion({"bm25": [], "dense": []}) == []
    with pytest.raises(ValueError, match="k=0"):
        reciprocal_rank_fusion({"bm25": ["a"]}, k=0)
