"""Settings: the layers (defaults < pyproject [tool.rag] < rag.toml < RAG_* < overrides) and errors naming their source."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.settings import MAX_TOP_K, Settings, env_var


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """An empty working directory (no rag.toml, no pyproject.toml)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_files_or_env(here):
    s = Settings.load(env={})
    assert s == Settings()
    assert (s.top_k, s.retrieval_mode, s.answer_mode, s.corpus_dir) == (10, "hybrid", "extractive", Path("corpus"))


def test_layers_later_wins(here):
    write(here / "pyproject.toml", '[project]\nname = "x"\n[tool.rag]\ntop_k = 3\nrrf_k = 30\nchunk_min_chars = 11\nstatic_dim = 16\n')
    write(here / "rag.toml", "top_k = 4\nrrf_k = 40\nchunk_min_chars = 12\n")
    s = Settings.load(env={"RAG_TOP_K": "5", "RAG_RRF_K": "50"}, overrides={"top_k": 6, "rrf_k": None})
    assert s.top_k == 6            # override
    assert s.rrf_k == 50           # environment (a None override is no override)
    assert s.chunk_min_chars == 12  # rag.toml
    assert s.static_dim == 16      # pyproject.toml [tool.rag]
    assert s.chunk_max_tokens == 400  # default


def test_pyproject_tool_rag_accepted_alone(here):
    write(here / "pyproject.toml", '[tool.rag]\nretrieval_mode = "bm25"\nllm_rewrite = false\n')
    s = Settings.load(env={})
    assert (s.retrieval_mode, s.llm_rewrite) == ("bm25", False)


def test_pyproject_without_tool_rag_is_ignored(here):
    write(here / "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    assert Settings.load(env={}) == Settings()


def test_rag_table_in_settings_file(here):
    write(here / "rag.toml", "[rag]\ntop_k = 7\n")
    assert Settings.load(env={}).top_k == 7


def test_rag_settings_env_names_the_file(here):
    other = write(here / "other.toml", 'answer_mode = "llm"\n')
    write(here / "rag.toml", "top_k = 4\n")  # not read when RAG_SETTINGS names another file
    s = Settings.load(env={"RAG_SETTINGS": str(other)})
    assert (s.answer_mode, s.top_k) == ("llm", 10)
    with pytest.raises(ConfigError, match="RAG_SETTINGS='nope.toml': no such settings file"):
        Settings.load(env={"RAG_SETTINGS": "nope.toml"})


def test_bad_value_in_rag_toml_is_blamed_on_the_file_and_key(here):
    write(here / "rag.toml", 'top_k = "many"\n')
    with pytest.raises(ConfigError) as e:
        Settings.load(env={})
    msg = str(e.value)
    assert msg.startswith("rag.toml: top_k='many' is not valid")
    assert "RAG_TOP_K" not in msg and "environment" not in msg


def test_bad_value_in_env_is_blamed_on_the_variable(here):
    write(here / "rag.toml", "top_k = 4\n")
    with pytest.raises(ConfigError) as e:
        Settings.load(env={"RAG_TOP_K": "many"})
    msg = str(e.value)
    assert msg.startswith("environment variable RAG_TOP_K='many' is not valid")
    assert "rag.toml" not in msg


def test_bad_value_in_pyproject_is_blamed_on_tool_rag(here):
    write(here / "pyproject.toml", '[tool.rag]\nretrieval_mode = "fuzzy"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml \[tool.rag\]: retrieval_mode='fuzzy' is not valid: "
                                          r"retrieval_mode must be one of hybrid, bm25, dense"):
        Settings.load(env={})


def test_env_value_fixes_a_bad_file_value(here):
    """The winning layer is what is validated: a bad file value overridden by a good env var is no error."""
    write(here / "rag.toml", 'top_k = "many"\n')
    assert Settings.load(env={"RAG_TOP_K": "9"}).top_k == 9


def test_unknown_key_named_with_its_file_and_the_valid_ones(here):
    write(here / "rag.toml", "topk = 3\n")
    with pytest.raises(ConfigError, match=r"rag.toml: unknown setting 'topk'; valid settings: corpus_dir, .*top_k"):
        Settings.load(env={})
    with pytest.raises(ConfigError, match="unknown setting 'frob'"):
        Settings.load(env={}, overrides={"frob": 1})


def test_invalid_toml_names_the_file(here):
    write(here / "rag.toml", "top_k = = 3\n")
    with pytest.raises(ConfigError, match="settings file rag.toml: not valid TOML"):
        Settings.load(env={})


@pytest.mark.parametrize(("env", "expected"), [
    ({"RAG_TOP_K": "0"}, "greater than or equal to 1"),
    ({"RAG_TOP_K": str(MAX_TOP_K + 1)}, f"less than or equal to {MAX_TOP_K}"),
    ({"RAG_BM25_WEIGHT": "-1"}, "greater than or equal to 0"),
    ({"RAG_ANSWER_MODE": "chat"}, "answer_mode must be one of extractive, llm"),
    ({"RAG_STORE": "mysql"}, "store must be one of local, postgres"),
    ({"RAG_LLM_REWRITE": "maybe"}, "valid boolean"),
    ({"RAG_RETRIEVAL": "dense"}, "needs an embedding model"),
])
def test_each_check_names_the_value(here, env, expected):
    with pytest.raises(ConfigError, match=expected) as e:
        Settings.load(env=env)
    name = next(iter(env))
    if name != "RAG_RETRIEVAL":  # the cross-field check names both settings instead
        assert f"environment variable {name}=" in str(e.value)


def test_env_strings_are_coerced_and_empty_ones_unset(here):
    s = Settings.load(env={"RAG_TOP_K": "12", "RAG_LLM_TIMEOUT": "2.5", "RAG_LLM_REWRITE": "off",
                           "RAG_INDEX_DIR": "/tmp/i", "RAG_RETRIEVAL": "bm25", "RAG_ANSWER_MODE": ""})
    assert (s.top_k, s.llm_timeout, s.llm_rewrite, s.index_dir, s.retrieval_mode, s.answer_mode) == \
        (12, 2.5, False, Path("/tmp/i"), "bm25", "extractive")


def test_env_var_names():
    assert env_var("top_k") == "RAG_TOP_K"
    assert env_var("retrieval_mode") == "RAG_RETRIEVAL"


def test_process_environment_is_the_default(here, monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "13")
    assert Settings.load().top_k == 13
    assert Settings().top_k == 10  # the constructor reads no layer


def test_interface_kept(here):
    s = Settings(embedding_model="static", static_dim=8)
    t = s.with_(top_k=3)
    assert (t.top_k, t.static_dim, s.top_k) == (3, 8, 10)
    assert hash(s) == hash(Settings(embedding_model="static", static_dim=8))  # frozen, usable as a key
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        s.top_k = 4  # type: ignore[misc]
    with pytest.raises(ConfigError, match="top_k=0 is not valid"):
        s.with_(top_k=0)
    assert s.index_settings() == {"chunk_max_tokens": 400, "chunk_min_chars": 40, "embedding_model": "static",
                                  "static_dim": 8}


def test_secrets_masked(here):
    s = Settings(llm_api_key="sk-secret", database_url="postgresql://u:pw@h/db")
    d = s.public_dict()
    assert d["llm_api_key"] == "***" and d["database_url"] == "postgresql://u:***@h/db"
    assert d["corpus_dir"] == "corpus"  # JSON-friendly
    assert "sk-secret" not in repr(s) and "pw@" not in repr(s)


def test_cli_names_the_bad_file_value_without_a_traceback(here):
    """`rag status` with a bad rag.toml: exit 2 and one line blaming rag.toml, not the environment."""
    import os
    import subprocess
    import sys

    write(here / "rag.toml", 'top_k = "many"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    r = subprocess.run([sys.executable, "-m", "rag", "status"], cwd=here, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == "error: rag.toml: top_k='many' is not valid: Input should be a valid integer, " \
                               "unable to parse string as an integer"
    env["RAG_TOP_K"] = "0"
    write(here / "rag.toml", "top_k = 3\n")
    r = subprocess.run([sys.executable, "-m", "rag", "status"], cwd=here, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: environment variable RAG_TOP_K='0' is not valid")
