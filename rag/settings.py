"""All settings in one place.

Precedence (later wins): built-in defaults < settings file < ``RAG_*`` environment
variables < explicit overrides (CLI flags). The settings file is ``$RAG_SETTINGS``
when set, else ``rag.toml`` in the current directory when present. Its keys are the
field names below, e.g. ``top_k = 8``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputError

RETRIEVAL_MODES = ("hybrid", "bm25", "dense")
ANSWER_MODES = ("extractive", "llm")
STORES = ("local", "postgres")  # where the index lives (rag/index/store.py, rag/index/postgres.py)
MAX_TOP_K = 200  # one limit for the CLI, the API, the UI and the settings
# embedding_model: "static" = corpus-fitted static embeddings built at index time (no download);
# "none" = no dense half; anything else = a sentence-transformers model name or local folder.
EMBEDDING_BUILTINS = ("static", "none")


def check_answer_mode(mode: Any) -> str:
    """``mode`` if it is an answer mode; InputError naming the valid ones otherwise."""
    if mode not in ANSWER_MODES:
        raise InputError(f"回答方式无效 / \"mode\" must be one of {', '.join(ANSWER_MODES)}, not {mode!r}")
    return mode


def check_top_k(k: Any) -> int:
    """``k`` if it is an integer from 1 to MAX_TOP_K; InputError saying so otherwise."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_TOP_K:
        raise InputError(f"\"k\" 必须是 1–{MAX_TOP_K} 的整数 / \"k\" must be an integer from 1 to {MAX_TOP_K}, not {k!r}")
    return k


MAX_QUESTION_CHARS = 2000  # one limit for a question, in the API and the chat page


def check_question_length(question: str) -> str:
    """``question`` if it has at most MAX_QUESTION_CHARS characters; InputError saying so otherwise.

    (Retrieval reads only the first ``rag.retrieval.query.MAX_QUERY_CHARS`` of an accepted question.)
    """
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"问题过长（{len(question)} 个字符，最多 {MAX_QUESTION_CHARS} 个），请精简后再问 / "
                         f"\"question\" is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS})")
    return question


def _env(name: str) -> dict[str, Any]:
    return {"env": name}


@dataclass(frozen=True)
class Settings:
    """All settings (see the module docstring for precedence); invalid values fail in the constructor."""
    corpus_dir: Path = field(default=Path("corpus"), metadata=_env("RAG_CORPUS_DIR"))
    index_dir: Path = field(default=Path("index"), metadata=_env("RAG_INDEX_DIR"))
    data_dir: Path = field(default=Path("data"), metadata=_env("RAG_DATA_DIR"))  # feedback, exports
    # chunking
    chunk_max_tokens: int = field(default=400, metadata=_env("RAG_CHUNK_MAX_TOKENS"))
    chunk_min_chars: int = field(default=40, metadata=_env("RAG_CHUNK_MIN_CHARS"))
    # retrieval
    retrieval_mode: str = field(default="hybrid", metadata=_env("RAG_RETRIEVAL"))
    # "none" by measurement: the corpus-fitted static model did not improve hybrid over BM25 on the
    # tuned gold items (docs/retrieval.md); "hybrid" + "none" is BM25 alone until a model is configured.
    embedding_model: str = field(default="none", metadata=_env("RAG_EMBEDDING_MODEL"))
    static_dim: int = field(default=256, metadata=_env("RAG_STATIC_DIM"))
    top_k: int = field(default=10, metadata=_env("RAG_TOP_K"))
    bm25_weight: float = field(default=1.0, metadata=_env("RAG_BM25_WEIGHT"))
    dense_weight: float = field(default=0.5, metadata=_env("RAG_DENSE_WEIGHT"))
    rrf_k: int = field(default=60, metadata=_env("RAG_RRF_K"))
    reranker: str = field(default="", metadata=_env("RAG_RERANKER"))  # CrossEncoder name/folder; "" = off
    # answers
    answer_mode: str = field(default="extractive", metadata=_env("RAG_ANSWER_MODE"))
    llm_base_url: str = field(default="", metadata=_env("RAG_LLM_BASE_URL"))
    llm_model: str = field(default="", metadata=_env("RAG_LLM_MODEL"))
    llm_api_key: str = field(default="", metadata=_env("RAG_LLM_API_KEY"))
    llm_timeout: float = field(default=30.0, metadata=_env("RAG_LLM_TIMEOUT"))
    llm_context_tokens: int = field(default=3000, metadata=_env("RAG_LLM_CONTEXT_TOKENS"))
    prompts_dir: Path = field(default=Path("prompts"), metadata=_env("RAG_PROMPTS_DIR"))
    # extra vocabulary TOML files (format of rag/data/policy_terms.toml), separated by os.pathsep or ","
    vocabulary: str = field(default="", metadata=_env("RAG_VOCABULARY"))
    # LLM mode: rewrite the question into the documents' terms (and parts) before retrieval
    llm_rewrite: bool = field(default=True, metadata=_env("RAG_LLM_REWRITE"))
    # LLM reliability (issue #12): requests in flight to the endpoint (the rest wait, on their deadline);
    # the circuit breaker opens after this many consecutive failures and tries again after the cooldown (s)
    llm_concurrency: int = field(default=8, metadata=_env("RAG_LLM_CONCURRENCY"))
    llm_breaker_failures: int = field(default=5, metadata=_env("RAG_LLM_BREAKER_FAILURES"))
    llm_breaker_cooldown: float = field(default=30.0, metadata=_env("RAG_LLM_BREAKER_COOLDOWN"))
    # index store (issue #14): "local" = files in index_dir; "postgres" = PostgreSQL + pgvector at database_url
    # (`rag db start` prints a local one; `rag migrate --to postgres` publishes the local index there)
    store: str = field(default="local", metadata=_env("RAG_STORE"))
    database_url: str = field(default="", metadata=_env("RAG_DATABASE_URL"))

    @property
    def vocabulary_files(self) -> tuple[str, ...]:
        """The extra vocabulary files named by ``vocabulary`` (none by default)."""
        return tuple(p.strip() for p in self.vocabulary.replace(os.pathsep, ",").split(",") if p.strip())

    # Settings whose change invalidates a built index.
    INDEX_KEYS = ("chunk_max_tokens", "chunk_min_chars", "embedding_model", "static_dim")

    def __post_init__(self):
        if self.store not in STORES:
            raise ConfigError(f"store={self.store!r} is not valid; choose one of {', '.join(STORES)}")
        if self.retrieval_mode not in RETRIEVAL_MODES:
            raise ConfigError(
                f"retrieval_mode={self.retrieval_mode!r} is not valid; choose one of {', '.join(RETRIEVAL_MODES)}"
            )
        if self.answer_mode not in ANSWER_MODES:
            raise ConfigError(f"answer_mode={self.answer_mode!r} is not valid; choose one of {', '.join(ANSWER_MODES)}")
        for name, lo in (("top_k", 1), ("chunk_max_tokens", 32), ("rrf_k", 1), ("static_dim", 8)):
            if getattr(self, name) < lo:
                raise ConfigError(f"{name}={getattr(self, name)} is too small; it must be at least {lo}")
        if self.top_k > MAX_TOP_K:
            raise ConfigError(f"top_k={self.top_k} is too large; use at most {MAX_TOP_K}")
        if self.bm25_weight < 0 or self.dense_weight < 0:
            raise ConfigError("bm25_weight and dense_weight must be >= 0")
        if self.retrieval_mode == "dense" and self.embedding_model == "none":
            raise ConfigError(
                "retrieval_mode='dense' needs an embedding model, but embedding_model='none'; "
                "set RAG_EMBEDDING_MODEL=static (built from the corpus, no download) or a sentence-transformers model name/folder"
            )

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
        """Defaults < settings file < RAG_* env vars < ``overrides`` (None values ignored)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        path = env.get("RAG_SETTINGS")
        file = Path(path) if path else Path("rag.toml")
        if path and not file.is_file():
            raise ConfigError(f"RAG_SETTINGS={path!r}: no such settings file")
        if file.is_file():
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise ConfigError(f"settings file {file}: not valid TOML ({e})") from None
            values.update(data.get("rag", data))
        for f in fields(cls):
            name = f.metadata.get("env")
            if name and env.get(name, "") != "":
                values[f.name] = env[name]
        for k, v in (overrides or {}).items():
            if v is not None:
                values[k] = v
        return cls._coerce(values)

    @classmethod
    def _coerce(cls, values: dict[str, Any]) -> Settings:
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for k, v in values.items():
            if k not in known:
                raise ConfigError(f"unknown setting {k!r}; valid settings: {', '.join(sorted(known))}")
            default = known[k].default
            try:
                if isinstance(default, bool):
                    kwargs[k] = v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on")
                elif isinstance(default, int):
                    kwargs[k] = int(v)
                elif isinstance(default, float):
                    kwargs[k] = float(v)
                elif isinstance(default, Path):
                    kwargs[k] = Path(v)
                else:
                    kwargs[k] = str(v)
            except (TypeError, ValueError):
                env = known[k].metadata.get("env", "")
                raise ConfigError(
                    f"{k}={v!r}{f' (from {env})' if env else ''} is not a valid {type(default).__name__}"
                ) from None
        return cls(**kwargs)

    def with_(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def index_settings(self) -> dict[str, Any]:
        """The settings recorded in the index manifest; a change means a rebuild."""
        return {k: getattr(self, k) for k in self.INDEX_KEYS}

    def public_dict(self) -> dict[str, Any]:
        """Settings as JSON-friendly values, with the API key masked."""
        d = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        if d.get("llm_api_key"):
            d["llm_api_key"] = "***"
        if d.get("database_url"):  # a password in the URL is masked too
            import re

            d["database_url"] = re.sub(r"(://[^:/@?]+):[^@/?]+@", r"\1:***@", d["database_url"])
        return d

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint and model are set."""
        return bool(self.llm_base_url and self.llm_model)
