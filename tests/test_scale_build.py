"""What the x300 build-speed work (issue #13) changed must not change what is built."""

from dataclasses import asdict, fields

from rag.types import Chunk


def _asdict_chunk(c: Chunk) -> dict:
    d = asdict(c)
    d["heading_path"] = list(c.heading_path)
    d["doc"] = c.doc_id
    return d


def test_chunk_to_dict_equals_asdict():
    c = Chunk("d:p0001", "d", "标题", ("一、总则", "（一）目标"), "text", "正文。", 3, 6, "表头", "第一部分", "某厅", "某〔2024〕1号")
    assert c.to_dict() == _asdict_chunk(c)
    assert list(c.to_dict()) == [f.name for f in fields(Chunk)] + ["doc"]
    assert Chunk.from_dict(c.to_dict()) == c
