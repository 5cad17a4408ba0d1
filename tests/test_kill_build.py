"""kill -9 during builds (issue #12): the previous index always survives.

A real ``rag build --force`` subprocess over a copy of one seed document is killed with SIGKILL after a
random delay spread over a build's measured duration, 20 times. After each kill the index must load
and give the same answers to 20 questions as before (retrieval for all 20, a full answer for one of
them in turn, so every question is answered once), its files must match their checksums (what
``rag check`` verifies), and at the end a build must succeed, ``rag check`` must pass and no
directory of a killed build may be left beside the index. The window between a build's two renames
(the old index moved aside, the new one not yet in) is too short to hit at random, so it is
reproduced directly: the moved-aside index is put back.

Bounded: the corpus is one 34 kB document (a build, start-up included, takes 3-5 s on the loaded 2-core test
machine), so the 20 kills take about a minute.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.pipeline import Pipeline, build_index
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FILES = ("quanzhou-county-chain-action-plan.txt", "catalog.toml")
KILLS = 20

pytestmark = pytest.mark.timeout(240)


def _questions() -> list[str]:
    out = []
    for line in (ROOT / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["id"].startswith(("qz-", "news-")):
            out.append(item["question"])
    return out[:20]


def _env(root: Path) -> dict[str, str]:
    keep = ("TIKTOKEN_CACHE_DIR", "HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PATH", "TOKENIZERS_PARALLELISM",
            "PYTHONPATH")
    return {**{k: v for k, v in os.environ.items() if k in keep}, "RAG_CORPUS_DIR": str(root / "corpus"),
            "RAG_INDEX_DIR": str(root / "index"), "RAG_DATA_DIR": str(root / "data")}


def _rag(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=_env(root),
                          cwd=root, timeout=120)


def _settings(root: Path) -> Settings:
    return Settings.load(overrides={"corpus_dir": root / "corpus", "index_dir": root / "index", "data_dir": root / "data"},
                         env={})


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".index."))


def _results(p: Pipeline, questions: list[str]) -> list[tuple[str, ...]]:
    return [tuple(r.chunk.id for r in p.search(q, top_k=5)) for q in questions]


@pytest.fixture()
def corpus(tmp_path):
    (tmp_path / "corpus").mkdir()
    for name in FILES:
        shutil.copyfile(ROOT / "corpus" / name, tmp_path / "corpus" / name)
    return tmp_path


def test_kill_9_at_random_points_in_20_builds(corpus):
    root = corpus
    questions = _questions()
    assert len(questions) == 20
    first = _rag(root, "build")
    assert first.returncode == 0, first.stderr
    t0 = time.monotonic()
    timed = _rag(root, "build", "--force")  # what is killed below: a forced build (with the token cache)
    duration = time.monotonic() - t0
    assert timed.returncode == 0, timed.stderr
    before = Pipeline(_settings(root))
    expected = _results(before, questions)
    answers = [before.ask(q).answer for q in questions]
    assert all(expected) and all(answers)

    rng = random.Random(12)
    killed, finished = [], 0
    for i in range(KILLS):
        delay = rng.uniform(0.0, duration)
        proc = subprocess.Popen([sys.executable, "-m", "rag", "build", "--force"], env=_env(root), cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the build and anything it started
            killed.append(round(delay, 2))
        else:
            finished += 1
        proc.wait(timeout=30)
        p = Pipeline(_settings(root))  # a fresh load, as a restarted server would do
        assert _results(p, questions) == expected, f"kill {i + 1} after {delay:.2f}s changed the results"
        assert p.ask(questions[i]).answer == answers[i], f"kill {i + 1} after {delay:.2f}s changed an answer"
        bad, _ = p.check()
        assert bad == [], f"kill {i + 1} after {delay:.2f}s: {bad}"
    print(f"\nbuild {duration:.2f}s; killed {len(killed)} of {KILLS} at {killed}, {finished} finished first")
    assert len(killed) >= KILLS // 2, "most builds must be killed mid-way, or this tests nothing"

    again = _rag(root, "build", "--force")
    assert again.returncode == 0 and "built" in again.stderr, again.stderr
    check = _rag(root, "check")
    assert check.returncode == 0 and check.stdout.startswith("index ok:"), check.stdout + check.stderr
    assert _leftovers(root) == []  # the killed builds' temporary directories were swept
    assert _results(Pipeline(_settings(root)), questions) == expected


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_build_killed_between_its_two_renames_leaves_the_previous_index(corpus):
    settings = _settings(corpus)
    build_index(settings)
    questions = _questions()[:5]
    expected = _results(Pipeline(settings), questions)
    # what a build killed between os.replace(index, old) and os.replace(new, index) leaves behind
    pid = _dead_pid()
    os.replace(corpus / "index", corpus / f".index.old-{pid}")
    (corpus / f".index.building-{pid}").mkdir()
    (corpus / f".index.building-{pid}" / "chunks.jsonl").write_text("{half a line", encoding="utf-8")
    p = Pipeline(settings)
    assert _results(p, questions) == expected  # the moved-aside index was put back
    assert (corpus / "index" / "manifest.json").is_file()
    assert p.check()[0] == []
    build_index(settings, force=True)
    assert _leftovers(corpus) == []


def test_directories_of_a_running_build_are_left_alone(corpus):
    settings = _settings(corpus)
    build_index(settings)
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = corpus / f".index.building-{running.pid}"
        mine.mkdir()
        build_index(settings, force=True)
        assert mine.is_dir()  # another build still writing there: not swept
    finally:
        running.kill()
        running.wait()
    build_index(settings, force=True)
    assert _leftovers(corpus) == []
