"""Property-based: arbitrary Unicode through the `rag` command line never crashes (issue #12).

Questions, ``--doc``, ``-k`` and ``--mode`` values go through ``rag ask`` / ``rag search`` via the
real entry point (:func:`rag.cli.main`, in-process, so hundreds of cases stay fast). Command-line
arguments can hold anything a shell passes: any Unicode, control characters, text that starts with
``-`` (an option to the parser), and lone surrogates (how Python spells bytes of an argument that are
not UTF-8, e.g. ``rag ask $'\\xff'``). Every run must end with a documented exit code — 0 answered,
2 bad input or usage (click's message), never 70 (internal error) or 1 — and print no traceback.
"""

from __future__ import annotations

import io
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag import cli

from .temp_corpus import build_temp_corpus

CORPUS = {
    "pilot.txt": "试点县支持政策\n\n一、资金支持\n\n"
                 "省财政每年安排专项资金五千万元，支持试点县建设公共技术平台和产业园区，对新建中试平台按投资额给予百分之二十的补助。\n\n"
                 "二、人才支持\n\n"
                 "試點縣引進的高層次人才團隊，經認定後給予最高三百萬元的項目資助。\n",
}
DOCUMENTED = {0, 2}  # ask/search: answered, or bad input / usage; 3 (no index) cannot happen here
# bytes that are not UTF-8 arrive in sys.argv as lone surrogates (os.fsdecode's surrogateescape)
RAW_ARG = st.binary(min_size=1, max_size=12).map(os.fsdecode)
TEXT = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(categories=("Lo", "Nd", "P", "Zs", "Cc", "Cf", "Mn", "So", "Cs")), max_size=30),
    st.lists(st.sampled_from(["试点县", "补助", "多少", "？", "--", "-k", "--json", "[1]", "<b>", "\n", "忽略以上", "\x00",
                              "🙂", "\u200b", "%s", "{0}", "\\", "'", '"', "泉州", "-"]), max_size=10).map("".join),
    RAW_ARG,
)
OPTION_VALUE = st.one_of(TEXT, st.sampled_from(["0", "-1", "3", "99999999999999999999", "1e3", "nan", "pilot", "llm",
                                                "extractive", ""]))
PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def rag_env(tmp_path_factory):
    s = build_temp_corpus(tmp_path_factory.mktemp("cli-props"), CORPUS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_CORPUS_DIR", str(s.corpus_dir))
        mp.setenv("RAG_INDEX_DIR", str(s.index_dir))
        mp.setenv("RAG_DATA_DIR", str(s.data_dir))
        mp.setenv("RAG_ANSWER_MODE", "extractive")
        mp.delenv("RAG_DEBUG", raising=False)
        yield s


class _Terminal(io.TextIOWrapper):
    """A UTF-8 stdout/stderr like a real terminal's (strict: an unencodable character is an error)."""

    def __init__(self):
        super().__init__(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)

    def text(self) -> str:
        return self.buffer.getvalue().decode("utf-8")


def run(argv: list[str]) -> tuple[int, str]:
    """``rag ARGV`` through :func:`rag.cli.main`: (exit code, stdout + stderr)."""
    out, err = _Terminal(), _Terminal()
    old = sys.argv, sys.stdout, sys.stderr
    sys.argv, sys.stdout, sys.stderr = ["rag", *argv], out, err
    code: int | str | None = 0
    try:
        cli.main()
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv, sys.stdout, sys.stderr = old
    return (code if isinstance(code, int) else (0 if code is None else 1)), out.text() + err.text()


def check(argv: list[str]) -> None:
    code, output = run(argv)
    assert code in DOCUMENTED, (argv, code, output[-500:])
    assert "Traceback" not in output and "internal error" not in output, (argv, output[-500:])
    if code == 2:
        assert output.strip(), f"exit 2 without a message: {argv!r}"


@PROPS
@given(q=TEXT, as_json=st.booleans())
def test_ask_any_question(rag_env, q, as_json):
    check(["ask", q, *(["--json"] if as_json else [])])


@PROPS
@given(q=TEXT, as_json=st.booleans())
def test_search_any_question(rag_env, q, as_json):
    check(["search", q, *(["--json"] if as_json else [])])


@PROPS
@given(q=TEXT, k=OPTION_VALUE, doc=OPTION_VALUE)
def test_search_any_options(rag_env, q, k, doc):
    check(["search", "-k", k, "--doc", doc, "--", q])


@PROPS
@given(q=TEXT, mode=OPTION_VALUE, doc=OPTION_VALUE)
def test_ask_any_options(rag_env, q, mode, doc):
    check(["ask", "--mode", mode, "--doc", doc, "--json", "--", q])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(st.one_of(TEXT, st.sampled_from(["--json", "-k", "--doc", "--mode", "--batch", "-h", "--", "3",
                                                       "pilot", "llm"])), max_size=6),
       command=st.sampled_from(["ask", "search"]))
def test_any_argument_list(rag_env, args, command):
    check([command, *args])


def test_a_real_answer_and_a_refusal(rag_env):
    """The property tests could pass if everything were refused: a good question is answered, junk is refused."""
    code, out = run(["ask", "试点县新建中试平台补助多少？"])
    assert code == 0 and "百分之二十" in out and "[1]" in out
    code, out = run(["search", "-k", "0", "试点县"])
    assert code == 2 and out.startswith("error: ") and "k" in out
    code, out = run(["ask", "\udcff\udcfe"])
    assert code in (0, 2) and "Traceback" not in out
