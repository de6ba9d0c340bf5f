"""Synthetic demo texts: deterministic, within bounds, varied and informative about the category."""

from __future__ import annotations

import csv
import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jiesu
from jiesu.demo.texts import (
    FICTITIOUS_PHONE_PREFIX,
    FICTITIOUS_PHONE_RE,
    CategoryRef,
    PlaceRef,
    compose_callback_note,
    compose_reply,
    compose_request,
    compose_return_reason,
    synthetic_person,
)

# One leaf per first-level category, written inline so that the suite runs without the shared
# reference data. Keywords look like the ones in the demo city pack.
LEAVES: tuple[CategoryRef, ...] = (
    CategoryRef("010110", ("城乡建设", "城市建设和市政管理", "冬季采暖"), ("暖气不热", "供暖")),
    CategoryRef("020201", ("环境保护", "环境污染", "大气污染"), ("油烟", "扬尘", "废气")),
    CategoryRef("030104", ("交通运输", "出租车管理", "网约车问题"), ("网约车", "绕路")),
    CategoryRef("040208", ("商贸旅游", "市场监管", "物价监督"), ("明码标价", "价格欺诈")),
    CategoryRef("050601", ("卫生计生", "食品药品监管", "食品安全"), ("过期食品", "后厨卫生")),
    CategoryRef("060606", ("劳动和社会保障", "工资福利", "工资发放"), ("拖欠工资", "欠薪")),
    CategoryRef("070405", ("教育文体", "教育体制", "教育资源配置"), ("入学难", "划片")),
    CategoryRef("080203", ("民政", "社会救助", "城镇低保"), ()),
    CategoryRef("090601", ("政法", "户籍证件", "户籍管理"), ("落户", "新生儿上户口")),
    CategoryRef("100102", ("经济管理", "金融财税", "集资融资"), ("非法集资", "高息揽储")),
    CategoryRef("110201", ("国土资源", "土地资源管理", "耕地保护"), ("耕地", "占用耕地")),
    CategoryRef("120405", ("农村农业", "惠农补贴", "粮食直补"), ()),
    CategoryRef("130104", ("科技与信息产业", "电信", "电信资费"), ("话费", "扣费", "资费")),
    CategoryRef("140103", ("党务政务", "党的建设", "作风建设"), ("工作人员态度",)),
    CategoryRef("150504", ("纪检监察", "贪污贿赂", "行贿受贿索贿"), ("受贿", "索贿")),
)
assert len({c.path[0] for c in LEAVES}) == 15

# Categories the composer must also cope with: unknown names, short paths, 其他 leaves.
ODD_CATEGORIES: tuple[CategoryRef, ...] = (
    CategoryRef("99", ("某个新的一级分类",)),
    CategoryRef("9901", ("某个新的一级分类", "某个二级分类", "某个三级分类"), ("关键词",)),
    CategoryRef("0199", ("城乡建设", "其他", "其他")),
    CategoryRef("01", ("城乡建设",)),
    CategoryRef("", ()),
    CategoryRef("0202", ("环境保护", "环境污染", "噪音污染"), ("广场舞", "施工噪音", "噪声扰民")),
)

PLACES: tuple[PlaceRef, ...] = (
    PlaceRef("东城区", "交道口街道", "交道口社区"),
    PlaceRef("朝阳区", "望京街道", None),
    PlaceRef("海淀区", None, None),
    PlaceRef("怀柔区", "某某镇", "某某村"),
    PlaceRef("丰台区", "某某街道", "某某社区"),
)

PLACEHOLDER = re.compile(r"[{}]")


def _check_request_bounds(category: CategoryRef, place: PlaceRef, seed: int) -> None:
    req = compose_request(random.Random(seed), category, place)
    assert 0 < len(req.title) <= 40, req.title
    assert 40 <= len(req.text) <= 400, req.text
    assert req.address.startswith(place.district)
    if place.street:
        assert place.street in req.address
    for s in (req.title, req.text, req.address):
        assert not PLACEHOLDER.search(s), s


# --- determinism ---------------------------------------------------------------------------


def _everything(seed: int) -> list[object]:
    rng = random.Random(seed)
    out: list[object] = []
    for category in LEAVES[:5]:
        out.append(compose_request(rng, category, PLACES[0]))
        out.append(compose_reply(rng, category, solved=True))
        out.append(compose_reply(rng, category, solved=False))
        out.append(compose_return_reason(rng, category))
        out.append(compose_callback_note(rng, solved=True, satisfied="basically"))
        out.append(synthetic_person(rng))
    return out


def test_same_seed_same_output() -> None:
    assert _everything(42) == _everything(42)


def test_different_seeds_different_output() -> None:
    assert _everything(1) != _everything(2)
    texts = {compose_request(random.Random(s), LEAVES[0], PLACES[0]).text for s in range(20)}
    assert len(texts) == 20


# --- bounds --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    category=st.sampled_from(LEAVES + ODD_CATEGORIES),
    place=st.sampled_from(PLACES),
)
def test_request_bounds(seed: int, category: CategoryRef, place: PlaceRef) -> None:
    _check_request_bounds(category, place, seed)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    category=st.sampled_from(LEAVES + ODD_CATEGORIES),
    solved=st.booleans(),
)
def test_reply_and_return_reason_bounds(seed: int, category: CategoryRef, solved: bool) -> None:
    rng = random.Random(seed)
    reply = compose_reply(rng, category, solved=solved)
    assert 30 <= len(reply) <= 200, reply
    reason = compose_return_reason(rng, category)
    assert 5 <= len(reason) <= 120, reason
    for s in (reply, reason):
        assert not PLACEHOLDER.search(s), s


def test_reply_differs_with_outcome() -> None:
    solved = {compose_reply(random.Random(s), LEAVES[0], solved=True) for s in range(50)}
    pending = {compose_reply(random.Random(s), LEAVES[0], solved=False) for s in range(50)}
    assert solved.isdisjoint(pending)


def test_long_place_names_stay_within_bounds() -> None:
    place = PlaceRef("某" * 30 + "区", "某" * 30 + "街道", "某" * 30 + "社区")
    for seed in range(200):
        _check_request_bounds(LEAVES[seed % len(LEAVES)], place, seed)


@pytest.mark.parametrize("solved", [True, False])
@pytest.mark.parametrize("satisfied", ["satisfied", "basically", "unsatisfied"])
def test_callback_note(solved: bool, satisfied: str) -> None:
    notes = {
        compose_callback_note(random.Random(s), solved=solved, satisfied=satisfied)
        for s in range(30)
    }
    assert len(notes) > 3
    for note in notes:
        assert 10 <= len(note) <= 120
        assert ("不满意" in note) == (satisfied == "unsatisfied")
        assert ("基本满意" in note) == (satisfied == "basically")


def test_callback_note_rejects_unknown_satisfaction() -> None:
    with pytest.raises(ValueError):
        compose_callback_note(random.Random(0), solved=True, satisfied="very")


# --- variety -------------------------------------------------------------------------------


def test_variety_within_one_category() -> None:
    rng = random.Random(7)
    reqs = [compose_request(rng, LEAVES[0], PLACES[0]) for _ in range(200)]
    assert len({r.text for r in reqs}) >= 150
    # Not just the numbers and names: the wording itself varies.
    skeletons = {re.sub(r"[0-9]+", "", r.text)[:12] for r in reqs}
    assert len(skeletons) >= 40
    assert len({r.title for r in reqs}) >= 40
    assert len({r.address for r in reqs}) >= 150


def test_text_names_the_place_of_the_address() -> None:
    # The address is where the problem is (or the caller's home); the text should say so.
    rng = random.Random(11)
    named = 0
    for i in range(600):
        place = PLACES[i % len(PLACES)]
        req = compose_request(rng, LEAVES[i % len(LEAVES)], place)
        tail = req.address.removeprefix(place.district).removeprefix(place.street or "")
        tail = tail.removeprefix(place.community or "")
        first = re.split(r"[0-9]|与|村委会", tail)[0]
        venue = tail.rsplit("号", 1)[-1]
        street = place.street or place.district
        named += any(n and n in req.text for n in (first, venue, street, place.community))
    assert named / 600 >= 0.85


def test_keywords_steer_the_text() -> None:
    category = CategoryRef("x", ("环境保护", "环境污染", "噪音污染"), ("广场舞音响",))
    texts = [compose_request(random.Random(s), category, PLACES[0]).text for s in range(100)]
    assert any("广场舞音响" in t for t in texts)


def test_leaf_topic_shows_in_text() -> None:
    heating = [compose_request(random.Random(s), LEAVES[0], PLACES[0]).text for s in range(60)]
    assert sum(("暖" in t or "供热" in t) for t in heating) >= 50


def test_one_stray_keyword_does_not_change_the_topic() -> None:
    # 劳动环境 lists 噪声作业 among many words; that must not make it a noise complaint.
    category = CategoryRef(
        "x",
        ("劳动和社会保障", "劳动保护", "劳动环境"),
        ("工作环境", "高温作业", "粉尘", "劳动环境", "噪声作业"),
    )
    texts = [compose_request(random.Random(s), category, PLACES[0]).text for s in range(60)]
    assert not any("扰民" in t for t in texts)


# --- informativeness -----------------------------------------------------------------------


def _bigrams(text: str) -> Counter[str]:
    chars = [c for c in text if not c.isspace()]
    return Counter(a + b for a, b in itertools.pairwise(chars))


def _unit(counts: Counter[str]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {k: v / norm for k, v in counts.items()}


def _accuracy(categories: Sequence[CategoryRef], per_class: int, train: int) -> float:
    rng = random.Random(2024)
    centroids: dict[str, dict[str, float]] = {}
    tests: list[tuple[str, str]] = []
    for category in categories:
        texts = [
            compose_request(rng, category, PLACES[i % len(PLACES)]).text for i in range(per_class)
        ]
        total: Counter[str] = Counter()
        for t in texts[:train]:
            total.update(_unit(_bigrams(t)))
        centroids[category.code] = _unit(total)
        tests += [(category.code, t) for t in texts[train:]]

    def predict(text: str) -> str:
        vec = _unit(_bigrams(text))
        return max(
            centroids, key=lambda c: sum(w * centroids[c].get(k, 0.0) for k, w in vec.items())
        )

    return sum(predict(t) == code for code, t in tests) / len(tests)


def test_texts_carry_category_signal() -> None:
    # A crude nearest-centroid classifier on character bigrams must tell the 15 first-level
    # categories apart; real classifiers trained on the demo history depend on this signal.
    assert _accuracy(LEAVES, per_class=60, train=40) >= 0.70


# --- people --------------------------------------------------------------------------------


def test_synthetic_person_is_fictitious() -> None:
    rng = random.Random(3)
    people = [synthetic_person(rng) for _ in range(500)]
    for name, phone in people:
        assert FICTITIOUS_PHONE_RE.fullmatch(phone), phone
        assert phone.startswith(FICTITIOUS_PHONE_PREFIX) and len(phone) == 11
        assert 2 <= len(name) <= 3
        assert all("\u4e00" <= c <= "\u9fff" for c in name)
    assert len({p for _, p in people}) > 400
    assert len({n for n, _ in people}) > 300


# --- whole taxonomies, when available -------------------------------------------------------

PACK_CATEGORIES = Path(jiesu.__file__).parent / "city" / "packs" / "demo" / "categories.csv"
SHARED_TAXONOMY = Path(__file__).resolve().parents[3] / "shared" / "data" / "taxonomy_3level.csv"


def _pack_leaves() -> list[CategoryRef]:
    with PACK_CATEGORIES.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_code = {r["code"]: r for r in rows}
    leaves = []
    for row in rows:
        if any(r["parent_code"] == row["code"] for r in rows):
            continue
        path = [row["name"]]
        parent = row["parent_code"]
        while parent:
            path.insert(0, by_code[parent]["name"])
            parent = by_code[parent]["parent_code"]
        keywords = tuple(k for k in row.get("keywords", "").split("|") if k)
        leaves.append(CategoryRef(row["code"], tuple(path), keywords))
    return leaves


@pytest.mark.skipif(not PACK_CATEGORIES.exists(), reason="demo city pack categories.csv missing")
def test_every_demo_pack_leaf_composes() -> None:
    leaves = _pack_leaves()
    assert len(leaves) > 100
    for i, category in enumerate(leaves):
        for seed in range(3):
            _check_request_bounds(category, PLACES[(i + seed) % len(PLACES)], seed)
        reply = compose_reply(random.Random(i), category, solved=i % 2 == 0)
        assert 30 <= len(reply) <= 200


@pytest.mark.skipif(
    not SHARED_TAXONOMY.exists(), reason="shared reference taxonomy not available (../shared)"
)
def test_every_reference_taxonomy_leaf_composes() -> None:
    with SHARED_TAXONOMY.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    for i, (l1, l2, l3) in enumerate(rows):
        _check_request_bounds(CategoryRef(str(i), (l1, l2, l3)), PLACES[i % len(PLACES)], i)


def test_every_template_renders() -> None:
    # White-box: a misspelt {slot} in a rarely chosen phrase would otherwise only fail in a
    # demo run months later.
    from jiesu.demo import texts

    scene = texts._scene(random.Random(0), PLACES[0], rural=False)
    slots = dict(scene.slots, subject="主题", kw="关键词", obj="对象", unit="单位", when="当天")
    templates: list[str] = []
    books = [*texts._LEVEL1_BOOKS.values(), *texts._TOPIC_BOOKS, texts._GENERIC_BOOK]
    for book in books:
        for summary, situation in book.cases:
            templates += [summary, situation]
        templates += [*book.details, *book.demands, *book.asks, *book.fixes, *book.pending]
    for cases in texts._HINTS.values():
        for summary, situation in cases:
            templates += [summary, situation]
    for value in vars(texts).values():
        if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            templates += value
    assert len(templates) > 1000
    for template in templates:
        assert not PLACEHOLDER.search(template.format_map(slots)), template
