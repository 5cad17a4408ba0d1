"""Ingestion: each repair on real excerpts from the seeds, encodings, bad files, id stability."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys

import pytest

from rag.errors import DocumentError
from rag.ingest import load_corpus
from rag.ingest.loaders import decode_bytes, read_document
from rag.ingest.repair import fix_spacing, repair_mojibake, strip_pinyin
from rag.ingest.structure import Parser, Part
from rag.settings import Settings

PINYIN_OR_MOJIBAKE = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)|[\u3040-\u30ff\u3100-\u312f\ue000-\uf8ff]|\?\S")


def _settings(tmp_path, corpus):
    return Settings.load(overrides={"corpus_dir": corpus, "index_dir": tmp_path / "index"}, env={})


# --------------------------------------------------------------------------- 001 repairs
EXCERPT_001 = (
    "  “各級(jí)黨(dǎng)委、政府高度重視抓重點(diǎn)產(chǎn)業(yè)鏈工作,縣域產(chǎn)業(yè)發(fā)展動(dòng)能更加強(qiáng)勁?!"
    "备=ㄊ」ば艔d相關(guān)負(fù)責(zé)人在梳理發(fā)展之道時(shí),指出了著力所在。"
)


def test_pinyin_annotations_removed_on_real_excerpt():
    out = strip_pinyin(EXCERPT_001)
    assert "(jí)" not in out and "(dǎng)" not in out
    assert "各級黨委、政府高度重視抓重點產業鏈工作" in out


def test_pinyin_left_alone_in_documents_without_annotations():
    text = "发布对象（ESG）评价(下同)，共(2024)年。"
    assert strip_pinyin(text) == text


def test_mojibake_run_repaired_from_gbk_bytes_out_of_step():
    fixed, stats = repair_mojibake(strip_pinyin(EXCERPT_001), traditional=True)
    # "?!备=ㄊ」ば艔d" are the GBK bytes of 。”福建省工信廳 read one byte late; the lost
    # first byte (of 。) cannot be recovered, the rest decodes.
    assert "”福建省工信廳相關負責人" in fixed
    assert stats["repaired"] == 1
    assert not PINYIN_OR_MOJIBAKE.search(fixed)


def test_unrepairable_mojibake_dropped_with_omission_mark():
    text = strip_pinyin("發(fā)展縣(xiàn)域重點(diǎn)產(chǎn)業(yè)鏈?zhǔn)峭苿?dòng)高質(zhì)量發(fā)展的內(nèi)在要求")
    fixed, stats = repair_mojibake(text, traditional=True)
    assert fixed == "發展縣域重點產業鏈…高質量發展的內在要求"
    assert stats["dropped"] == 1


def test_simplified_documents_untouched_by_mojibake_repair(seed_corpus, corpus_dir):
    for name in ("fujian-county-industrial-chain-whitepaper-2024.txt", "quanzhou-county-chain-action-plan.txt"):
        raw = (corpus_dir / name).read_text(encoding="utf-8")
        assert repair_mojibake(raw)[0] == raw


def test_no_chunk_of_001_has_pinyin_or_mojibake(seed_corpus):
    chunks = [c for c in seed_corpus.chunks if c.doc_id == "news-county-chain"]
    assert len(chunks) > 30
    offenders = [c.id for c in chunks if PINYIN_OR_MOJIBAKE.search(c.text)]
    assert offenders == []


# --------------------------------------------------------------------------- 003 rewrap
EXCERPT_003 = """——工业总量跃上新台阶。2020 年，全省规模以上工业企业

业务收入达 5.55 万亿元，是 2015 年的 1.4 倍，在全国位次从第 8

位提升至第 5 位。2016—2020 年，全省规上工业增加值年均增长

7.1%，高于全国平均水平 1.6 个百分点；工业投资年均增长 10.5%，

— 11 —

高于全社会固定资产投资年均增速 2.8 个百分点；技改投资年均增

长 14.8%。

二、面临形势

——新阶段新理念，为福建省制造业高质量发展指明了方向。
"""


def _hard_wrapped(text: str) -> str:
    # the excerpt alone is too short for the document-level hard-wrap detector: repeat filler lines
    filler = "\n\n".join(["产业基础高级化和产业链现代化攻坚战是一项长期任务培育形成一批"] * 40)
    return filler + "\n\n第一章 发展环境\n\n一、发展基础\n\n" + text


def test_hard_wrapped_pdf_text_rejoined_into_paragraphs():
    blocks = Parser().parse(_hard_wrapped(EXCERPT_003))
    paras = [b for b in blocks if b.text.startswith("——工业总量")]
    assert len(paras) == 1
    p = paras[0].text
    # joined across line breaks and across the page number; stray spaces removed
    assert "2020年，全省规模以上工业企业业务收入达5.55万亿元" in p
    assert "在全国位次从第8位提升至第5位" in p
    assert "— 11 —" not in p and "11 —" not in p
    assert p.endswith("技改投资年均增长14.8%。")
    assert paras[0].heading_path == ("第一章 发展环境", "一、发展基础")
    heads = [b for b in blocks if b.kind == "heading" and b.text == "二、面临形势"]
    assert heads and heads[0].heading_path == ("第一章 发展环境", "二、面临形势")


def test_fix_spacing_keeps_latin_and_number_pairs():
    assert fix_spacing("2020 年，制造业增加值占 GDP 比重") == "2020年，制造业增加值占 GDP 比重"
    assert fix_spacing("表4 部分县域") == "表4 部分县域"
    assert fix_spacing("1.6 个百分点") == "1.6个百分点"


def test_five_year_plan_text_chunks_end_at_sentence_end(seed_corpus):
    chunks = [c for c in seed_corpus.chunks if c.doc_id == "manufacturing-plan-14th" and c.kind in ("text", "list_item")]
    ends = [c for c in chunks if c.text.rstrip()[-1] in "。！？；!?…”’）):："]
    assert len(ends) / len(chunks) >= 0.95


def test_pdf_indicator_table_rows_are_chunks(seed_corpus):
    rows = [c for c in seed_corpus.chunks if c.kind == "table_row" and c.doc_id == "manufacturing-plan-14th"]
    texts = {c.text.split(" ", 1)[0]: c for c in rows}
    assert set(map(str, range(1, 21))) <= set(texts)
    assert texts["10"].text.startswith("10 省级“专精特新”中小企业 家 1000")
    assert "分类：质量效益" in texts["10"].context
    assert "分类：绿色发展" in texts["17"].context and "完成国家下达指标" in texts["17"].text


# --------------------------------------------------------------------------- 000 TOC and tables
def test_whitepaper_toc_is_not_answer_material(seed_corpus):
    chunks = [c for c in seed_corpus.chunks if c.doc_id == "whitepaper-2024"]
    assert not any("目 录" in c.text or re.search(r"\s\d{1,2}$", c.text.split("\n")[0]) and c.text.startswith("- (") for c in chunks)
    assert not any(c.text.startswith("- (一)") for c in chunks)


def test_table4_rows_are_chunks_with_headers(seed_corpus):
    rows = [c for c in seed_corpus.chunks if c.kind == "table_row" and any(h.startswith("表4") for h in c.heading_path)]
    assert len(rows) == 10
    fuan = [c for c in rows if c.text.startswith("福安市")]
    assert len(fuan) == 1
    assert fuan[0].text.startswith("福安市 | 不锈钢 | 青拓集团 | 全国乃至世界最大的不锈钢生产基地")
    assert "列：县区 | 产业 | 龙头企业 | 市场影响力" in fuan[0].context
    assert all("县区" in c.context for c in rows)


def test_table_header_repeated_after_page_break_is_dropped(seed_corpus):
    rows = [c for c in seed_corpus.chunks if c.kind == "table_row" and any(h.startswith("表1") for h in c.heading_path)]
    assert [c.text.split(" | ")[0] for c in rows] == [str(i) for i in range(1, 8)]
    assert not any(c.text.startswith("序号") for c in rows)


def test_table5_two_header_rows_are_merged(seed_corpus):
    rows = [c for c in seed_corpus.chunks if c.kind == "table_row" and any(h.startswith("表5") for h in c.heading_path)]
    assert len(rows) == 5
    assert "地区生产总值 规模(万亿元)" in rows[0].context


# --------------------------------------------------------------------------- 002 annex tables
def test_annex_table_one_cell_per_line(seed_corpus):
    rows = [c for c in seed_corpus.chunks if c.kind == "table_row" and c.doc_id == "quanzhou-action-plan"]
    annex1 = [c for c in rows if c.heading_path[-1].startswith("附件1")]
    assert len(annex1) == 15
    assert annex1[0].text.startswith("优势产业 | 纺织鞋服 | 9 | 运动服装、校服工装")
    # merged (row-spanning) cells are filled down
    assert annex1[1].text.startswith("优势产业 | 建材家居 | 3")
    annex2 = [c for c in rows if c.heading_path[-1].startswith("附件2")]
    jinjiang = [c for c in annex2 if "| 晋江市 |" in c.text]
    assert len(jinjiang) == 5 and all(c.text.startswith("一类县域") for c in jinjiang)


# --------------------------------------------------------------------------- 004 compilation
def test_compilation_parts_kept_apart(seed_corpus):
    chunks = [c for c in seed_corpus.chunks if c.doc_id == "cluster-compilation"]
    parts = {c.part for c in chunks}
    assert len(parts - {""}) == 5
    shaanxi = [c for c in chunks if "陕西" in c.part]
    assert shaanxi and all(c.heading_path[0] == "陕西省人民政府关于加快产业集群发展的指导意见" for c in shaanxi)
    qufu = [c for c in chunks if c.part.startswith("曲阜")]
    assert any("(二)坚持科学规划" in " ".join(c.heading_path) for c in qufu)
    # numbering restarts per part: 三、 of the Fujian part is not the parent of Quanzhou text
    assert not any("陕西" in c.part and "三、政策措施" in c.heading_path for c in chunks)


def test_parts_from_catalog_are_applied():
    text = "总标题\n\n第一部分\n\n一、甲\n\n正文一。\n\n第二部分\n\n一、乙\n\n正文二。\n"
    blocks = Parser([Part("第一部分", "第一部分"), Part("第二部分", "第二部分")]).parse(text)
    body = {b.text: b.heading_path for b in blocks if b.kind != "heading"}
    assert body["正文一。"] == ("第一部分", "一、甲")
    assert body["正文二。"] == ("第二部分", "一、乙")


# --------------------------------------------------------------------------- whole-corpus properties
def test_every_chunk_outside_front_matter_has_heading_path(seed_corpus):
    for d in seed_corpus.documents:
        chunks = [c for c in seed_corpus.chunks if c.doc_id == d.doc_id]
        first = next(i for i, c in enumerate(chunks) if c.heading_path)
        assert [c.id for c in chunks[first:] if not c.heading_path] == []


def test_mean_chunk_length_and_spans(seed_corpus):
    lengths = [len(c.text) for c in seed_corpus.chunks]
    assert 80 <= statistics.mean(lengths) <= 400
    for c in seed_corpus.chunks:
        assert seed_corpus.cleaned[c.doc_id][c.start : c.end] == c.text
        assert c.kind in ("text", "heading", "table_row", "list_item")


def test_catalog_titles_and_aliases(seed_corpus):
    docs = {d.doc_id: d for d in seed_corpus.documents}
    assert docs["whitepaper-2024"].title == "福建省县域重点产业链发展白皮书（2024）"
    assert "000_3f3a7e70f85128a7.txt" in docs["whitepaper-2024"].aliases
    assert docs["manufacturing-plan-14th"].number == "闽政〔2021〕12号"
    assert docs["news-county-chain"].language == "zh-Hant"


# --------------------------------------------------------------------------- encodings and formats
SAMPLE = "泉州市加快推进县域重点产业链高质量发展行动方案。\n一、总体要求\n县域重点产业链是构建现代化产业体系的重要基础。\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le"])
def test_encodings_detected(encoding):
    data = SAMPLE.encode(encoding)
    if encoding == "utf-16-le":
        data = SAMPLE.encode("utf-16-le")  # no BOM
    assert decode_bytes(data, "x.txt") == SAMPLE


def test_gbk_file_never_becomes_mojibake(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "gbk.txt").write_bytes(("福建省人民政府文件\n\n" + SAMPLE * 3).encode("gbk"))
    loaded = load_corpus(_settings(tmp_path, corpus))
    assert not loaded.problems
    text = "".join(c.text for c in loaded.chunks)
    assert "县域重点产业链是构建现代化产业体系的重要基础" in text


def test_docx_and_html_loaders(tmp_path):
    from docx import Document

    doc = Document()
    doc.add_paragraph("一、总体要求")
    doc.add_paragraph("县域重点产业链是构建现代化产业体系的重要基础。")
    table = doc.add_table(rows=2, cols=3)
    for i, v in enumerate(["县区", "产业", "龙头企业"]):
        table.rows[0].cells[i].text = v
    for i, v in enumerate(["福安市", "不锈钢", "青拓集团"]):
        table.rows[1].cells[i].text = v
    path = tmp_path / "a.docx"
    doc.save(path)
    text = read_document(path)
    assert "县域重点产业链是构建现代化产业体系的重要基础。" in text
    assert "福安市\t不锈钢\t青拓集团" in text

    html = tmp_path / "b.html"
    html.write_text("<html><script>alert(1)</script><body><h2>一、总体要求</h2><p>正文第一段。</p>"
                    "<table><tr><th>县区</th><th>产业</th><th>龙头企业</th></tr>"
                    "<tr><td>福安市</td><td>不锈钢</td><td>青拓集团</td></tr></table></body></html>", encoding="utf-8")
    text = read_document(html)
    assert "alert" not in text and "正文第一段。" in text and "福安市\t不锈钢\t青拓集团" in text


def _tiny_pdf(text: str) -> bytes:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objs[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_pdf_loader(tmp_path):
    path = tmp_path / "c.pdf"
    path.write_bytes(_tiny_pdf("Policy text 2024."))
    assert "Policy text 2024." in read_document(path)


# --------------------------------------------------------------------------- bad files
@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n ", "empty"),
        ("binary.txt", bytes(range(256)) * 20, "binary"),
        ("broken.pdf", b"%PDF-1.4 not really", "PDF"),
        ("broken.docx", b"PK\x03\x04 nope", "docx"),
        ("notes.xlsx", b"whatever", "unsupported"),
    ],
)
def test_bad_files_reported_and_others_still_indexed(tmp_path, name, data, reason):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("一、总体要求\n\n县域重点产业链是构建现代化产业体系的重要基础。\n", encoding="utf-8")
    (corpus / name).write_bytes(data)
    loaded = load_corpus(_settings(tmp_path, corpus))
    assert [d.path for d in loaded.documents] == ["good.txt"]
    assert len(loaded.problems) == 1
    assert loaded.problems[0].path == name
    assert reason.lower() in loaded.problems[0].reason.lower()


def test_undecodable_bytes_give_clear_error():
    with pytest.raises(DocumentError) as e:
        decode_bytes(b"\x81\x20\xfe\x7f" * 40, "x.txt")
    assert "x.txt" in str(e.value)


def test_rag_build_cli_reports_skipped_file_and_keeps_index(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("一、总体要求\n\n县域重点产业链是构建现代化产业体系的重要基础。\n", encoding="utf-8")
    (corpus / "empty.txt").write_bytes(b"")
    env = {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_EMBEDDING_MODEL": "none",
           "PATH": "/usr/bin:/bin"}
    import os

    env.update({k: v for k, v in os.environ.items() if k in ("TIKTOKEN_CACHE_DIR", "HOME", "HF_HUB_OFFLINE")})
    proc = subprocess.run([sys.executable, "-m", "rag", "build"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # a skipped file does not stop `make run`
    assert "skipped empty.txt: the file is empty" in proc.stderr
    assert "Traceback" not in proc.stderr
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["documents"] == 1
    assert manifest["skipped"] == [{"file": "empty.txt", "reason": "the file is empty", "reason_zh": "文件为空"}]
    # --strict (for scripts) exits 4, also when the index is already up to date
    proc = subprocess.run([sys.executable, "-m", "rag", "build", "--strict"], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert "skipped empty.txt" in proc.stderr and "up to date" in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- ids and atomic builds
def test_chunk_ids_stable_across_rebuilds(tmp_path, corpus_dir):
    a = load_corpus(_settings(tmp_path, corpus_dir))
    b = load_corpus(_settings(tmp_path, corpus_dir))
    assert [(c.id, c.text) for c in a.chunks] == [(c.id, c.text) for c in b.chunks]
    assert len({c.id for c in a.chunks}) == len(a.chunks)
    assert all(re.fullmatch(r"[a-z0-9-]+:p\d{4}(-\d+)?", c.id) for c in a.chunks)


def test_failed_build_leaves_previous_index_usable(tmp_path, monkeypatch):
    from rag import pipeline as index_mod

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("一、总体要求\n\n县域重点产业链是构建现代化产业体系的重要基础。\n", encoding="utf-8")
    settings = Settings.load(overrides={"corpus_dir": corpus, "index_dir": tmp_path / "index", "embedding_model": "none"}, env={})
    index_mod.build_index(settings)
    before = (tmp_path / "index" / "chunks.jsonl").read_text(encoding="utf-8")
    (corpus / "more.txt").write_text("二、重点任务\n\n新增内容。\n", encoding="utf-8")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("rag.retrieval.RetrievalArtifacts.write", boom)
    with pytest.raises(RuntimeError):
        index_mod.build_index(settings)
    assert (tmp_path / "index" / "chunks.jsonl").read_text(encoding="utf-8") == before
    assert not list(tmp_path.glob(".index.building-*"))
    assert index_mod.open_index(settings).chunks


def test_compilation_part_issuer_from_catalog(seed_corpus):
    shaanxi = [c for c in seed_corpus.chunks if c.part.startswith("陕西")]
    assert shaanxi and {c.part_issuer for c in shaanxi} == {"陕西省人民政府"}


def test_news_section_titles_start_new_sections(seed_corpus):
    chunks = [c for c in seed_corpus.chunks if c.doc_id == "news-county-chain"]
    licheng = [c for c in chunks if c.text.startswith("荔城區著力聚鏈成勢")]
    assert licheng and licheng[0].heading_path == ("重點產業鏈發展先進縣域迅速崛起",)
    sign = [c for c in seed_corpus.chunks if c.doc_id == "quanzhou-action-plan" and "泉州市人民政府办公室" in c.text]
    assert sign and all("泉州市人民政府办公室" not in c.heading_path for c in seed_corpus.chunks if c.doc_id == "quanzhou-action-plan")


def test_colon_lead_in_is_merged_with_the_list_it_introduces(seed_corpus):
    news = [c for c in seed_corpus.chunks if c.doc_id == "news-county-chain" and "必須推廣" in c.text]
    assert len(news) == 1
    assert news[0].text.endswith("必須推廣:\n一個發展規劃、一個工作專班、一個支持政策、一個公共技術平臺、一個產業基金,一個專家組。")
    # an addressee line ends with a colon too, but what follows is a paragraph, not a list
    plan = {c.id: c for c in seed_corpus.chunks if c.doc_id == "manufacturing-plan-14th"}
    assert plan["manufacturing-plan-14th:p0004"].text.endswith("各高等院校:")
