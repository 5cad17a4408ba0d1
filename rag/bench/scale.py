"""A synthetic scale-up of the corpus that keeps realistic term statistics.

``scale_corpus(src, out, n)`` writes the original documents (ids, names and text unchanged, so the
gold questions keep their evidence) plus ``n - 1`` copies of each, every copy made distinct the way
real policy files of other places differ:

- **place names**: each copy is set in a province drawn from a list, and Fujian's province name, its
  abbreviation (闽), its cities and counties (simplified and traditional forms) are mapped onto that
  province's cities and counties by a per-copy random permutation (written in traditional characters
  inside the traditional document);
- **numbers**: multi-digit figures are rescaled by a random factor (same number of decimals), years
  shifted by a per-copy offset; list and heading numbers (line starts, 第N, 表N ...) are left alone so
  the outline parses the same way;
- **headings**: heading lines get common policy synonyms (推进→推动, 加快→加速, 强化→加强 ...) at random;
- **recombination across copies**: a document is cut at its top-level headings (一、 二、 ...) and each
  block takes the place names and numbers of its own copy, or (one block in four) of another copy,
  so place names co-occur the way they do in documents that cite several counties.

Copies are named ``copyNNN-<original name>`` and sort *before* the originals, so a tie between an
original paragraph and a verbatim near-duplicate is broken against the original (the conservative way
for the hit@5 figure). Deterministic for a given ``seed``. Catalog entries are copied with the same
substitutions (a compilation's parts keep matching: such documents use their own copy's mapping
throughout and keep their headings).
"""

from __future__ import annotations

import functools
import random
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

CATALOG = "catalog.toml"

# Fujian places that occur in the seed corpus (cities first, then counties/districts), simplified.
FUJIAN_CITIES = ["福州", "厦门", "泉州", "漳州", "莆田", "三明", "南平", "龙岩", "宁德", "平潭"]
FUJIAN_COUNTIES = [
    "惠安", "安溪", "晋江", "南安", "石狮", "武平", "永春", "洛江", "福安", "鲤城", "德化", "泉港", "福清", "丰泽",
    "上杭", "光泽", "同安", "荔城", "建阳", "长乐", "湖里", "明溪", "福鼎", "尤溪", "古田", "涵江", "邵武", "沙县",
    "秀屿", "晋安", "政和", "连江", "漳浦", "芗城", "长汀", "蕉城", "龙文", "翔安", "集美", "闽侯", "鼓楼", "建瓯",
    "仓山", "诏安", "云霄", "东山", "平和", "华安", "长泰", "龙海", "仙游", "永安", "大田", "将乐", "泰宁", "建宁",
    "浦城", "武夷山", "顺昌", "松溪", "新罗", "永定", "漳平", "连城", "霞浦", "寿宁", "周宁", "柘荣", "屏南", "罗源",
    "闽清", "永泰", "马尾",
]
# Target provinces: (name, abbreviation, cities, counties).
PROVINCES = [
    ("浙江", "浙", ["杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水"],
     ["义乌", "慈溪", "余姚", "诸暨", "乐清", "瑞安", "温岭", "海宁", "桐乡", "长兴", "德清", "安吉", "嘉善", "平湖",
      "永康", "东阳", "兰溪", "浦江", "天台", "仙居", "玉环", "龙泉", "青田", "缙云", "遂昌", "象山", "宁海", "新昌",
      "嵊州", "上虞", "柯桥", "萧山", "富阳", "临安", "桐庐", "淳安", "建德", "江山", "常山", "开化", "龙游", "岱山",
      "嵊泗", "三门", "临海", "永嘉", "平阳", "苍南", "文成", "泰顺", "庆元", "景宁", "松阳", "云和", "武义", "磐安",
      "海盐", "南浔", "吴兴", "鄞州", "北仑", "镇海", "奉化", "瓯海", "鹿城", "龙湾", "洞头", "婺城", "金东", "越城",
      "柯城", "衢江", "定海", "普陀", "椒江"]),
    ("江苏", "苏", ["南京", "苏州", "无锡", "常州", "南通", "扬州", "镇江", "泰州", "盐城", "淮安", "宿迁", "徐州"],
     ["昆山", "江阴", "张家港", "常熟", "太仓", "宜兴", "丹阳", "靖江", "如皋", "海安", "启东", "邳州", "沭阳",
      "睢宁", "沛县", "丰县", "新沂", "东台", "建湖", "射阳", "阜宁", "滨海", "响水", "盱眙", "涟水", "金湖", "泗洪",
      "泗阳", "宝应", "高邮", "仪征", "句容", "扬中", "兴化", "泰兴", "溧阳", "金坛", "如东", "海门", "灌云", "灌南",
      "东海", "赣榆", "吴江", "吴中", "相城", "江宁", "浦口", "六合", "溧水", "高淳", "武进", "新北", "惠山", "锡山",
      "江都", "邗江", "姜堰", "高港", "通州", "崇川", "清江浦", "淮阴", "洪泽", "宿豫", "宿城", "铜山", "贾汪", "大丰",
      "亭湖", "盐都", "京口", "润州", "丹徒"]),
    ("广东", "粤", ["广州", "深圳", "佛山", "东莞", "中山", "江门", "惠州", "肇庆", "汕头", "湛江", "茂名", "清远"],
     ["顺德", "南海", "番禺", "增城", "从化", "花都", "博罗", "惠东", "龙门", "台山", "开平", "鹤山", "恩平", "四会",
      "高要", "广宁", "德庆", "封开", "怀集", "潮阳", "澄海", "南澳", "雷州", "廉江", "吴川", "遂溪", "徐闻", "高州",
      "化州", "信宜", "电白", "英德", "连州", "佛冈", "阳山", "连山", "普宁", "揭西", "惠来", "饶平", "潮安", "陆丰",
      "海丰", "陆河", "紫金", "龙川", "连平", "和平", "东源", "兴宁", "五华", "丰顺", "大埔", "蕉岭", "平远", "梅县",
      "始兴", "仁化", "翁源", "乳源", "新丰", "乐昌", "南雄", "阳春", "阳西", "新兴", "郁南", "罗定", "云安", "斗门",
      "金湾", "三水", "高明"]),
    ("山东", "鲁", ["济南", "青岛", "淄博", "枣庄", "烟台", "潍坊", "济宁", "泰安", "威海", "日照", "临沂", "德州"],
     ["寿光", "青州", "诸城", "高密", "昌邑", "安丘", "昌乐", "临朐", "胶州", "平度", "莱西", "即墨", "龙口", "莱阳",
      "莱州", "招远", "栖霞", "海阳", "蓬莱", "荣成", "乳山", "文登", "邹城", "曲阜", "兖州", "微山", "鱼台", "金乡",
      "嘉祥", "汶上", "泗水", "梁山", "新泰", "肥城", "宁阳", "东平", "莒县", "五莲", "沂水", "沂南", "郯城", "兰陵",
      "费县", "平邑", "蒙阴", "临沭", "莒南", "乐陵", "禹城", "齐河", "平原", "夏津", "武城", "庆云", "临邑", "宁津",
      "陵城", "邹平", "博兴", "惠民", "阳信", "无棣", "沾化", "桓台", "高青", "沂源", "滕州", "广饶", "利津", "垦利",
      "章丘", "平阴", "商河"]),
    ("安徽", "皖", ["合肥", "芜湖", "蚌埠", "淮南", "马鞍山", "淮北", "铜陵", "安庆", "黄山", "滁州", "阜阳", "宿州"],
     ["肥西", "肥东", "长丰", "庐江", "巢湖", "无为", "南陵", "繁昌", "湾沚", "怀远", "五河", "固镇", "凤台", "寿县",
      "当涂", "含山", "和县", "濉溪", "枞阳", "怀宁", "太湖", "宿松", "望江", "岳西", "桐城", "潜山", "歙县", "休宁",
      "黟县", "祁门", "来安", "全椒", "定远", "凤阳", "天长", "明光", "临泉", "太和", "阜南", "颍上", "界首", "砀山",
      "萧县", "灵璧", "泗县", "霍邱", "舒城", "金寨", "霍山", "涡阳", "蒙城", "利辛", "东至", "石台", "青阳", "郎溪",
      "泾县", "绩溪", "旌德", "宁国", "广德", "宣州", "贵池", "谯城", "裕安", "金安", "叶集", "颍州", "颍东", "埇桥",
      "琅琊", "南谯", "屯溪"]),
    ("江西", "赣", ["南昌", "景德镇", "萍乡", "九江", "新余", "鹰潭", "赣州", "吉安", "宜春", "抚州", "上饶"],
     ["进贤", "安义", "浮梁", "乐平", "莲花", "上栗", "芦溪", "修水", "武宁", "永修", "德安", "都昌", "湖口", "彭泽",
      "瑞昌", "共青城", "庐山", "分宜", "余江", "贵溪", "信丰", "大余", "上犹", "崇义", "安远", "定南", "全南", "宁都",
      "于都", "兴国", "会昌", "寻乌", "石城", "瑞金", "龙南", "吉水", "峡江", "新干", "永丰", "泰和", "遂川", "万安",
      "安福", "永新", "井冈山", "奉新", "万载", "上高", "宜丰", "靖安", "铜鼓", "丰城", "樟树", "高安", "南城", "黎川",
      "南丰", "崇仁", "乐安", "宜黄", "金溪", "资溪", "广昌", "玉山", "铅山", "横峰", "弋阳", "余干", "鄱阳", "万年",
      "婺源", "德兴", "广丰"]),
]
# Common synonyms in policy headings (heading lines only).
HEADING_SYNONYMS = [("推进", "推动"), ("加快", "加速"), ("强化", "加强"), ("提升", "提高"), ("打造", "建设"),
                    ("培育", "培植"), ("完善", "健全"), ("促进", "推动"), ("深化", "深入推进"), ("优化", "改善")]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_TOP_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+[章篇部分])")
_KEEP_AFTER = ("第", "表", "图", "附件", "专栏", "附表", "〔", "[", "（", "(")


@dataclass
class Mapping:
    """One copy's substitutions: place names (longest first) and the number variation."""

    pairs: list[tuple[str, str]]
    year_shift: int
    seed: int


@functools.lru_cache(maxsize=1)
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


def _traditional(words: list[str]) -> list[str]:
    cc = _s2t()
    return [cc.convert(w) for w in words]


@functools.lru_cache(maxsize=4096)
def make_mapping(copy: int, seed: int, traditional: bool = False) -> Mapping:
    """The substitutions of copy ``copy`` (deterministic for ``seed``; cached — treat it as read-only)."""
    rng = random.Random(f"{seed}:{copy}")
    prov, abbr, cities, counties = PROVINCES[rng.randrange(len(PROVINCES))]
    cities, counties = cities[:], counties[:]
    rng.shuffle(cities)
    rng.shuffle(counties)
    targets = [prov, abbr] + [cities[i % len(cities)] for i in range(len(FUJIAN_CITIES))]
    targets += [counties[i % len(counties)] for i in range(len(FUJIAN_COUNTIES))]
    sources = ["福建", "闽"] + FUJIAN_CITIES + FUJIAN_COUNTIES
    pairs = list(zip(sources, targets))
    trad_sources = _traditional(sources)
    trad_targets = _traditional(targets) if traditional else targets
    pairs += [(s, t) for s, t in zip(trad_sources, trad_targets) if s not in sources]
    pairs.sort(key=lambda p: -len(p[0]))
    return Mapping(pairs, rng.choice([-3, -2, -1, 1, 2, 3]), rng.randrange(1 << 30))


@functools.lru_cache(maxsize=4096)
def _place_pattern(pairs: tuple[tuple[str, str], ...]) -> tuple[re.Pattern, dict[str, str]]:
    return re.compile("|".join(re.escape(s) for s, _ in pairs)), dict(pairs)


def _substitute_places(text: str, m: Mapping) -> str:
    pattern, table = _place_pattern(tuple(m.pairs))
    return pattern.sub(lambda x: table[x.group()], text)


def _vary_numbers(text: str, m: Mapping, rng: random.Random) -> str:
    def one(x: re.Match) -> str:
        s, start = x.group(), x.start()
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        if not before.strip() or before.endswith(_KEEP_AFTER) or text[x.end():x.end() + 1] in ".、":
            return s  # list / heading / table numbers, document numbers: the outline must parse alike
        if "." not in s and len(s) == 4 and 1990 <= int(s) <= 2040:
            return str(int(s) + m.year_shift)
        cap = 100.0 if text[x.end():x.end() + 1] in "%％" and float(s) <= 100 else float("inf")
        if "." in s:
            decimals = len(s.split(".")[1])
            return f"{min(cap, float(s) * rng.uniform(0.6, 1.6)):.{decimals}f}"
        if len(s) < 2:
            return s
        return str(int(min(cap, max(10, round(int(s) * rng.uniform(0.6, 1.6))))))

    return _NUMBER.sub(one, text)


def _vary_headings(text: str, rng: random.Random) -> str:
    from ..ingest.structure import heading_level

    out = []
    for line in text.split("\n"):
        if heading_level(line) is not None and rng.random() < 0.5:
            for a, b in HEADING_SYNONYMS:
                if a in line and rng.random() < 0.5:
                    line = line.replace(a, b, 1)
        out.append(line)
    return "\n".join(out)


def _blocks(text: str) -> list[str]:
    """``text`` cut before each top-level heading line (一、 ... / 第一章 ...); joined they give ``text``."""
    lines = text.split("\n")
    blocks: list[str] = []
    cur: list[str] = []
    for line in lines:
        if _TOP_HEADING.match(line) and cur:
            blocks.append("\n".join(cur))
            cur = []
        cur.append(line)
    blocks.append("\n".join(cur))
    return blocks


def vary_text(text: str, copy: int, n_copies: int, seed: int, traditional: bool = False, recombine: bool = True) -> str:
    """The text of copy ``copy`` of a document (see the module docstring)."""
    rng = random.Random(f"{seed}:{copy}:text")
    own = make_mapping(copy, seed, traditional)
    out = []
    for block in _blocks(text):
        m = own
        if recombine and n_copies > 2 and rng.random() < 0.25:
            other = rng.randrange(1, n_copies)
            m = make_mapping(other, seed, traditional) if other != copy else own
        block = _vary_numbers(_substitute_places(block, m), m, rng)
        out.append(_vary_headings(block, rng) if recombine else block)
    return "\n".join(out)


def _vary_entry(entry: dict, copy: int, m: Mapping, name: str) -> dict:
    rng = random.Random(f"{m.seed}:entry")

    def sub(v):
        return _vary_numbers(_substitute_places(v, m), m, rng) if isinstance(v, str) else v

    e = {k: sub(v) for k, v in entry.items() if k not in ("id", "file", "aliases", "part")}
    e["id"] = f"copy{copy:03d}-{entry['id']}"
    e["file"] = name
    e["aliases"] = [name]
    if "date" in entry:
        e["date"] = re.sub(r"\d{4}", lambda x: str(int(x.group()) + m.year_shift), str(entry["date"]))
    if entry.get("part"):
        e["part"] = [{k: _substitute_places(v, m) if isinstance(v, str) else v for k, v in p.items()} for p in entry["part"]]
    return e


def scale_corpus(src: Path, out: Path, n: int, seed: int = 13) -> dict:
    """Write the corpus ``src`` scaled ×``n`` into ``out`` (replaced); returns {"documents", "bytes"}."""
    import tomli_w

    from ..ingest.loaders import SUPPORTED, read_document

    if n < 1:
        raise ValueError("scale must be at least 1")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    catalog = {}
    if (src / CATALOG).is_file():
        catalog = {d["file"]: d for d in tomllib.loads((src / CATALOG).read_text(encoding="utf-8")).get("document", [])}
    files = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != CATALOG
                   and p.suffix.lower() in SUPPORTED)
    entries = [dict(d) for d in catalog.values()]
    written = 0
    for p in files:
        shutil.copyfile(p, out / p.name)
        written += p.stat().st_size
    for copy in range(1, n):
        for p in files:
            entry = catalog.get(p.name)
            trad = bool(entry and entry.get("language") == "zh-Hant")
            text = read_document(p)
            has_parts = bool(entry and entry.get("part"))
            name = f"copy{copy:03d}-{p.stem}.txt"
            body = vary_text(text, copy, n, seed, traditional=trad, recombine=not has_parts)
            (out / name).write_text(body, encoding="utf-8")
            written += len(body.encode("utf-8"))
            if entry:
                entries.append(_vary_entry(entry, copy, make_mapping(copy, seed, trad), name))
    if entries:
        (out / CATALOG).write_text(tomli_w.dumps({"document": entries}), encoding="utf-8")
    return {"documents": len(files) * n, "bytes": written}
