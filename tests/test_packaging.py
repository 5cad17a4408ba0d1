"""The package as users get it: a built wheel, installed (not editable), used outside the checkout.

The wheel is built once from a copy of the checkout's files (tracked and new, not ignored ones: no
index, no egg-info), so nothing outside the package can make it work. It is installed into a fresh
venv that sees the dependencies already installed in the test interpreter's environment through a
.pth file (no download), and then builds an index and answers in LLM mode against the fake server
from a directory that holds only a corpus. What this tests is that the package's own files are
complete (code, prompts, static files, data); that the dependency list installs is checked by a
clean `pip install .` (see README "Installing").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from .answer_fixtures import GOOD, QUESTION
from .conftest import ROOT
from .fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow

PACKAGE_DATA = ("rag/prompts/answer_system.txt", "rag/prompts/answer_user.txt", "rag/prompts/rewrite_system.txt",
                "rag/data/policy_terms.toml", "rag/serve/static/ui.css", "rag/serve/static/ui.js",
                "rag/eval/report.css", "rag/py.typed")


def run(*args, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{args} exited {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel --no-deps`` of a copy of the checkout's files."""
    root = tmp_path_factory.mktemp("pkg")
    src = root / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():  # a file deleted in the work tree is still listed until committed
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root / "dist"),
        str(src), cwd=root)
    (whl,) = (root / "dist").glob("fujian_policy_rag-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A new venv with the wheel installed; dependencies come from this interpreter's site-packages."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    run(sys._base_executable, "-m", "venv", "--system-site-packages", str(venv), cwd=venv.parent)
    py = venv / "bin" / "python"
    site = run(str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=venv.parent).stdout.strip()
    # a path line only: the test environment's editable install of this project (a .pth hook there) stays inactive
    Path(site, "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    run(str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel), cwd=venv.parent)
    return venv


def test_wheel_holds_package_data_and_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = z.read(meta).decode()
    missing = [p for p in PACKAGE_DATA if p not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert not any(n.startswith(("prompts/", "corpus/", "tests/", "index/")) for n in names)
    assert "License-Expression: MIT" in metadata and any(n.endswith("licenses/LICENSE") for n in names)
    requires = {line.split(":", 1)[1].strip().split(";")[0] for line in metadata.splitlines() if line.startswith("Requires-Dist:")}
    for dep in ("scipy>=1.11", "pydantic-settings>=2.6", "fastapi>=0.115", "uvicorn>=0.30"):
        assert dep in requires, f"{dep} not declared"


def test_installed_package_answers_in_llm_mode_outside_the_checkout(venv, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(ROOT / "corpus", work / "corpus")
    rag = str(venv / "bin" / "rag")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.pop("PYTHONPATH", None)
    where = run(str(venv / "bin" / "python"), "-c", "import rag; print(rag.__file__)", cwd=work, env=env).stdout
    assert where.startswith(str(venv)), f"rag imported from {where}, not the installed wheel"
    run(rag, "build", "--strict", cwd=work, env=env)
    assert (work / "index" / "manifest.json").is_file()

    fake = FakeOpenAI()
    try:
        fake.reply = FakeOpenAI.text(GOOD)
        env.update(RAG_LLM_BASE_URL=fake.base_url, RAG_LLM_MODEL="fake", RAG_LLM_TIMEOUT="20", RAG_LLM_REWRITE="0")
        out = run(rag, "ask", QUESTION, "--mode", "llm", "--json", cwd=work, env=env).stdout
    finally:
        fake.close()
    answer = json.loads(out)
    assert answer["mode"] == "llm" and not answer["abstained"], answer
    assert not answer.get("notices"), answer.get("notices")  # no extractive fallback
    assert [s["supported"] for s in answer["sentences"]] == [True, True, True]
    assert "52项" in answer["citations"][0]["quote"]
    (req,) = fake.requests
    system = req["body"]["messages"][0]["content"]
    assert system == (ROOT / "rag" / "prompts" / "answer_system.txt").read_text(encoding="utf-8")


def test_a_prompts_folder_in_the_working_directory_overrides_a_template(venv, tmp_path):
    """prompts/ beside the corpus is the user's override, file by file (the others stay packaged)."""
    code = ("from rag.settings import Settings; from rag.answer.llm import prompt_file; "
            "s = Settings.load(); print(prompt_file(s, 'answer_system.txt')); print(prompt_file(s, 'answer_user.txt'))")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "answer_system.txt").write_text("只根据来源回答。", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    system, user = run(str(venv / "bin" / "python"), "-c", code, cwd=tmp_path, env=env).stdout.split()
    assert system == "prompts/answer_system.txt"  # RAG_PROMPTS_DIR defaults to ./prompts
    assert user.startswith(str(venv)) and user.endswith("rag/prompts/answer_user.txt")
