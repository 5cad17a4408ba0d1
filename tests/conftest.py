"""Shared fixtures. Tests run offline: tiktoken uses the shared cache when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_TIKTOKEN = ROOT.parent / "shared" / "tiktoken"
if SHARED_TIKTOKEN.is_dir() and not os.environ.get("TIKTOKEN_CACHE_DIR"):
    os.environ["TIKTOKEN_CACHE_DIR"] = str(SHARED_TIKTOKEN)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return ROOT / "corpus"


@pytest.fixture(scope="session")
def seed_corpus(corpus_dir):
    """The five seed documents, ingested once per test session."""
    from rag.ingest import load_corpus
    from rag.settings import Settings

    return load_corpus(Settings.load(overrides={"corpus_dir": corpus_dir}, env={}))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, corpus_dir):
    """A full index of the seed corpus built once per session into a temp dir."""
    from rag.pipeline import build_index
    from rag.settings import Settings

    index_dir = tmp_path_factory.mktemp("seed-index") / "index"
    settings = Settings.load(overrides={"corpus_dir": corpus_dir, "index_dir": index_dir}, env={})
    build_index(settings)
    return settings


@pytest.fixture(scope="module")
def server():
    """A fake OpenAI-compatible chat server on 127.0.0.1 (tests/fake_openai.py), one per test module.

    jieba is loaded first: the LLM tests use sub-second deadlines, which its start-up would eat.
    """
    from rag.answer.question import analyse_question

    from .fake_openai import FakeOpenAI

    analyse_question("试点县能得到哪些支持？")
    s = FakeOpenAI()
    yield s
    s.close()
