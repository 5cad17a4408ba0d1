"""Memo citations: 《标题》（文号） for a document (or compilation part) with a 文号, else 《标题》（发文单位，日期）."""

from __future__ import annotations

from rag.answer.citations import memo_line, source_label
from rag.types import Chunk, DocumentInfo

PLAN = DocumentInfo(doc_id="plan", title="福建省“十四五”制造业高质量发展专项规划", issuer="福建省人民政府",
                    date="2021-06-29", number="闽政〔2021〕12号")
BOOK = DocumentInfo(doc_id="book", title="产业集群发展政策与经验汇编", issuer="多个发文单位（汇编）")


def _chunk(doc: DocumentInfo, **kw) -> Chunk:
    return Chunk(id=f"{doc.doc_id}:p0001", doc_id=doc.doc_id, title=doc.title, heading_path=kw.pop("path", ()),
                 kind="text", text="加快发展先进制造业。", start=0, end=10, **kw)


def test_numbered_document_is_cited_by_its_number():
    c = _chunk(PLAN, path=("第二章 发展目标",))
    assert source_label(c, PLAN) == "《福建省“十四五”制造业高质量发展专项规划》（闽政〔2021〕12号）"
    assert memo_line(c, PLAN, "加快发展先进制造业。") == (
        "《福建省“十四五”制造业高质量发展专项规划》（闽政〔2021〕12号）“第二章 发展目标”：“加快发展先进制造业。”")


def test_unnumbered_document_keeps_issuer_and_date():
    doc = DocumentInfo(doc_id="wp", title="白皮书", issuer="福建省工业和信息化厅", date="2024-12")
    assert source_label(_chunk(doc), doc) == "《白皮书》（福建省工业和信息化厅，2024年12月）"


def test_compilation_part_cites_its_own_number_or_issuer():
    numbered = _chunk(BOOK, part="陕西省人民政府关于加快产业集群发展的指导意见", part_issuer="陕西省人民政府",
                      part_number="陕政发〔2025〕20号")
    assert source_label(numbered, BOOK) == (
        "《产业集群发展政策与经验汇编》之《陕西省人民政府关于加快产业集群发展的指导意见》（陕政发〔2025〕20号）")
    plain = _chunk(BOOK, part="曲阜市工业经济产业集群发展", part_issuer="曲阜市经济贸易局")
    assert source_label(plain, BOOK) == "《产业集群发展政策与经验汇编》之《曲阜市工业经济产业集群发展》（曲阜市经济贸易局）"


def test_seed_plan_and_compilation_parts_carry_their_numbers(seed_corpus):
    plan = next(d for d in seed_corpus.documents if d.doc_id == "manufacturing-plan-14th")
    assert plan.number == "闽政〔2021〕12号"
    numbers = {c.part: c.part_number for c in seed_corpus.chunks if c.doc_id == "cluster-compilation"}
    assert numbers["陕西省人民政府关于加快产业集群发展的指导意见"] == "陕政发〔2025〕20号"
    assert numbers["曲阜市工业经济产业集群发展（曲阜市经济贸易局）"] == ""


def test_answer_from_the_plan_cites_its_number(seed_index):
    from rag.pipeline import Pipeline

    a = Pipeline(seed_index).ask("福建省“十四五”制造业规划提出到2025年制造业增加值占比目标是多少？",
                                 filters=None)
    plan = [c for c in a.citations if c.doc == "manufacturing-plan-14th"]
    assert plan, a.answer
    assert plan[0].memo.startswith("《福建省“十四五”制造业高质量发展专项规划》（闽政〔2021〕12号）")
