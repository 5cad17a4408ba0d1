"""All settings in one place: a pydantic-settings model, read in layers.

Precedence (later wins): built-in defaults < ``[tool.rag]`` in ``pyproject.toml`` (working directory)
< the settings file < ``RAG_*`` environment variables < explicit overrides (CLI flags). The settings
file is ``$RAG_SETTINGS`` when set, else ``rag.toml`` in the working directory when present; its keys
are the field names below, at the top level or under ``[rag]``, e.g. ``top_k = 8``.

A bad value is refused by :meth:`Settings.load` with a :class:`~rag.errors.ConfigError` that names
the layer it came from (``rag.toml: top_k='many' ...``, ``environment variable RAG_TOP_K='many' ...``),
the setting and what is valid. ``Settings(**values)`` takes ``values`` and the defaults only (no file,
no environment), for code and tests that want exactly the given settings; it raises pydantic's
ValidationError on a bad value, :meth:`Settings.with_` a ConfigError.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError, InputError

RETRIEVAL_MODES = ("hybrid", "bm25", "dense")
ANSWER_MODES = ("extractive", "llm")
STORES = ("local", "postgres")  # where the index lives (rag/index/store.py, rag/index/postgres.py)
MAX_TOP_K = 200  # one limit for the CLI, the API, the UI and the settings
# embedding_model: "static" = corpus-fitted static embeddings built at index time (no download);
# "none" = no dense half; anything else = a sentence-transformers model name or local folder.
EMBEDDING_BUILTINS = ("static", "none")
SETTINGS_FILE = Path("rag.toml")
PYPROJECT_FILE = Path("pyproject.toml")


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


# Every setting's environment variable is RAG_<NAME>, except these.
_ENV_NAMES = {"retrieval_mode": "RAG_RETRIEVAL"}


def env_var(name: str) -> str:
    """The environment variable of setting ``name`` (``top_k`` -> ``RAG_TOP_K``)."""
    return _ENV_NAMES.get(name, f"RAG_{name.upper()}")


def _one_of(name: str, value: str, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)}")
    return value


class Settings(BaseSettings):
    """All settings (see the module docstring for the layers); invalid values fail in the constructor."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=True)

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")  # feedback, exports
    # chunking
    chunk_max_tokens: int = Field(400, ge=32)
    chunk_min_chars: int = 40
    # retrieval
    retrieval_mode: str = "hybrid"
    # "none" by measurement: the corpus-fitted static model did not improve hybrid over BM25 on the
    # tuned gold items (docs/retrieval.md); "hybrid" + "none" is BM25 alone until a model is configured.
    embedding_model: str = "none"
    static_dim: int = Field(256, ge=8)
    top_k: int = Field(10, ge=1, le=MAX_TOP_K)
    bm25_weight: float = Field(1.0, ge=0)
    dense_weight: float = Field(0.5, ge=0)
    rrf_k: int = Field(60, ge=1)
    reranker: str = ""  # CrossEncoder name/folder; "" = off
    # answers
    answer_mode: str = "extractive"
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = Field("", repr=False)
    llm_timeout: float = Field(30.0, gt=0)
    llm_context_tokens: int = Field(3000, ge=1)
    # a folder whose prompt templates replace the packaged ones (rag/prompts/), file by file
    prompts_dir: Path = Path("prompts")
    # extra vocabulary TOML files (format of rag/data/policy_terms.toml), separated by os.pathsep or ","
    vocabulary: str = ""
    # LLM mode: rewrite the question into the documents' terms (and parts) before retrieval
    llm_rewrite: bool = True
    # LLM reliability (issue #12): requests in flight to the endpoint (the rest wait, on their deadline);
    # the circuit breaker opens after this many consecutive failures and tries again after the cooldown (s)
    llm_concurrency: int = Field(8, ge=1)
    llm_breaker_failures: int = Field(5, ge=1)
    llm_breaker_cooldown: float = Field(30.0, ge=0)
    # index store (issue #14): "local" = files in index_dir; "postgres" = PostgreSQL + pgvector at database_url
    # (`rag db start` prints a local one; `rag migrate --to postgres` publishes the local index there)
    store: str = "local"
    database_url: str = Field("", repr=False)

    # Settings whose change invalidates a built index.
    INDEX_KEYS: ClassVar[tuple[str, ...]] = ("chunk_max_tokens", "chunk_min_chars", "embedding_model", "static_dim")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """``Settings(...)`` reads its arguments only; :meth:`load` reads the layers."""
        return (init_settings,)

    @field_validator("retrieval_mode")
    @classmethod
    def _retrieval_mode(cls, v: str) -> str:
        return _one_of("retrieval_mode", v, RETRIEVAL_MODES)

    @field_validator("answer_mode")
    @classmethod
    def _answer_mode(cls, v: str) -> str:
        return _one_of("answer_mode", v, ANSWER_MODES)

    @field_validator("store")
    @classmethod
    def _store(cls, v: str) -> str:
        return _one_of("store", v, STORES)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.retrieval_mode == "dense" and self.embedding_model == "none":
            raise ValueError(
                "retrieval_mode='dense' needs an embedding model, but embedding_model='none'; "
                "set RAG_EMBEDDING_MODEL=static (built from the corpus, no download) or a sentence-transformers model name/folder"
            )
        return self

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """Defaults < pyproject.toml [tool.rag] < settings file < RAG_* env vars < ``overrides`` (None ignored).

        ``env`` replaces ``os.environ`` (tests pass ``{}``); the files are read from the working directory.
        """
        environ: Mapping[str, str] = os.environ if env is None else env
        layers: list[tuple[str, dict[str, Any]]] = []  # (where, values), lowest first
        if PYPROJECT_FILE.is_file():
            tool = _read_toml(PYPROJECT_FILE, lambda: TomlConfigSettingsSource(cls, toml_file=PYPROJECT_FILE)).get("tool")
            table = tool.get("rag") if isinstance(tool, dict) else None
            if table is not None and not isinstance(table, dict):
                raise ConfigError(f"{PYPROJECT_FILE}: [tool.rag] must be a table of settings, not {table!r}")
            layers.append((f"{PYPROJECT_FILE} [tool.rag]", table or {}))
        path = environ.get("RAG_SETTINGS")
        file = Path(path) if path else SETTINGS_FILE
        if path and not file.is_file():
            raise ConfigError(f"RAG_SETTINGS={path!r}: no such settings file")
        if file.is_file():
            data = _read_toml(file, lambda: TomlConfigSettingsSource(cls, toml_file=file))
            table = data.get("rag")
            layers.append((f"{file} [rag]" if isinstance(table, dict) else str(file),
                           table if isinstance(table, dict) else data))
        layers.append(("environment", _EnvSource(cls, environ)()))
        layers.append(("overrides", {k: v for k, v in (overrides or {}).items() if v is not None}))
        values: dict[str, Any] = {}
        origin: dict[str, str] = {}
        for where, data in layers:
            values.update(data)
            origin.update(dict.fromkeys(data, where))
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            raise ConfigError(_explain(e, origin.get)) from None

    def with_(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated again; ConfigError naming a bad value)."""
        try:
            return type(self)(**{**self.model_dump(), **changes})
        except ValidationError as e:
            raise ConfigError(_explain(e, lambda name: None)) from None

    def index_settings(self) -> dict[str, Any]:
        """The settings recorded in the index manifest; a change means a rebuild."""
        return {k: getattr(self, k) for k in self.INDEX_KEYS}

    def public_dict(self) -> dict[str, Any]:
        """Settings as JSON-friendly values, with the API key masked."""
        d = self.model_dump(mode="json")
        if d.get("llm_api_key"):
            d["llm_api_key"] = "***"
        if d.get("database_url"):  # a password in the URL is masked too
            d["database_url"] = re.sub(r"(://[^:/@?]+):[^@/?]+@", r"\1:***@", d["database_url"])
        return d

    @property
    def vocabulary_files(self) -> tuple[str, ...]:
        """The extra vocabulary files named by ``vocabulary`` (none by default)."""
        return tuple(p.strip() for p in self.vocabulary.replace(os.pathsep, ",").split(",") if p.strip())

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint and model are set."""
        return bool(self.llm_base_url and self.llm_model)


class _EnvSource(PydanticBaseSettingsSource):
    """The ``RAG_*`` variables of ``environ`` that name a setting (see :func:`env_var`); empty ones are unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        value = self.environ.get(env_var(field_name), "")
        return (value or None), env_var(field_name), False

    def __call__(self) -> dict[str, Any]:
        out = {}
        for name, info in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(info, name)
            if value is not None:
                out[name] = value
        return out


def _read_toml(file: Path, source: Callable[[], PydanticBaseSettingsSource]) -> dict[str, Any]:
    try:
        return source()()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"settings file {file}: not valid TOML ({e})") from None
    except OSError as e:
        raise ConfigError(f"settings file {file}: cannot be read ({e.strerror or e})") from None


def _explain(error: ValidationError, origin: Callable[[str], str | None]) -> str:
    """One line per bad value, naming where it came from (file and key, or environment variable)."""
    valid = ", ".join(Settings.model_fields)
    lines = []
    for err in error.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        where = origin(name) if name else None
        if where == "environment":
            blame = f"environment variable {env_var(name)}={err['input']!r}"
        elif where is not None and where != "overrides":
            blame = f"{where}: {name}={err['input']!r}"
        elif name:
            blame = f"{name}={err['input']!r}"
        else:
            blame = ""
        if err["type"] == "extra_forbidden":
            lines.append(f"{where + ': ' if where and where not in ('environment', 'overrides') else ''}"
                         f"unknown setting {name!r}; valid settings: {valid}")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{blame} is not valid: {msg}" if blame else msg)
    return "; ".join(lines)
