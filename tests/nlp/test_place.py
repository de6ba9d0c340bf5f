"""Place extraction from request texts (pure: no database) and the gazetteer file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from jiesu.city.gazetteer import GazetteerError, PlaceRow, check_area_codes, read_gazetteer
from jiesu.city.pack import read_pack
from jiesu.nlp.place import AreaEntry, Gazetteer, PlaceResult

DEMO = Path(__file__).parents[2] / "src" / "jiesu" / "city" / "packs" / "demo"

# 望京 is a small square inside a large square 朝阳区 (GeoJSON: [lon, lat]).
WANGJING_SQUARE = {
    "type": "Polygon",
    "coordinates": [[[116.46, 39.99], [116.48, 39.99], [116.48, 40.01], [116.46, 40.01]]],
}
CHAOYANG_SQUARE = {
    "type": "MultiPolygon",
    "coordinates": [[[[116.40, 39.85], [116.60, 39.85], [116.60, 40.05], [116.40, 40.05]]]],
}

AREAS = [
    AreaEntry("110000", None, "city", "北京市", ("北京", "Beijing")),
    AreaEntry("110101", "110000", "district", "东城区", ("东城",)),
    AreaEntry("110101007", "110101", "street", "朝阳门街道", ("朝阳门", "Chaoyangmen")),
    AreaEntry("110105", "110000", "district", "朝阳区", ("朝阳", "Chaoyang"), "", CHAOYANG_SQUARE),
    AreaEntry("110105004", "110105", "street", "三里屯街道", ("三里屯",)),
    AreaEntry("110105004001", "110105004", "community", "和平社区", ()),
    AreaEntry("110105014", "110105", "street", "六里屯街道", ("六里屯",)),
    AreaEntry("110105015", "110105", "street", "八里庄街道", ("八里庄",)),
    AreaEntry(
        "110105026", "110105", "street", "望京街道", ("望京", "Wangjing"), "", WANGJING_SQUARE
    ),
    AreaEntry("110105026034", "110105026", "community", "花家地西里社区", ()),
    AreaEntry("110105026035", "110105026", "community", "和平社区", ()),
    AreaEntry("110108", "110000", "district", "海淀区", ("海淀", "Haidian")),
    AreaEntry("110108005", "110108", "street", "八里庄街道", ("八里庄",)),
    AreaEntry("110108011", "110108", "street", "中关村街道", ("中关村",)),
    AreaEntry("110108011001", "110108011", "community", "团结社区", ()),
    AreaEntry("110108012", "110108", "street", "海淀街道", ("海淀",)),
    AreaEntry("110101007001", "110101007", "community", "团结社区", ()),
]
PLACES = [
    PlaceRow("朝阳路", "road", "110105014"),
    PlaceRow("朝阳路", "road", "110105015"),
    PlaceRow("中关村大街", "road", "110108011"),
    PlaceRow("中关村大街", "road", "110108012"),
    PlaceRow("望京SOHO", "landmark", "110105026", ("Wangjing SOHO",)),
    PlaceRow("三里屯太古里", "landmark", "110105004", ("太古里",)),
    PlaceRow("朝阳公园", "landmark", "110105"),
]


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer(AREAS, PLACES)


def code(result: PlaceResult) -> str | None:
    return result.best.area_code if result.best else None


# ---------------------------------------------------------------- names of areas
def test_full_area_names_answer_the_deepest_area(gaz: Gazetteer) -> None:
    r = gaz.extract("东城区朝阳门街道有一处井盖丢了")
    assert r.best is not None
    assert (r.best.area_code, r.best.area_level) == ("110101007", "street")
    assert r.best.area_path == "北京市/东城区/朝阳门街道"
    assert r.best.source == "area" and r.best.text == "朝阳门街道"
    assert r.best.confidence > 0.9
    assert not r.ambiguous and not r.outside_city
    assert [m.text for m in r.mentions] == ["东城区", "朝阳门街道"]


def test_a_short_alias_is_weaker_than_the_full_name(gaz: Gazetteer) -> None:
    alias = gaz.extract("我家住望京，楼下天天有人烧烤")
    full = gaz.extract("我家住望京街道，楼下天天有人烧烤")
    assert code(alias) == code(full) == "110105026"
    assert alias.confidence < 0.5 < full.confidence


def test_community_inside_its_street_and_district_is_surer(gaz: Gazetteer) -> None:
    alone = gaz.extract("花家地西里社区门口堆满垃圾")
    along = gaz.extract("朝阳区望京街道花家地西里社区门口堆满垃圾")
    assert code(alone) == code(along) == "110105026034"
    assert along.best and along.best.area_level == "community"
    assert along.confidence > alone.confidence
    assert not along.ambiguous


def test_names_that_disagree_lower_confidence_and_flag_ambiguity(gaz: Gazetteer) -> None:
    r = gaz.extract("海淀区的朋友说望京那边也停水了")
    assert code(r) == "110108"  # the full name outweighs the short alias
    assert r.ambiguous and set(r.candidates) == {"110108", "110105026"}
    assert r.confidence < gaz.extract("海淀区停水了").confidence
    assert [a.area_code for a in r.alternatives] == ["110105026"]


# ---------------------------------------------------------------- one name, several areas
def test_a_road_across_two_streets_answers_their_district(gaz: Gazetteer) -> None:
    r = gaz.extract("朝阳路上有个大坑")
    assert r.ambiguous
    assert r.candidates == ("110105014", "110105015")
    assert r.best is not None and r.best.area_code == "110105"  # their common ancestor
    assert r.best.source == "place" and r.best.text == "朝阳路"
    assert r.confidence < gaz.extract("六里屯街道有个大坑").confidence
    assert {a.area_code for a in r.alternatives} == {"110105014", "110105015"}


def test_a_street_named_with_the_road_settles_it(gaz: Gazetteer) -> None:
    r = gaz.extract("朝阳路八里庄街道段有个大坑")
    assert code(r) == "110105015"  # 八里庄 alone would be 朝阳区 or 海淀区
    assert not r.ambiguous


def test_same_name_in_two_districts_is_never_guessed(gaz: Gazetteer) -> None:
    r = gaz.extract("团结社区的路灯坏了")
    assert r.best is None and r.area_code is None
    assert r.ambiguous and r.candidates == ("110101007001", "110108011001")
    two = gaz.extract("和平社区的路灯坏了")  # both in 朝阳区: that much is known
    assert code(two) == "110105" and two.ambiguous
    assert two.candidates == ("110105004001", "110105026035")


# ---------------------------------------------------------------- 朝阳区 in other cities
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("朝阳区三里屯的路灯坏了", "110105004"),
        ("北京市朝阳区三里屯的路灯坏了", "110105004"),
        ("朝阳区政府门口的路灯坏了", "110105"),
        ("北京朝阳市场门口的路灯坏了", "110105"),  # 朝阳市场 is a market, not 朝阳市
    ],
)
def test_chaoyang_is_beijings_by_default(gaz: Gazetteer, text: str, expected: str) -> None:
    r = gaz.extract(text)
    assert code(r) == expected and r.area_code == expected
    assert not r.outside_city


@pytest.mark.parametrize(
    ("text", "adcode", "path"),
    [
        ("吉林省长春市朝阳区人民大街的路灯坏了", "220104", "吉林省/长春市/朝阳区"),
        ("长春市朝阳区人民大街的路灯坏了", "220104", "吉林省/长春市/朝阳区"),
        ("我在长春朝阳区，路灯坏了", "220104", "吉林省/长春市/朝阳区"),
        ("辽宁省朝阳市双塔区的路灯坏了", "211302", "辽宁省/朝阳市/双塔区"),
        ("朝阳市的路灯坏了", "211300", "辽宁省/朝阳市"),
    ],
)
def test_another_citys_chaoyang_is_flagged_not_mapped(
    gaz: Gazetteer, text: str, adcode: str, path: str
) -> None:
    r = gaz.extract(text)
    assert r.outside_city
    assert r.area_code is None  # never one of this city's areas
    assert r.best is not None and r.best.source == "cpca"
    assert (r.best.area_code, r.best.area_path) == (adcode, path)
    assert all(m.area_codes != ("110105",) for m in r.mentions)


@pytest.mark.parametrize(
    "text",
    [
        "向沿海城市学习垃圾分类的经验",  # 海城市 is a city in Liaoning
        "建设要顺应城市的整体规划",  # 应城市 is a city in Hubei
        "希望孩子的教育能跟上城区孩子",  # 上城区 is in Hangzhou
        "附近几个大社区的居民出行困难",  # 大社区 is in Kaohsiung
    ],
)
def test_everyday_words_are_not_other_regions(gaz: Gazetteer, text: str) -> None:
    r = gaz.extract(text)
    assert not r.outside_city and r.best is None
    assert [m for m in r.mentions if m.source == "cpca"] == []


def test_a_passing_mention_of_another_province_does_not_move_the_request(
    gaz: Gazetteer,
) -> None:
    r = gaz.extract("我老家吉林，现在住望京街道，小区停水三天了")
    assert code(r) == "110105026" and not r.outside_city
    assert "吉林" in [m.text for m in r.mentions]
    # A line break ends the address: 吉林省 and the 朝阳区 after it are not one place.
    split = gaz.extract("我老家是吉林省\n朝阳区三里屯的路灯坏了")
    assert code(split) == "110105004" and not split.outside_city
    assert split.ambiguous  # a full province name still casts doubt


# ---------------------------------------------------------------- words, not pieces of words
def test_short_names_must_stand_as_words(gaz: Gazetteer) -> None:
    assert gaz.extract("家住朝阳光小区，物业不作为").best is None  # 朝/阳光/小区
    assert code(gaz.extract("朝阳门附近占道经营")) == "110101007"  # longest name wins
    assert code(gaz.extract("朝阳公园南门有人摆摊")) == "110105"
    r = gaz.extract("太古里门口共享单车乱停")
    assert code(r) == "110105004" and r.best and r.best.source == "place"


def test_english_aliases_are_matched_as_whole_words(gaz: Gazetteer) -> None:
    r = gaz.extract("Streetlight broken next to Wangjing SOHO, CHAOYANG district")
    assert code(r) == "110105026"
    assert r.best and r.best.text == "Wangjing SOHO" and r.best.source == "place"
    assert code(gaz.extract("Noise at night in chaoyangmen")) == "110101007"
    assert gaz.extract("The Chaoyangxyz tower").best is None
    assert code(gaz.extract("Ｗａｎｇｊｉｎｇ　ＳＯＨＯ lifts broken")) == "110105026"


# ---------------------------------------------------------------- coordinates
def test_a_point_in_a_polygon_picks_the_deepest_area(gaz: Gazetteer) -> None:
    r = gaz.extract("路灯坏了", lat=40.0, lon=116.47)
    assert r.best is not None
    assert (r.best.area_code, r.best.source) == ("110105026", "polygon")
    assert r.best.start is None and r.best.confidence >= 0.9
    outer = gaz.extract("路灯坏了", lat=39.9, lon=116.5)
    assert code(outer) == "110105"
    assert gaz.extract("路灯坏了", lat=39.0, lon=116.0).best is None


def test_text_refines_or_contradicts_the_point(gaz: Gazetteer) -> None:
    deeper = gaz.extract("花家地西里社区路灯坏了", lat=40.0, lon=116.47)
    assert code(deeper) == "110105026034" and not deeper.ambiguous
    against = gaz.extract("海淀区路灯坏了", lat=40.0, lon=116.47)
    assert against.best and against.best.source == "polygon"
    assert code(against) == "110105026" and against.ambiguous
    # Without polygons no point is used at all, never a nearest centre.
    plain = Gazetteer([a for a in AREAS if a.geometry is None])
    assert plain.extract("路灯坏了", lat=40.0, lon=116.47).best is None


# ---------------------------------------------------------------- nothing, spans, mess
def test_no_place_is_an_empty_result(gaz: Gazetteer) -> None:
    for text in ("今天天气不错，想咨询一下社保政策", "", "   \n"):
        r = gaz.extract(text)
        assert r.best is None and not r.ambiguous and not r.outside_city
        assert r.mentions == () and r.candidates == () and r.confidence == 0.0


def test_spans_point_into_the_original_text(gaz: Gazetteer) -> None:
    text = "  您好！\n我住在朝阳\n区 望京，\t花家地西里社区门口。"
    r = gaz.extract(text)
    assert code(r) == "110105026034"
    assert [text[m.start : m.end] for m in r.mentions] == ["朝阳\n区", "望京", "花家地西里社区"]
    assert [m.text for m in r.mentions] == ["朝阳\n区", "望京", "花家地西里社区"]
    assert r.best and text[r.best.start or 0 : r.best.end] == "花家地西里社区"


def test_messy_text_still_matches(gaz: Gazetteer) -> None:
    text = "朝阳区\u200b望京　ＳＯＨＯ旁边\r\n井盖丢失！！"
    r = gaz.extract(text)
    assert code(r) == "110105026"
    assert [m.text for m in r.mentions] == ["朝阳区", "望京　ＳＯＨＯ"]
    assert r.best and (r.best.source, r.best.text) == ("place", "望京　ＳＯＨＯ")
    assert json.loads(json.dumps(r.as_dict()))["best"]["area_code"] == "110105026"


# ---------------------------------------------------------------- the gazetteer file
def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_gazetteer_reads_rows(tmp_path: Path) -> None:
    rows = read_gazetteer(
        write(
            tmp_path / "gazetteer.csv",
            "name,kind,area_code,aliases,lat,lon\n"
            "望京SOHO,landmark,110105026,Wangjing SOHO| 望京soho ,39.996,116.481\n"
            "朝阳路,road,110105014,,,\n",
        )
    )
    assert rows[0] == PlaceRow(
        "望京SOHO", "landmark", "110105026", ("Wangjing SOHO", "望京soho"), 39.996, 116.481, 2
    )
    assert (rows[1].name, rows[1].lat, rows[1].aliases, rows[1].line) == ("朝阳路", None, (), 3)


def test_gazetteer_errors_name_file_line_column_and_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path / "gazetteer.csv",
        "name,kind,area_code,aliases,lat,lon\n"
        "国贸,park,110105001,,,\n"
        "国贸,landmark,110105001,,91,116.4\n"
        "秀水街,landmark,110105001,,north,116.4\n"
        "长安街,road,110101001,,,\n"
        "长安街,road,110101001,,,\n"
        "建外SOHO,landmark,110105001,,39.9,\n"
        "X,landmark,,,,\n",
    )
    with pytest.raises(GazetteerError) as info:
        read_gazetteer(path)
    assert info.value.problems == [
        "gazetteer.csv line 2, column kind: 'park' is not one of road, landmark, estate, poi",
        "gazetteer.csv line 3, column lat: 91 is outside -90…90",
        "gazetteer.csv line 4, column lat: 'north' is not a number",
        "gazetteer.csv line 6, columns name+area_code: 长安街 in 110101001 is already on line 5",
        "gazetteer.csv line 7, column lon: lat and lon go together: give both or neither",
        "gazetteer.csv line 8, column area_code: is empty",
        "gazetteer.csv line 8, column name: 'X' is too short (2 characters at least)",
    ]


def test_gazetteer_missing_column_and_unknown_area(tmp_path: Path) -> None:
    with pytest.raises(GazetteerError, match=r"line 1: missing column\(s\) kind"):
        read_gazetteer(write(tmp_path / "gazetteer.csv", "name,area_code\n国贸,110105001\n"))
    rows = [
        PlaceRow("国贸", "landmark", "110105001", line=2),
        PlaceRow("某地", "poi", "999", line=3),
    ]
    assert check_area_codes(rows, {"110105001"}) == [
        "gazetteer.csv line 3, column area_code: area 999 not found in areas.csv"
    ]


def test_demo_gazetteer_is_valid_and_points_at_demo_areas() -> None:
    rows = read_gazetteer(DEMO / "gazetteer.csv")
    with (DEMO / "areas.csv").open(encoding="utf-8") as fh:
        codes = {r["code"] for r in csv.DictReader(fh)}
    assert check_area_codes(rows, codes) == []
    assert len(rows) >= 80
    assert {r.kind for r in rows} == {"road", "landmark", "estate"}
    assert sorted(r.area_code for r in rows if r.name == "长安街") == [
        "110101001",
        "110101008",
        "110102001",
    ]


def test_demo_city_answers_real_places() -> None:
    pack = read_pack(DEMO)
    areas = [
        AreaEntry(a.code, a.parent_code, a.level, a.name, tuple(a.aliases)) for a in pack.areas
    ]
    demo = Gazetteer(areas, read_gazetteer(DEMO / "gazetteer.csv"))
    assert code(demo.extract("国贸地铁站出口有人发小广告")) == "110105001"
    assert code(demo.extract("望京SOHO附近共享单车堆积")) == "110105026"
    road = demo.extract("中关村大街上井盖松动")
    assert code(road) == "110108" and road.candidates == ("110108011", "110108012")
    avenue = demo.extract("长安街沿线的护栏坏了")  # 东城区 and 西城区: only the city is common
    assert avenue.best is None and len(avenue.candidates) == 3
    barely = demo.extract("八里庄街道的路灯坏了")  # 朝阳区 and 海淀区 both have one
    assert barely.best is None and barely.candidates == ("110105015", "110108005")
