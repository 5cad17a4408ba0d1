"""Policy vocabulary as data: everyday words → the documents' terms, answer-type cues, filler words.

The vocabulary lives in ``rag/data/policy_terms.toml`` (hand-written from general Chinese policy
language, not from evaluation questions; see its header) and can be extended by the TOML files
named in the setting ``vocabulary_files`` (same format; their entries are added). It is used

- by retrieval, to add the documents' words for an everyday word to the lexical query
  (省里 → 省级 / 全省 …, 个体户 → 个体工商户), and
- by question analysis, to drop filler (stopwordsiso's Chinese list plus the file's colloquial
  filler, minus the words the file says to keep), to let a term match any of its formal variants,
  and to read the asked answer type (count, amount, date, percent, list …) from its cue words.

The question normalisation used by both (short years, Chinese numerals) is here too.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import ConfigError

ANSWER_TYPES = ("count", "amount", "date", "percent", "list", "who", "condition", "yesno")


@dataclass(frozen=True)
class Vocabulary:
    """The loaded vocabulary: variants per everyday word, filler, kept words and answer-type cues."""

    variants: dict[str, tuple[str, ...]]  # everyday word -> formal terms (the word itself first)
    filler: frozenset[str]
    keep: frozenset[str]
    cues: dict[str, tuple[str, ...]]  # answer type -> cue phrases, longest first

    def expand(self, word: str) -> tuple[str, ...]:
        """``word`` and the documents' terms for it (just ``(word,)`` when the vocabulary has none)."""
        return self.variants.get(word, (word,))

    def is_filler(self, word: str) -> bool:
        """A word that carries no content in a policy question (并非 a kept policy word)."""
        return word in self.filler and word not in self.keep

    def answer_types(self, question: str) -> frozenset[str]:
        """The answer types whose cue phrases occur in ``question`` (simplified characters)."""
        return frozenset(t for t, cues in self.cues.items() if any(c in question for c in cues))

    @functools.cached_property
    def cue_words(self) -> frozenset[str]:
        """Every cue phrase of every answer type (比例, 金额, 什么时候 …)."""
        return frozenset(c for cues in self.cues.values() for c in cues)

    def query_terms(self, words: Iterable[str]) -> list[str]:
        """Formal variants of the everyday words among ``words`` that are not already there."""
        seen = set(words)
        out: list[str] = []
        for w in list(seen):
            for v in self.variants.get(w, ()):
                if v not in seen:
                    seen.add(v)
                    out.append(v)
        return out


def _read(data: dict, where: str, variants: dict[str, list[str]], filler: set[str], keep: set[str],
          cues: dict[str, list[str]]) -> None:
    for i, term in enumerate(data.get("term", [])):
        everyday, formal = term.get("everyday"), term.get("formal")
        if not isinstance(everyday, list) or not isinstance(formal, list):
            raise ConfigError(f"{where}: [[term]] #{i + 1} needs lists 'everyday' and 'formal'")
        for w in everyday:
            got = variants.setdefault(str(w), [str(w)])
            got.extend(str(f) for f in formal if str(f) not in got and len(str(f)) >= 2)
    for section, into in (("filler", filler), ("keep", keep)):
        block = data.get(section, {})
        for key in ("words", "covered_by_stopwordsiso"):
            into.update(str(w) for w in block.get(key, []))
    for kind, words in data.get("answer_types", {}).items():
        if kind not in ANSWER_TYPES:
            raise ConfigError(f"{where}: unknown answer type {kind!r}; valid: {', '.join(ANSWER_TYPES)}")
        cues.setdefault(kind, []).extend(str(w) for w in words)


@functools.lru_cache(maxsize=8)
def load_vocabulary(extra_files: tuple[Path, ...] = ()) -> Vocabulary:
    """The packaged vocabulary plus ``extra_files`` (TOML in the same format), cached."""
    import stopwordsiso

    variants: dict[str, list[str]] = {}
    filler: set[str] = set(stopwordsiso.stopwords("zh"))
    keep: set[str] = set()
    cues: dict[str, list[str]] = {}
    packaged = resources.files("rag").joinpath("data/policy_terms.toml")
    _read(tomllib.loads(packaged.read_text(encoding="utf-8")), "rag/data/policy_terms.toml", variants, filler, keep, cues)
    for path in extra_files:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"vocabulary file {path}: {e}") from None
        _read(data, str(path), variants, filler, keep, cues)
    return Vocabulary(
        variants={w: tuple(v) for w, v in variants.items()},
        filler=frozenset(filler),
        keep=frozenset(keep),
        cues={k: tuple(sorted(set(v), key=len, reverse=True)) for k, v in cues.items()},
    )


_SHORT_YEAR = re.compile(r"(?<![0-9０-９])([0-3][0-9])(?=\s*年(?!代|龄|级|内|间))")
# A Chinese numeral with a place value (十/百/千/万) before a classifier: 五十条, 二十家, 一百强. Bare
# digits-as-words (一县一特色, 六个一, 三年) are names or ordinary words and stay as written.
_CN_NUMBER = re.compile(r"(?<![第前])([零一二两三四五六七八九]?[十百千万][零一二两三四五六七八九十百千]*)(?=[条个家项名所批类种元强倍])")


def normalise_question(question: str) -> str:
    """Casual forms the documents write otherwise: 24年 → 2024年, 五十条 → 50条 (cn2an)."""
    import cn2an

    def arabic(m: re.Match) -> str:
        try:
            return str(cn2an.cn2an(m.group(1), "smart"))
        except (ValueError, KeyError):  # not a well-formed numeral: keep it as written
            return m.group(1)

    return _CN_NUMBER.sub(arabic, _SHORT_YEAR.sub(lambda m: "20" + m.group(1), question))


def vocabulary_for(files: Sequence[str | Path] = ()) -> Vocabulary:
    """:func:`load_vocabulary` for a list of extra files (as given in the settings)."""
    return load_vocabulary(tuple(Path(f) for f in files))
