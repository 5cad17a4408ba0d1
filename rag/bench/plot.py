"""The benchmark plot: search latency and build time against corpus size, ours and the peer (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(rows: list[dict[str, Any]], out: Path) -> Path:
    """Write a two-panel PNG of ``rows`` (from :func:`rag.bench.run.run`) to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["chunks"])
    x = [r["chunks"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for side, style in (("ours", "o-"), ("peer", "s--")):
        a.plot(x, [r[side]["search_p95_ms"] for r in rows], style, label=f"{side} p95")
        a.plot(x, [r[side]["search_p50_ms"] for r in rows], style, alpha=0.5, label=f"{side} p50")
        b.plot(x, [r[side]["build_s"] for r in rows], style, label=side)
    if any("incremental_build_s" in r["ours"] for r in rows):
        inc = [r for r in rows if "incremental_build_s" in r["ours"]]
        b.plot([r["chunks"] for r in inc], [r["ours"]["incremental_build_s"] for r in inc], "^:", label="ours, incremental")
    for ax, title, unit in ((a, "search latency (warm, k=10)", "ms"), (b, "build time", "s")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("chunks")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("rag vs LangChain EnsembleRetriever(BM25Retriever + FAISS), 2 cores")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
