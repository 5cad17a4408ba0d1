"""Metadata read from a document's own text when the catalog is silent (rag/ingest/metadata.py), and
how it reaches the index, `rag build` and /api/health."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.ingest import load_corpus, reason_zh
from rag.ingest.loaders import read_document
from rag.ingest.metadata import infer_metadata, parse_date, parse_issuers, parse_number
from rag.settings import Settings

NOTICE = """闽工信〔2023〕7 号

福建省工业和信息化厅关于印发
制造业数字化转型若干措施的通知

各设区市工信局：

现将《若干措施》印发给你们，根据《福建省人民政府办公厅关于推进县域重点产业链高质量发展的意见》（闽政办〔2024〕25号），请认真贯彻执行。

一、总体要求

加快推进制造业数字化转型，2025年12月底前完成。

福建省工业和信息化厅
2023年3月15日
"""


@pytest.mark.parametrize("line,want", [
    ("闽政〔2021〕12号", "闽政〔2021〕12号"),
    (" 闽政〔2021〕12 号", "闽政〔2021〕12号"),
    ("闽委发（2025）6号", "闽委发〔2025〕6号"),
    ("泉政文[2024]第 3 号", "泉政文〔2024〕3号"),
    ("根据闽政〔2021〕12号文件", ""),  # a sentence citing a number is not a number line
])
def test_document_numbers(line, want):
    assert parse_number(line) == want


@pytest.mark.parametrize("line,want", [
    ("2021 年 6 月 29 日", "2021-06-29"), ("2024年12月", "2024-12"), ("二〇二一年六月二十九日", "2021-06-29"),
    ("二○○九年三月十九日", "2009-03-19"), ("2025-08-16", "2025-08-16"), ("2024年13月", ""), ("截至2024年底", ""),
])
def test_dates(line, want):
    assert parse_date(line) == want


def test_issuer_lines():
    assert parse_issuers("福建省人民政府") == "福建省人民政府"
    assert parse_issuers("福建省工业和信息化厅 福建省财政厅") == "福建省工业和信息化厅、福建省财政厅"
    assert parse_issuers("加快推进制造业数字化转型") == ""
    assert parse_issuers("各设区市工信局：") == ""


def test_notice_with_number_title_and_signature():
    m = infer_metadata(NOTICE)
    assert (m.title, m.issuer, m.date, m.number) == (
        "福建省工业和信息化厅关于印发制造业数字化转型若干措施的通知", "福建省工业和信息化厅", "2023-03-15", "闽工信〔2023〕7号")
    assert m.sources["issuer"] == m.sources["date"] == "signature (落款)"
    assert m.sources["number"] == "number line" and m.sources["title"] == "title lines"


def test_cover_with_issuer_and_date_under_the_title_and_wrapped_title():
    m = infer_metadata("福建省县域重点产业链发展 白皮书（2024）\n\n福建省工业和信息化厅\n\n2024年12月\n\n目 录\n\n一、前言\n\n正文。")
    assert (m.title, m.issuer, m.date, m.number) == ("福建省县域重点产业链发展白皮书（2024）", "福建省工业和信息化厅", "2024-12", "")
    assert m.sources["issuer"] == "line under the title"
    m = infer_metadata("泉州市加快推进县域重点产业链\n高质量发展行动方案\n（送审稿）\n\n县域重点产业链是构建现代化产业体系的重要基础。")
    assert m.title == "泉州市加快推进县域重点产业链高质量发展行动方案（送审稿）" and not m.issuer and not m.date


def test_body_text_never_gives_metadata():
    m = infer_metadata("一、总体要求\n\n根据闽政〔2021〕12号文件，2024年12月底前，省工信厅完成评估。\n\n二、重点任务\n\n推进。")
    assert (m.title, m.issuer, m.date, m.number) == ("", "", "", "")


def test_issuer_from_title_prefix_when_unsigned():
    m = infer_metadata("福建省人民政府办公厅关于推进县域重点产业链高质量发展的意见\n\n各市、县（区）人民政府：\n\n现提出如下意见。")
    assert m.issuer == "福建省人民政府办公厅" and m.sources["issuer"] == "title (……关于)"


def _settings(tmp_path, corpus):
    return Settings.load(overrides={"corpus_dir": corpus, "index_dir": tmp_path / "index", "embedding_model": "none"}, env={})


def test_load_corpus_infers_only_what_the_catalog_does_not_state(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "new-notice.txt").write_text(NOTICE, encoding="gb18030")
    (corpus / "partly.txt").write_text(NOTICE, encoding="utf-8")
    (corpus / "plain.txt").write_text("一、总体要求\n\n县域重点产业链是构建现代化产业体系的重要基础。\n", encoding="utf-8")
    (corpus / "catalog.toml").write_text(
        '[[document]]\nid = "partly"\nfile = "partly.txt"\ntitle = "数字化转型若干措施"\nissuer = ""\n', encoding="utf-8")
    docs = {d.path: d for d in load_corpus(_settings(tmp_path, corpus)).documents}
    new = docs["new-notice.txt"]
    assert (new.title, new.issuer, new.date, new.number, new.title_source) == (
        "福建省工业和信息化厅关于印发制造业数字化转型若干措施的通知", "福建省工业和信息化厅", "2023-03-15",
        "闽工信〔2023〕7号", "title_line")
    assert new.inferred == {"title": "title lines", "issuer": "signature (落款)", "date": "signature (落款)",
                            "number": "number line"}
    partly = docs["partly.txt"]  # title and issuer (empty) stated by the catalog; date and number read from the text
    assert (partly.title, partly.issuer, partly.date, partly.number) == ("数字化转型若干措施", "", "2023-03-15", "闽工信〔2023〕7号")
    assert set(partly.inferred) == {"date", "number"}
    plain = docs["plain.txt"]
    assert (plain.title, plain.title_source, plain.issuer) == ("plain", "file_name", "")
    assert plain.inferred == {"title": "file name", "issuer": "", "date": "", "number": ""}


def test_seed_documents_keep_their_catalog_metadata(seed_corpus):
    assert all(not d.inferred and d.title_source == "catalog" for d in seed_corpus.documents)


def test_seed_files_read_without_the_catalog(corpus_dir):
    m = infer_metadata(read_document(corpus_dir / "fujian-14th-five-year-manufacturing-plan.txt"))
    assert (m.issuer, m.date, m.number) == ("福建省人民政府", "2021-06-29", "闽政〔2021〕12号")
    assert "制造业高质量发展专项规划" in m.title
    m = infer_metadata(read_document(corpus_dir / "fujian-county-industrial-chain-whitepaper-2024.txt"))
    assert (m.title, m.issuer, m.date) == ("福建省县域重点产业链发展白皮书（2024）", "福建省工业和信息化厅", "2024-12")


def test_build_reports_skipped_and_inferred_in_the_manifest_cli_and_health(tmp_path):
    from fastapi.testclient import TestClient

    from rag.pipeline import Pipeline
    from rag.serve.app import build_app

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "new-notice.txt").write_text(NOTICE, encoding="utf-8")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index"), "PATH": "/usr/bin:/bin"}
    import os

    env.update({k: v for k, v in os.environ.items() if k in ("TIKTOKEN_CACHE_DIR", "HOME", "HF_HUB_OFFLINE")})
    proc = subprocess.run([sys.executable, "-m", "rag", "build"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(ln.startswith("skipped broken.pdf: not a readable PDF") for ln in lines)
    line = next(ln for ln in lines if ln.startswith("metadata from text new-notice.txt:"))
    assert "issuer “福建省工业和信息化厅” (from the signature (落款))" in line and "number “闽工信〔2023〕7号”" in line
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))
    rec = manifest["inferred"][0]
    assert rec["file"] == "new-notice.txt" and rec["date"] == "2023-03-15" and rec["not_found"] == []
    assert manifest["skipped"][0]["reason_zh"] == "PDF 文件损坏，无法读取"

    health = TestClient(build_app(Pipeline(_settings(tmp_path, corpus)))).get("/api/health").json()
    assert health["corpus"]["skipped"][0]["file"] == "broken.pdf"
    assert health["corpus"]["inferred"][0]["number"] == "闽工信〔2023〕7号"
    assert health["documents"][0]["issuer"] == "福建省工业和信息化厅"


def test_every_skip_reason_has_a_chinese_form():
    for reason in ("the file is empty", "looks like a binary file, not text (contains NUL bytes)",
                   "unsupported file type .xlsx; supported: .txt", "the PDF has no extractable text (scanned image?)",
                   "document id 'x' is already used by another file", "not a readable .docx file (KeyError)"):
        assert reason_zh(reason) != "无法读取", reason
