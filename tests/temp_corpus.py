"""A small corpus written to a temp dir and indexed, for tests that need a real index but not the seed corpus."""

from __future__ import annotations

from pathlib import Path

from rag.pipeline import build_index
from rag.settings import Settings


def build_temp_corpus(root: Path, files: dict[str, str]) -> Settings:
    """Write ``files`` (name -> text) to ``root/corpus``, index them into ``root/index``; the settings used."""
    (root / "corpus").mkdir()
    for name, text in files.items():
        (root / "corpus" / name).write_text(text, encoding="utf-8")
    settings = Settings.load(overrides={"corpus_dir": root / "corpus", "index_dir": root / "index",
                                        "data_dir": root / "data"}, env={})
    build_index(settings)
    return settings
