"""``to_simplified``'s own conversion of a piece equals opencc's (issue #13: opencc was most of tokenising)."""

import random
from pathlib import Path

from rag.text import _t2s, _t2s_converter, to_simplified

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def _opencc(text: str) -> str:
    return _t2s().convert(text)


def test_converter_equals_opencc_on_the_corpus():
    assert _t2s_converter() is not None
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines()[:400]:
            assert to_simplified(line) == _opencc(line)
        # one long piece without separators (what looks_traditional converts)
        sample = "".join(c for c in text[:5000] if "\u4e00" <= c <= "\u9fff")
        assert to_simplified(sample) == _opencc(sample)


def test_converter_equals_opencc_on_overlapping_phrases():
    cc = _t2s()
    conv = _t2s_converter()
    phrases, chars = (list(d[2]) for d in cc._dict_chain_data[0])
    pool = phrases + chars[:500] + [k[:j] for k in phrases for j in range(1, len(k))] + \
        [k[j:] for k in phrases for j in range(1, len(k))] + list("的是发展产业，。 ")
    rng = random.Random(13)
    for _ in range(3000):
        s = "".join(rng.choice(pool) for _ in range(rng.randrange(1, 25)))
        assert to_simplified(s) == _opencc(s)
        for piece in cc.split_chars_re.split(s)[::2]:
            assert conv.convert(piece) == cc._convert(piece, cc._dict_chain_data)
