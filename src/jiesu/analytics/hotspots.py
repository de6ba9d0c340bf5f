"""Hot issues (热点问题): requests about the same problem at the same place in the same time
window, grouped, ranked by a heat index and given a readable title.

Steps, each chosen so that the work grows with the requests per place and window, not with
the square of the file (4,326 requests take ~3 s, see docs/hotspots.md):

1. **Text.** Each text is normalised (``jiesu.nlp.normalize``), cut into words with rjieba and
   into character bigrams of its content runs (as ``jiesu.nlp.shingles.runs``). Words catch the
   problem ("油烟", "噪音"), bigrams the names segmentation gets wrong (estates, shops).
   TF-IDF with sub-linear term frequency; features found in more than ``max_df`` of the texts
   are stop words computed from the corpus itself (您好, 小区, 希望, 领导 …). A corpus smaller
   than ``shingles.MIN_CORPUS`` keeps every feature except the built-in boilerplate list: in a
   handful of texts the repeated problem itself would look like boilerplate. The first line
   (the subject, when subject and details were joined) has a vector of its own; similarity is
   ``0.5·cos(subjects) + 0.5·cos(whole texts)`` (:func:`text_vectors`).
2. **Place.** A record's place is its ``place_key`` when given (an area code, a place column).
   Otherwise it is read from the text (:func:`extract_place`): a district ("A5区", "朝阳区") and
   up to three named sites ("魅力之城", "汇金路", "金鼎村"), found by their suffixes (小区, 路,
   村, 学院 …) or by a building number after them ("海德公元15栋").
3. **Candidates.** Two records can be one issue only when at most ``window_days`` apart and
   their places agree: they share a site (or the given place key) → text threshold
   ``threshold``; same district, or both without any place, and at least one without a site →
   the weak evidence must be made up by the text, ``strict_threshold``; two different sites →
   never. Records are compared only inside a district (or the no-district pool) and inside a
   site, in time order and a sliding window, so the work grows with n × (requests per place
   per window), not n².
4. **Groups.** Pairs at or above their threshold are edges; each connected component is then
   cut by average-link clustering on the same effective similarity (a weak pair counts
   ``strict_threshold − threshold`` less, a pair of different sites counts −1, which in an
   average all but forbids the merge). Average link
   keeps a chain A–B–C from joining A and C when they have little in common, which connected
   components alone would do. The window limits edges, not the span: an issue reported again
   and again, each report within the window of an earlier one, stays one issue; one that fell
   silent for longer than the window starts a new group.
5. **Heat.** See :func:`heat_of`::

       heat = callers × (1 + 0.25·ln(1 + likes)) × growth_factor × (1 + 0.5·urgency)

   ``callers`` are distinct callers (requests when no caller is known); ``likes`` the sum over
   the group; ``growth_factor = clamp(sqrt((recent + 0.5) / (earlier / 2 + 0.5)), 0.5, 2)``
   with ``recent`` the requests in the last third of the group's span and ``earlier`` those
   before (the first and last request only mark the span; the halving is the last third's
   shorter time), so a steady stream scores 1, a burst at the end up to 2, a fading one down
   to 0.5;
   ``urgency`` the mean urgency (0..1) of the members that have one, 0 when none does. The
   unit is "callers": a group of five callers without likes, growth or urgency has heat 5.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import rjieba
from ahocorasick_rs import AhoCorasick
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix, csr_matrix, hstack
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

from jiesu.nlp.normalize import normalize
from jiesu.nlp.shingles import BOILERPLATE, MIN_CORPUS

WINDOW_DAYS = 30.0
# Similarity (text_vectors) at or above which two requests sharing a site are one issue. On the
# 4,326 board messages (docs/hotspots.md) 0.30 split the biggest issues into three or four
# groups each; at 0.20 they come together and 17 of 20 sampled pairs were one problem.
THRESHOLD = 0.20
# The bar for weaker place evidence (same district only, or no place at all): texts must then
# be close to repeats, since a district holds hundreds of estates with the same problems.
STRICT_THRESHOLD = 0.55
MIN_SIZE = 2
# Share of the similarity given to the first lines (subjects) of the texts: see text_vectors.
SUBJECT_WEIGHT = 0.5
# Features in more than this share of texts are stop words (as in jiesu.nlp.shingles.MAX_DF).
MAX_DF = 0.10
# Rows compared at once against their time window: bounds memory of the dense similarity block.
CHUNK = 512
# Texts turned into bigram arrays at once (a few tens of MB of temporaries).
BIGRAM_BATCH = 5000
MAX_SITES = 3
PHRASES = 3
LIKES_WEIGHT = 0.25
URGENCY_WEIGHT = 0.5
GROWTH_MIN, GROWTH_MAX = 0.5, 2.0
RECENT_SHARE = 1 / 3
NEVER = -1.0  # effective similarity of two records whose places differ


@dataclass(frozen=True)
class HotInput:
    id: int | str
    text: str
    time: datetime
    place_key: str | None = None
    place_name: str | None = None
    likes: int = 0
    urgency: float | None = None
    # Who called (a user id, a masked phone): repeated calls by one person count once in heat.
    caller: str | None = None


@dataclass(frozen=True)
class HotSettings:
    window_days: float = WINDOW_DAYS
    threshold: float = THRESHOLD
    strict_threshold: float = STRICT_THRESHOLD
    min_size: int = MIN_SIZE
    max_df: float = MAX_DF
    subject_weight: float = SUBJECT_WEIGHT
    linkage: str = "average"  # or "complete" (stricter), "single" (= connected components)


@dataclass(frozen=True)
class PlaceFound:
    """A place read from text: keys compare, ``display`` is what a title shows."""

    district: str | None = None
    sites: tuple[str, ...] = ()
    displays: tuple[str, ...] = ()


@dataclass(frozen=True)
class Heat:
    callers: int
    likes: int
    recent: int
    earlier: int
    growth_factor: float
    urgency: float
    value: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "callers": self.callers,
            "likes": self.likes,
            "recent": self.recent,
            "earlier": self.earlier,
            "growth_factor": round(self.growth_factor, 3),
            "urgency": round(self.urgency, 3),
        }


@dataclass(frozen=True)
class HotGroup:
    title: str
    place: str
    phrases: tuple[str, ...]
    first: datetime
    last: datetime
    ids: tuple[int | str, ...]
    heat: Heat
    # Mean cosine between the members' TF-IDF vectors: how alike the texts of the group are.
    cohesion: float

    @property
    def size(self) -> int:
        return len(self.ids)

    def as_dict(self) -> dict[str, Any]:
        days = (_seconds(self.last) - _seconds(self.first)) / 86400
        return {
            "title": self.title,
            "place": self.place,
            "phrases": list(self.phrases),
            "span": {
                "first": self.first.isoformat(sep=" "),
                "last": self.last.isoformat(sep=" "),
                "days": round(days, 1),
            },
            "size": self.size,
            "heat": round(self.heat.value, 3),
            "components": self.heat.as_dict(),
            "cohesion": round(self.cohesion, 3),
            "ids": list(self.ids),
        }


@dataclass
class HotResult:
    n_records: int
    groups: list[HotGroup] = field(default_factory=list)
    # Pairs that passed their threshold before the average-link cut: shows how much was cut.
    n_pairs: int = 0


# ------------------------------------------------------------------------------ place
# Anonymised codes of the board data ("a市", "a5区", "k9县", "西地省") and real district names
# after a city ("北京市朝阳区"). Texts are normalised first, so Latin letters are lower case.
_PROVINCE = r"[\u4e00-\u9fff]{2,3}省"
_CITY_CODE = r"[a-z]\d{0,2}市"
_DISTRICT = re.compile(r"(?<![a-z0-9])([a-z]\d{1,2}[区县])|市([\u4e00-\u9fff]{2,3}?[区县])")
# Suffixes of named sites, longest first so "花园" wins over "园". "城" only in the compounds
# estates use ("魅力之城", "万国城", "新城"), not in 城市/城管.
_SITE_SUFFIX = (
    "小区|社区|花园|家园|公寓|大厦|广场|新城|新村|之城|国城|中城|商城|公馆|山庄|华府|名苑|"
    "苑|园|邸|湾|村|镇|乡|大道|路|街道|街|巷|学院|大学|中学|小学|学校|幼儿园|医院|公园|市场|"
    "车站|地铁站|项目|工业园|产业园"
)
_BUILDING = r"(?=\d+(?:栋|号楼|期|单元|幢|座))"
_SITE = re.compile(rf"[\u4e00-\u9fffa-z0-9]{{2,10}}?(?:(?:{_SITE_SUFFIX})|{_BUILDING})")
# Words and marks that cannot be inside a place name: a name starts after the last of them.
_BOUNDARY = re.compile(
    rf"[^\u4e00-\u9fffa-z0-9]|{_PROVINCE}|{_CITY_CODE}|(?<![a-z0-9])[a-z]\d{{1,2}}[区县]|"
    "关于|反映|投诉|咨询|请求|建议|询问|举报|要求|希望|请问|请|为何|为什么|何时|如何|"
    "的|在|与|和|及|对|了|是|把|被|将|给|从|到|向|由|旁|内|里|附近|门口|楼下|周边|对面|"
    "一家|一个|有人|我们|我家|本人|居住|位于|地处"
)
# Generic tails dropped from a site key, so "魅力之城小区" and "魅力之城" are one site.
_SITE_TAIL = re.compile(r"(小区|社区)$")
# Leftovers of a clumsy cut ("A8县市星河湾"), and names that are kinds, not places.
_SITE_HEAD = re.compile(r"^(市|县|区|省)+")
_NOT_SITES = """
小区 社区 花园 公园 学校 医院 市场 项目 街道 安置 住宅 新建 老旧 本小 该小 这个 整个
附近 周边 全市 全区 全县 各个 民办 公办 私立 公立
"""
# A suffix alone ("幼儿园", "大学") is a kind of place, not a place.
_BAD_SITE = frozenset(_NOT_SITES.split()) | frozenset(_SITE_SUFFIX.split("|"))
# "魅力之城小区临街门面" cuts into 魅力之城 and "小区临街": a name never starts with a kind,
# nor with a word that makes it a kind ("普惠性幼儿园", "公办学校" are everywhere).
_GENERIC_HEAD = re.compile(
    r"(小区|社区|街道|公司|政府|业主|居民|公办|民办|普惠|配套|私立|公立|一所|这所|该|本|各)"
)
# A text's first line is its subject when several columns were joined: its sites are the ones
# the request is about. The body mentions roads and neighbours in passing, so it is read only
# when the subject names no site, and then for fewer.
BODY_SITES = 2


def _segments(text: str) -> list[str]:
    return [s for s in _BOUNDARY.split(text) if len(s) >= 3]


def _is_site(key: str) -> bool:
    return (
        len(key) >= 2
        and not key.isdigit()
        and key not in _BAD_SITE
        and not _GENERIC_HEAD.match(key)
    )


def _sites(text: str, most: int) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    displays: list[str] = []
    for segment in _segments(text):
        for match in _SITE.finditer(segment):
            display = _SITE_HEAD.sub("", match.group())
            key = _SITE_TAIL.sub("", display)
            if key in keys or not _is_site(key):
                continue
            keys.append(key)
            displays.append(display)
            if len(keys) == most:
                return keys, displays
    return keys, displays


def extract_place(text: str) -> PlaceFound:
    """The district and the first named sites of ``text``; the first line is read first (see
    BODY_SITES)."""
    first, _, body = text.partition("\n")
    return _place_of(normalize(first), normalize(body))


def _place_of(subject: str, body: str) -> PlaceFound:
    """:func:`extract_place` of a text already split and normalised."""
    district_match = _DISTRICT.search(subject) or _DISTRICT.search(body)
    district = None
    if district_match:
        district = district_match.group(1) or district_match.group(2)
    keys, displays = _sites(subject, MAX_SITES)
    if not keys and body:
        keys, displays = _sites(body, BODY_SITES)
    return PlaceFound(district, tuple(keys), tuple(displays))


def _readable(name: str) -> str:
    # Normalised text is lower case; codes read as in the source ("A5区").
    return re.sub(r"[a-z]+", lambda m: m.group().upper(), name)


# ------------------------------------------------------------------------------ text
_WORD = re.compile(r"[\u4e00-\u9fff]{2,}|[a-z]{3,}")
# Codes of anonymised or abbreviated areas ("a市", "a5区"): cut out before word segmentation,
# which otherwise glues their last character to the next name ("a市伊景园" → "市伊", "景园").
_AREA_CODE = re.compile(r"[a-z]\d{0,2}[市区县]")


def _words(norm: str) -> list[str]:
    return [w for w in rjieba.cut(_AREA_CODE.sub(" ", norm)) if _WORD.fullmatch(w)]


_BITS = 21  # every Unicode code point fits in 21 bits: a bigram is one 42-bit integer
_LOW = (1 << _BITS) - 1


@dataclass(frozen=True)
class Vectors:
    matrix: csr_matrix  # one L2-normalised TF-IDF row per text
    names: list[str]  # "w:油烟" for a word, "c:油烟" for a character bigram
    idf: np.ndarray  # 0 for a stop feature


def _bigram_counts(norms: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text, bigram code, count) for every character bigram inside a content run, in numpy
    passes over batches of texts: a Python loop over ~400 bigrams a text is most of the time
    otherwise, and batches bound the temporary arrays. Spaces do not end a run (as in
    ``shingles.runs``); any other non-content character and the end of a text do."""
    parts = [
        _batch_bigrams(norms[start : start + BIGRAM_BATCH], start)
        for start in range(0, len(norms), BIGRAM_BATCH)
    ]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    texts, codes, counts = (np.concatenate(column) for column in zip(*parts, strict=True))
    return texts, codes, counts


def _batch_bigrams(norms: Sequence[str], offset: int) -> tuple[np.ndarray, ...]:
    joined = "\0".join(n.replace(" ", "") for n in norms) + "\0"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    content = (
        ((codes >= 0x30) & (codes <= 0x39))
        | ((codes >= 0x61) & (codes <= 0x7A))
        | ((codes >= 0x3400) & (codes <= 0x4DBF))
        | ((codes >= 0x4E00) & (codes <= 0x9FFF))
    )
    ends = codes == 0
    text_of = np.cumsum(ends) - ends
    at = np.nonzero(content[:-1] & content[1:])[0]
    keys = (text_of[at] << (2 * _BITS)) | (codes[at] << _BITS) | codes[at + 1]
    unique, counts = np.unique(keys, return_counts=True)
    return (unique >> (2 * _BITS)) + offset, unique & ((1 << (2 * _BITS)) - 1), counts


def _word_counts(
    words: Sequence[Sequence[str]],
) -> tuple[list[int], list[int], list[int], list[str]]:
    """(text, word column, count) triples and the vocabulary, in order of first use."""
    vocabulary: dict[str, int] = {}
    texts: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    for i, text_words in enumerate(words):
        for word, n in Counter(text_words).items():
            texts.append(i)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
            counts.append(n)
    return texts, cols, counts, list(vocabulary)


def vectorise(
    norms: Sequence[str],
    max_df: float = MAX_DF,
    words: Sequence[Sequence[str]] | None = None,
) -> Vectors:
    """TF-IDF of words and character bigrams: ``(1 + ln tf) × (ln((1 + n) / (1 + df)) + 1)``
    (scikit-learn's smoothed, sub-linear form), rows L2-normalised. Features in more than
    ``max_df`` of the texts are stop words; a corpus under MIN_CORPUS texts uses the built-in
    boilerplate list instead. ``words`` are the texts' words when already cut."""
    n = len(norms)
    cut = words if words is not None else [_words(norm) for norm in norms]
    word_texts, word_cols, word_n, word_names = _word_counts(cut)
    bigram_texts, bigrams, bigram_n = _bigram_counts(norms)
    bigram_codes, bigram_cols = np.unique(bigrams, return_inverse=True)
    names = [f"w:{w}" for w in word_names] + [
        f"c:{chr(c >> _BITS)}{chr(c & _LOW)}" for c in bigram_codes.tolist()
    ]
    rows = np.concatenate([np.array(word_texts, dtype=np.int32), bigram_texts.astype(np.int32)])
    cols = np.concatenate(
        [np.array(word_cols, dtype=np.int32), (bigram_cols + len(word_names)).astype(np.int32)]
    )
    tf = np.concatenate([np.array(word_n, dtype=np.float32), bigram_n.astype(np.float32)])
    df = np.bincount(cols, minlength=len(names))
    idf = np.log((1 + n) / (1 + df)) + 1.0
    if n < MIN_CORPUS:
        stop = np.array([name[2:] in BOILERPLATE for name in names], dtype=bool)
    else:
        stop = df > max_df * n
    idf[stop] = 0.0
    # Stop features are dropped before the matrix is built; 32-bit arrays throughout, since at
    # 100k texts there are tens of millions of entries.
    keep = ~stop[cols]
    rows, cols, tf = rows[keep], cols[keep], tf[keep]
    values = ((1.0 + np.log(tf)) * idf[cols]).astype(np.float32)
    shape = (n, max(len(names), 1))
    matrix = coo_matrix((values, (rows, cols)), shape=shape, dtype=np.float32).tocsr()
    per_row = np.diff(matrix.indptr)
    row_of = np.repeat(np.arange(n), per_row)
    lengths = np.sqrt(np.bincount(row_of, weights=matrix.data.astype(np.float64) ** 2, minlength=n))
    lengths[lengths == 0] = 1.0
    matrix.data *= (1.0 / lengths).astype(np.float32)[row_of]
    return Vectors(matrix, names, idf)


@dataclass(frozen=True)
class _Texts:
    """Each record's subject and body, normalised and cut into words once for every step."""

    subjects: list[str]
    bodies: list[str]
    subject_words: list[list[str]]
    body_words: list[list[str]]

    @classmethod
    def of(cls, items: Sequence[HotInput]) -> _Texts:
        parts = [r.text.partition("\n") for r in items]
        subjects = [normalize(first) for first, _, _ in parts]
        bodies = [normalize(body) for _, _, body in parts]
        return cls(subjects, bodies, [_words(t) for t in subjects], [_words(t) for t in bodies])


def text_vectors(texts: _Texts, settings: HotSettings) -> tuple[Vectors, csr_matrix]:
    """The whole texts' TF-IDF, and the rows compared: subject and whole text side by side,
    scaled so that their cosine is ``w·cos(subjects) + (1 − w)·cos(texts)``. Callers reporting
    one problem word their subjects alike ("魅力之城小区油烟扰民") and their details apart;
    on the board data the subjects of one issue had about twice the cosine of the texts."""
    # "。" between subject and body: no bigram straddles the two.
    wholes = [f"{s}。{b}" if b else s for s, b in zip(texts.subjects, texts.bodies, strict=True)]
    words = [s + b for s, b in zip(texts.subject_words, texts.body_words, strict=True)]
    whole = vectorise(wholes, settings.max_df, words)
    w = min(max(settings.subject_weight, 0.0), 1.0)
    if w == 0:
        return whole, whole.matrix
    subjects = vectorise(texts.subjects, settings.max_df, texts.subject_words)
    x = hstack([subjects.matrix * math.sqrt(w), whole.matrix * math.sqrt(1 - w)], format="csr")
    return whole, csr_matrix(x, dtype=np.float32)


# ------------------------------------------------------------------------------ places
@dataclass(frozen=True)
class _Places:
    block: list[str]  # district, given key, or "" (no district)
    sites: csr_matrix  # record × site incidence
    has_site: np.ndarray
    site_keys: list[str]
    site_display: dict[str, str]
    postings: dict[int, list[int]]


# Sites of at least this many characters also stand for the longer names that contain them:
# "万科魅力之城" and "魅力之城" are one estate written two ways.
ALIAS_MIN = 3


def _aliases(keys: Sequence[str]) -> dict[str, list[str]]:
    """For each extracted site key, the other keys found inside it (one automaton pass)."""
    short = [k for k in keys if len(k) >= ALIAS_MIN and not k.startswith("key:")]
    if not short:
        return {}
    automaton = AhoCorasick(short)
    out: dict[str, list[str]] = {}
    for key in keys:
        if key.startswith("key:"):
            continue
        inside = {short[i] for i, _, _ in automaton.find_matches_as_indexes(key, overlapping=True)}
        inside.discard(key)
        if inside:
            out[key] = sorted(inside)
    return out


def _places(records: Sequence[HotInput], texts: _Texts) -> _Places:
    block: list[str] = []
    site_index: dict[str, int] = {}
    display: dict[str, str] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, record in enumerate(records):
        if record.place_key:
            # A given key is exact evidence: the site is the key itself, its block the key.
            key = f"key:{record.place_key}"
            keys: tuple[str, ...] = (key,)
            display.setdefault(key, record.place_name or record.place_key)
            block.append(key)
        else:
            found = _place_of(texts.subjects[i], texts.bodies[i])
            keys = found.sites
            for k, d in zip(found.sites, found.displays, strict=True):
                display.setdefault(k, _readable(d))
            block.append(found.district or "")
        for key in keys:
            rows.append(i)
            cols.append(site_index.setdefault(key, len(site_index)))
    key_list = list(site_index)
    aliases = _aliases(key_list)
    for r, c in list(zip(rows, cols, strict=True)):
        for alias in aliases.get(key_list[c], ()):
            rows.append(r)
            cols.append(site_index[alias])
    data = np.ones(len(rows), dtype=np.float32)
    sites = csr_matrix((data, (rows, cols)), shape=(len(records), max(len(site_index), 1)))
    postings: dict[int, list[int]] = {}
    for r, c in zip(rows, cols, strict=True):
        postings.setdefault(c, []).append(r)
    has_site = np.diff(sites.indptr) > 0
    return _Places(block, sites, has_site, key_list, display, postings)


# ------------------------------------------------------------------------------ pairs
def _seconds(at: datetime) -> float:
    # Naive times are taken as they are written; aware ones are compared in UTC.
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _effective(
    sims: np.ndarray, shared: np.ndarray, both_sites: np.ndarray, settings: HotSettings
) -> np.ndarray:
    """Similarity with the place evidence folded in: sharing a site costs nothing, weak
    evidence costs the gap to the strict threshold, two different sites rule the pair out."""
    penalty = settings.strict_threshold - settings.threshold
    return np.where(shared, sims, np.where(both_sites, NEVER, sims - penalty))


def _gram(x: csr_matrix, idx: np.ndarray) -> np.ndarray:
    """Dot products of the rows ``idx`` with each other, as a dense array. The rows are first
    re-indexed over only the columns they use: scipy's transpose and product cost as much as
    the matrix has columns (the whole vocabulary), which would dominate a small block."""
    rows = x[idx]
    cols, local = np.unique(rows.indices, return_inverse=True)
    small = csr_matrix((rows.data, local, rows.indptr), shape=(len(idx), max(len(cols), 1)))
    return np.asarray((small @ small.T).toarray())


def _window_pairs(
    members: np.ndarray,
    x: csr_matrix,
    places: _Places,
    times: np.ndarray,
    settings: HotSettings,
) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """Pairs (i < j in time order) of ``members`` within the window whose effective similarity
    reaches the threshold. Works chunk by chunk against each chunk's window only."""
    order = members[np.argsort(times[members], kind="stable")]
    t = times[order]
    limit = settings.window_days * 86400.0
    for start in range(0, len(order), CHUNK):
        stop = min(start + CHUNK, len(order))
        end = int(np.searchsorted(t, t[stop - 1] + limit, side="right"))
        rows, cols = order[start:stop], order[start:end]
        sims = _gram(x, cols)[: stop - start]
        shared = _gram(places.sites, cols)[: stop - start] > 0
        both = places.has_site[rows][:, None] & places.has_site[cols][None, :]
        eff = _effective(sims, shared, both, settings)
        gap = t[start:end][None, :] - t[start:stop][:, None]
        # Only later columns (j > i in this order), and only inside the window.
        ahead = np.arange(start, end)[None, :] > np.arange(start, stop)[:, None]
        ok = ahead & (gap <= limit) & (eff >= settings.threshold)
        i, j = np.nonzero(ok)
        if len(i):
            yield rows[i], cols[j]


def candidate_pairs(
    x: csr_matrix, places: _Places, times: np.ndarray, settings: HotSettings
) -> set[tuple[int, int]]:
    """Blocks: each district (or given key, or the no-district pool), then each site that
    spans several blocks ("A市雅园小区" and "A3区雅园小区")."""
    by_block: dict[str, list[int]] = {}
    for i, name in enumerate(places.block):
        by_block.setdefault(name, []).append(i)
    blocks = [np.array(m) for m in by_block.values() if len(m) > 1]
    for posting in places.postings.values():
        if len(posting) > 1 and len({places.block[i] for i in posting}) > 1:
            blocks.append(np.array(posting))
    pairs: set[tuple[int, int]] = set()
    for members in blocks:
        for a, b in _window_pairs(members, x, places, times, settings):
            pairs.update(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))
    return pairs


# ------------------------------------------------------------------------------ groups
def _cut(
    component: np.ndarray, x: csr_matrix, places: _Places, settings: HotSettings
) -> list[np.ndarray]:
    """Average-link (or the configured linkage) clusters of one connected component."""
    if len(component) == 2 or settings.linkage == "single":
        return [component]
    sims = _gram(x, component)
    shared = _gram(places.sites, component) > 0
    has = places.has_site[component]
    blocks = np.array([places.block[i] for i in component])
    same_block = blocks[:, None] == blocks[None, :]
    eff = _effective(sims, shared, has[:, None] & has[None, :], settings)
    # A weak pair across blocks has no place evidence at all: it never joins.
    eff = np.where(shared | same_block, eff, NEVER)
    distance = np.clip(1.0 - eff, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method=settings.linkage)
    labels = fcluster(tree, t=1.0 - settings.threshold, criterion="distance")
    return [component[labels == label] for label in np.unique(labels)]


def heat_of(
    members: Sequence[HotInput], seconds: Sequence[float], recent_share: float = RECENT_SHARE
) -> Heat:
    """``callers × (1 + 0.25·ln(1 + likes)) × growth_factor × (1 + 0.5·urgency)`` (module
    docstring). Growth compares the requests in the last ``recent_share`` of the group's span
    with those before, per unit of time. The first and the last request mark the span and
    are not counted: the last is always "recent", which would make every pair look growing."""
    callers = len({m.caller if m.caller else f"id:{m.id}" for m in members})
    likes = sum(max(m.likes, 0) for m in members)
    ordered = sorted(seconds)
    first, last = ordered[0], ordered[-1]
    inside = ordered[1:-1]
    cut = last - (last - first) * recent_share
    recent = sum(1 for s in inside if s > cut)
    earlier = len(inside) - recent
    if inside and last > first:
        # Counts expected from a steady stream stand in the ratio share : (1 − share).
        expected = earlier * recent_share / (1 - recent_share)
        ratio = (recent + 0.5) / (expected + 0.5)
        growth = min(max(math.sqrt(ratio), GROWTH_MIN), GROWTH_MAX)
    else:
        growth = 1.0  # two requests, or all at one moment: no trend to read
    urgencies = [min(max(m.urgency, 0.0), 1.0) for m in members if m.urgency is not None]
    urgency = sum(urgencies) / len(urgencies) if urgencies else 0.0
    value = (
        callers * (1 + LIKES_WEIGHT * math.log1p(likes)) * growth * (1 + URGENCY_WEIGHT * urgency)
    )
    return Heat(callers, likes, recent, earlier, growth, urgency, value)


def _place_title(idx: np.ndarray, places: _Places) -> str:
    """The district most members name, then the site most members share; of sites shared
    equally the longest, since an alias ("月亮岛") is shared whenever its name ("月亮岛路") is."""
    counts = Counter(places.sites[idx].indices.tolist())
    districts = Counter(b for b in (places.block[i] for i in idx) if b and ":" not in b)
    district = _readable(districts.most_common(1)[0][0]) if districts else ""
    if not counts:
        return district
    best = max(counts, key=lambda j: (counts[j], len(places.site_keys[j]), -j))
    site = places.site_display[places.site_keys[best]]
    if site.startswith(district):
        return site
    return district + site


def _phrases(
    idx: np.ndarray, texts: _Texts, vectors: Vectors, place: str, sites: str
) -> tuple[str, ...]:
    """Words most members use, weighted by their IDF in the whole corpus. A word's share of
    members counts for the whole text and, as much again, for the first line (the subject,
    where people name the problem). The share is squared: a rare word one caller used
    ("此情此景") must not beat the problem all of them name ("捆绑", "搅拌站"); a word of a
    single member is never a phrase."""
    # Indices are unique within a CSR row, so counting them counts the members using a feature.
    cols, used = np.unique(vectors.matrix[idx].indices, return_counts=True)
    in_subject: Counter[str] = Counter()
    for i in idx.tolist():
        in_subject.update(set(texts.subject_words[i]))
    size = len(idx)
    scored: list[tuple[float, str]] = []
    for j, n_used in zip(cols.tolist(), used.tolist(), strict=True):
        name = vectors.names[j]
        if not name.startswith("w:") or n_used < min(2, size) or vectors.idf[j] == 0:
            continue
        word = name[2:]
        share = 0.5 * n_used / size + 0.5 * in_subject[word] / size
        scored.append((share * share * float(vectors.idf[j]), word))
    out: list[str] = []
    # The place is in the title already, pieces of it ("劳动", "东路") are no key phrase.
    folded = f"{place.lower()}|{sites}"
    for _, word in sorted(scored, key=lambda sw: (-sw[0], sw[1])):
        if word in folded or any(word in o or o in word for o in out):
            continue
        out.append(word)
        if len(out) == PHRASES:
            break
    return tuple(out)


def _cohesion(idx: np.ndarray, x: csr_matrix) -> float:
    sims = _gram(x, idx)
    n = len(idx)
    return float((sims.sum() - np.trace(sims)) / (n * (n - 1)))


def find_hot_issues(records: Iterable[HotInput], settings: HotSettings | None = None) -> HotResult:
    """Groups of at least ``min_size`` requests, hottest first."""
    settings = settings or HotSettings()
    items = list(records)
    result = HotResult(len(items))
    if len(items) < settings.min_size:
        return result
    texts = _Texts.of(items)
    vectors, x = text_vectors(texts, settings)
    places = _places(items, texts)
    times = np.array([_seconds(r.time) for r in items])
    pairs = candidate_pairs(x, places, times, settings)
    result.n_pairs = len(pairs)
    if not pairs:
        return result
    a, b = (np.array(side) for side in zip(*pairs, strict=True))
    graph = csr_matrix((np.ones(len(a)), (a, b)), shape=(len(items), len(items)))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    for label in np.nonzero(sizes >= 2)[0]:
        for idx in _cut(np.nonzero(labels == label)[0], x, places, settings):
            if len(idx) >= settings.min_size:
                result.groups.append(_group(idx, items, texts, vectors, x, places, times))
    result.groups.sort(key=lambda g: (-g.heat.value, -g.size, g.first))
    return result


def _group(
    idx: np.ndarray,
    items: Sequence[HotInput],
    texts: _Texts,
    vectors: Vectors,
    x: csr_matrix,
    places: _Places,
    times: np.ndarray,
) -> HotGroup:
    idx = idx[np.argsort(times[idx], kind="stable")]
    members = [items[i] for i in idx]
    place = _place_title(idx, places)
    # Sites of two members or more: a one-off cut ("搅拌站丽发新城") must not hide "搅拌站".
    used = Counter(places.sites[idx].indices.tolist())
    sites = "|".join(places.site_keys[j] for j, n in used.items() if n >= 2)
    phrases = _phrases(idx, texts, vectors, place, sites)
    title = " · ".join(p for p in (place, " ".join(phrases)) if p)
    return HotGroup(
        title=title,
        place=place,
        phrases=phrases,
        first=members[0].time,
        last=members[-1].time,
        ids=tuple(m.id for m in members),
        heat=heat_of(members, times[idx].tolist()),
        cohesion=_cohesion(idx, x),
    )


def place_baseline(records: Iterable[HotInput], min_size: int = MIN_SIZE) -> list[list[int]]:
    """Naive grouping for comparison: indices of the records sharing their first extracted
    site (or given key), whatever the text and time."""
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        key = record.place_key or next(iter(extract_place(record.text).sites), None)
        if key:
            groups.setdefault(key, []).append(i)
    return [g for g in groups.values() if len(g) >= min_size]
