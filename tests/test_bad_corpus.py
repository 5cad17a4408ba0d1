"""Generated bad corpus files through a real ``rag build`` (issue #12).

An index is built over a small good corpus; then files are added that a tester (or a careless copy from
a Windows share) would drop in: an empty file, binary garbage, a 50 MB text file, text in GBK, Big5 and
UTF-16 with and without a byte-order mark, malformed PDF / DOCX / HTML, and odd file names (spaces,
Chinese, 240 bytes long, a leading dash, rich markup, bytes that are not UTF-8). ``rag build`` (a
subprocess) must read the encodings correctly, skip each unusable file with one line naming it and why
(also in the manifest and /api/health, in Chinese too), exit 0 (4 with --strict), and keep everything
indexed before: the previous questions still find the same passages.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.ingest.loaders import MAX_TEXT_BYTES, MAX_TEXT_CHARS, decode_bytes
from rag.pipeline import Pipeline
from rag.serve.app import build_app
from rag.settings import Settings

GOOD = {
    "pilot.txt": "试点县支持政策\n\n一、资金支持\n\n省财政每年安排专项资金五千万元，支持试点县建设公共技术平台和产业园区。\n\n"
                 "二、人才支持\n\n试点县引进的高层次人才团队，经认定后给予最高三百万元的项目资助。\n",
    "fishery.txt": "宁德海洋渔业产业链\n\n一、装备升级\n\n对新建深远海养殖平台的企业，按设备投资额的百分之三十给予补助，单个项目最高一千万元。\n",
}
# question -> the chunk it finds, before and after the bad files arrive
BEFORE = ("高层次人才团队资助多少", "深远海养殖平台补助比例", "专项资金每年多少")

# Files in other encodings that must be READ (name -> (text, bytes)); each has a sentence only it holds.
ENCODED = {
    "gbk.txt": ("晋江鞋服产业链\n\n对鞋服企业技术改造项目给予设备投资额百分之十五的补助。\n", "gbk"),
    "big5.txt": ("德化陶瓷產業鏈\n\n對陶瓷企業新建節能窯爐給予一百萬元獎勵，並支持建設陶瓷產業園區。\n", "big5"),
    "utf16-bom.txt": ("安溪茶产业链\n\n对茶叶精深加工企业给予每家五十万元的奖励。\n", "utf-16"),
    "utf16le.txt": ("南安石材产业链\n\n对石材企业绿色化改造给予二百万元支持。\n", "utf-16-le"),
    "utf16be.txt": ("惠安雕艺产业链\n\n对雕艺企业设立省级工艺美术大师工作室给予八十万元补助。\n", "utf-16-be"),
    "gb18030.md": ("# 永春香产业\n\n对制香企业建设标准化厂房给予三十万元奖励。\n", "gb18030"),
}
ODD_NAMES = {  # readable files with names that trip up shells, terminals and markup
    "带 空格 的 文件.txt": "石狮服装产业\n\n对服装企业建设智能车间给予四十万元奖励。\n",
    "-leading-dash.txt": "福鼎白茶产业\n\n对白茶企业建设初制所给予二十万元补助。\n",
    "[bold]markup[/bold].txt".replace("/", "-"): "长汀稀土产业\n\n对稀土企业建设研发中心给予六十万元补助。\n",
    "很长的文件名" * 13 + ".txt": "古田食用菌产业\n\n对食用菌企业建设冷链仓储给予十五万元补助。\n",  # 238 bytes
}
BIG_MB = 50


def _docx_bytes() -> bytes:
    from docx import Document

    doc = Document()
    doc.add_paragraph("连江水产加工产业链")
    doc.add_paragraph("对水产加工企业给予七十万元奖励。")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def _big_text(path: Path, mb: int) -> None:
    line = ("对县域重点产业链企业技术改造项目按设备投资额给予补助，单个项目最高五百万元。" * 4 + "\n\n").encode("utf-8")
    with path.open("wb") as f:
        for _ in range(mb * 2**20 // len(line) + 1):
            f.write(line)


# name -> (bytes, words the skip reason must contain)
def bad_files(tmp: Path) -> dict[str, tuple[bytes, str]]:
    docx = _docx_bytes()
    return {
        "empty.txt": (b"", "the file is empty"),
        "blank.md": (b" \r\n\t\n", "the file is empty"),
        "garbage.txt": (os.urandom(30_000) + b"\x00", "binary file"),
        "garbage-no-nul.txt": (bytes((i * 7919 + 13) % 255 + 1 for i in range(30_000)), "could not detect the text encoding"),
        "image.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4000), "binary file"),
        "header-only.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage", "not a readable PDF"),
        "not-a.pdf": (b"this is a text file renamed to pdf", "not a readable PDF"),
        "truncated.docx": (docx[: len(docx) // 2], "not a readable .docx"),
        "zip-not-docx.docx": (_zip({"hello.txt": "hi"}), "not a readable .docx"),
        "bad-xml.docx": (_zip({"[Content_Types].xml": "<Types"}), "not a readable .docx"),
        "binary.html": (b"<html><body><p>\x00\x01\x02\xff</p>" + os.urandom(2000), "binary file"),
        "scripts-only.html": (b"<html><head><script>alert(1)</script><style>p{}</style></head><body></body></html>",
                              "the file has no text"),
        "sheet.xlsx": (b"PK\x03\x04", "unsupported file type .xlsx"),
    }


def _env(root: Path) -> dict[str, str]:
    keep = ("TIKTOKEN_CACHE_DIR", "HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PATH", "TOKENIZERS_PARALLELISM", "PYTHONPATH")
    return {**{k: v for k, v in os.environ.items() if k in keep}, "RAG_CORPUS_DIR": str(root / "corpus"),
            "RAG_INDEX_DIR": str(root / "index"), "RAG_DATA_DIR": str(root / "data"), "PYTHONIOENCODING": "utf-8"}


def rag_build(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", "build", *args], capture_output=True, text=True,
                          env=_env(root), cwd=root, timeout=300)


def _settings(root: Path) -> Settings:
    return Settings.load(overrides={"corpus_dir": root / "corpus", "index_dir": root / "index", "data_dir": root / "data"},
                         env={})


def _top(p: Pipeline, q: str) -> str:
    return p.search(q, top_k=1)[0].chunk.id


GBK_NAME = os.fsdecode("政策文件.txt".encode("gbk"))  # a name from a Windows zip: not UTF-8


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(root, the first build's answers, the second build's process) over the good corpus, then with the bad files."""
    root = tmp_path_factory.mktemp("bad-corpus")
    (root / "corpus").mkdir()
    for name, text in GOOD.items():
        (root / "corpus" / name).write_text(text, encoding="utf-8")
    first = rag_build(root)
    assert first.returncode == 0, first.stderr
    before = {q: _top(Pipeline(_settings(root)), q) for q in BEFORE}

    corpus = root / "corpus"
    for name, (data, _) in bad_files(root).items():
        (corpus / name).write_bytes(data)
    _big_text(corpus / "huge-50mb.txt", BIG_MB)
    for name, (text, enc) in ENCODED.items():
        (corpus / name).write_bytes(text.encode(enc))
    for name, text in ODD_NAMES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "unclosed-tags.html").write_text(
        "<html><body><div><p>漳州食品产业链<p>对食品企业建设中央厨房给予九十万元补助。<div><b>未闭合", encoding="utf-8")
    with open(os.path.join(os.fsencode(corpus), os.fsencode(GBK_NAME)), "wb") as f:
        f.write("平和蜜柚产业\n\n对蜜柚企业建设分拣中心给予二十五万元补助。\n".encode())
    second = rag_build(root)
    return root, before, second


def _skipped_lines(stderr: str) -> dict[str, str]:
    """``skipped NAME: REASON`` lines of ``rag build``, as {name: reason}."""
    out = {}
    for line in stderr.splitlines():
        if line.startswith("skipped "):
            name, _, reason = line[len("skipped "):].partition(": ")
            out[name] = reason
    return out


def test_every_bad_file_skipped_with_a_clear_message(built):
    root, _, proc = built
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    lines = _skipped_lines(proc.stderr)
    expected = {name: why for name, (_, why) in bad_files(root).items()}
    expected["huge-50mb.txt"] = f"the file is too large ({BIG_MB + 0.0:.1f} MB; the limit for .txt files is 20 MB)"
    gbk_shown = os.fsencode(GBK_NAME).decode("utf-8", "backslashreplace")
    expected[gbk_shown] = "the file name is not valid UTF-8 (as GBK: 政策文件.txt); rename the file"
    assert set(lines) == set(expected), proc.stderr
    for name, why in expected.items():
        assert why in lines[name], (name, lines[name])
    n = len(expected)
    assert f"{n} file(s) skipped; the index holds the others" in proc.stderr

    manifest = json.loads((root / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert {s["file"] for s in manifest["skipped"]} == set(expected)
    assert all(s["reason_zh"] and s["reason_zh"] != "无法读取" for s in manifest["skipped"]), manifest["skipped"]
    health = TestClient(build_app(Pipeline(_settings(root)))).get("/api/health").json()
    assert {s["file"] for s in health["corpus"]["skipped"]} == set(expected)
    zh = {s["file"]: s["reason_zh"] for s in health["corpus"]["skipped"]}
    assert zh["huge-50mb.txt"].startswith("文件过大") and zh["empty.txt"] == "文件为空"


def test_other_encodings_read_correctly_not_skipped(built):
    root, _, _ = built
    p = Pipeline(_settings(root))
    by_path = {d.path: d for d in p.documents.values()}
    for name, (text, _) in ENCODED.items():
        assert name in by_path, f"{name} was not indexed"
        body = "".join(c.text for c in p.index.chunks if c.doc_id == by_path[name].doc_id)
        sentence = text.strip().splitlines()[-1]
        assert sentence in body, (name, body)  # decoded, not mojibake
        assert _top(p, sentence[:18]).startswith(by_path[name].doc_id + ":"), name


def test_odd_names_and_lenient_html_indexed(built):
    root, _, _ = built
    p = Pipeline(_settings(root))
    paths = {d.path for d in p.documents.values()}
    assert set(ODD_NAMES) <= paths and "unclosed-tags.html" in paths
    html_doc = next(d for d in p.documents.values() if d.path == "unclosed-tags.html")
    assert any("中央厨房给予九十万元补助" in c.text for c in p.index.chunks if c.doc_id == html_doc.doc_id)
    for name, text in ODD_NAMES.items():
        doc = next(d for d in p.documents.values() if d.path == name)
        assert _top(p, text.splitlines()[-1][:16]).startswith(doc.doc_id + ":"), name


def test_nothing_previously_indexed_lost(built):
    root, before, _ = built
    p = Pipeline(_settings(root))
    assert {q: _top(p, q) for q in BEFORE} == before
    answer = p.ask("高层次人才团队资助多少")
    assert not answer.abstained and "三百万元" in answer.answer


def test_strict_and_incremental_builds_keep_reporting_them(built):
    root, _, second = built
    strict = rag_build(root, "--strict")
    assert strict.returncode == 4 and "up to date" in strict.stderr
    assert _skipped_lines(strict.stderr) == _skipped_lines(second.stderr)
    # one good file changes: an incremental build re-reads only it and still names every skipped file
    pilot = root / "corpus" / "pilot.txt"
    pilot.write_text(pilot.read_text(encoding="utf-8") + "\n三、用地保障\n\n优先保障试点县重点产业链项目用地。\n", encoding="utf-8")
    again = rag_build(root)
    assert again.returncode == 0, again.stderr
    assert _skipped_lines(again.stderr) == _skipped_lines(second.stderr)
    assert "优先保障试点县重点产业链项目用地" in Pipeline(_settings(root)).ask("项目用地怎么保障").answer


@pytest.mark.parametrize("text,enc", [
    ("福建省工业和信息化厅关于印发通知。Fujian 2024年，补助50%。", "utf-16"),
    ("福建省工业和信息化厅关于印发通知。Fujian 2024年，补助50%。", "utf-16-le"),
    ("福建省工业和信息化厅关于印发通知。Fujian 2024年，补助50%。", "utf-16-be"),
    ("全中文无标点福建省工业和信息化厅关于印发制造业数字化转型若干措施的通知", "utf-16-le"),
    ("全中文无标点福建省工业和信息化厅关于印发制造业数字化转型若干措施的通知", "utf-16-be"),
    ("臺灣與福建產業鏈合作，對臺資企業給予獎勵。", "big5"),
    ("福建省县域重点产业链，对企业给予补助。", "gbk"),
])
def test_decoder_reads_each_encoding(text, enc):
    assert decode_bytes(text.encode(enc), "x.txt") == text


def test_limits_are_sane():
    """The limits leave room for any real policy document (the largest seed document has 45 k characters)."""
    assert MAX_TEXT_CHARS >= 40 * 45_000 and MAX_TEXT_BYTES >= 3 * MAX_TEXT_CHARS


def test_text_over_the_character_limit_is_skipped(tmp_path):
    from rag.ingest import load_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "pilot.txt").write_text(GOOD["pilot.txt"], encoding="utf-8")
    (corpus / "long.txt").write_text("补" * (MAX_TEXT_CHARS + 1), encoding="utf-8")  # 6 MB: under the byte limit
    loaded = load_corpus(Settings.load(overrides={"corpus_dir": corpus, "index_dir": tmp_path / "index"}, env={}))
    assert [d.path for d in loaded.documents] == ["pilot.txt"]
    assert [(e.path, "the text is too long" in e.reason) for e in loaded.problems] == [("long.txt", True)]
