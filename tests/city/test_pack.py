"""City packs: reading and validating the folder, loading and re-loading it into the database."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import UNIT_KINDS, Area, Category, CityPackLoad, HandlingUnit
from jiesu.city.pack import CityPack, CityPackError, read_pack
from jiesu.city.service import apply_pack, city_context, find_category
from jiesu.errors import UnknownReference
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.people.service import Actor

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
DEMO = Path(__file__).parents[2] / "src" / "jiesu" / "city" / "packs" / "demo"

CITY = """\
code: "110000"
name: 测试市
timezone: Asia/Shanghai
urgency_classes:
  emergency: {name: 紧急, response: 2h, handling: 24h}
  utility:   {name: 水电气热, response: 2h, handling: 24h}
  general:   {name: 一般, response: 24h, handling: 7wd}
  complex:   {name: 复杂, response: 24h, handling: 15WD}
"""
AREAS = """\
code,parent_code,level,name,aliases,lat,lon
110000,,city,测试市,测试,39.9,116.4
110101,110000,district,东城区,东城|崇文,39.93,116.42
110101001,110101,street,东华门街道,东华门,,
110101001001,110101001,community,多福巷社区,,,
"""
CATEGORIES = """\
code,parent_code,level,name,urgency,response_limit,handling_limit,keywords
01,,1,城乡建设,general,,,
0101,01,2,市政管理,,12h,,
010101,0101,3,噪音扰民,,,,噪音|施工噪音
010102,0101,3,停水,utility,,,停水|没水
010103,0101,3,占道经营,,,3wd,占道
02,,1,公共安全,emergency,1h,,
0201,02,2,燃气安全,,,,
020101,0201,3,燃气泄漏,,,,燃气|煤气
"""
UNITS = """\
code,name,kind,areas,categories,phone,parent_code
DG-110101,东城区人民政府,district_government,110101,*,010-55550001,
ST-110101001,东华门街道办事处,street_office,110101001,*,,DG-110101
PS-WATER,自来水集团,public_service_company,110000,010102,,
CB-CGW,城市管理委员会,city_bureau,110000,01|02,,
PF-MT,外卖平台,platform_company,110000,010103,,
"""
FILES = {
    "city.yaml": CITY,
    "areas.csv": AREAS,
    "categories.csv": CATEGORIES,
    "units.csv": UNITS,
}


def write_pack(folder: Path, **files: str | None) -> Path:
    """The minimal pack, with whole files replaced (file_name=text) or left out (None)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (FILES | {k.replace("_", "."): v for k, v in files.items()}).items():
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def row_counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Area, Category, HandlingUnit, CityPackLoad)
    }


def load(session: Session, folder: Path, now: datetime = NOW) -> CityPack:
    """What `jiesu city load` does: validate everything first, then write."""
    pack = read_pack(folder)
    apply_pack(session, pack, now=now)
    return pack


def test_minimal_pack_resolves_inheritance(tmp_path: Path) -> None:
    pack = read_pack(write_pack(tmp_path / "pack"))
    assert pack.city["code"] == "110000" and pack.city["name"] == "测试市"
    # Urgency class limits are normalised when read ("15WD" → "15wd").
    assert pack.city["urgency_classes"]["complex"]["handling"] == "15wd"
    got = {c.code: (c.urgency, c.response_limit, c.handling_limit) for c in pack.categories}
    assert got == {
        "01": ("general", "24h", "7wd"),  # the urgency class defaults
        "0101": ("general", "12h", "7wd"),  # its own response override
        "010101": ("general", "12h", "7wd"),  # the parent's override, same urgency
        "010102": ("utility", "2h", "24h"),  # other urgency: that class, not the parent's 12h
        "010103": ("general", "12h", "3wd"),  # own handling, inherited response
        "02": ("emergency", "1h", "24h"),
        "0201": ("emergency", "1h", "24h"),  # urgency and override both inherited
        "020101": ("emergency", "1h", "24h"),
    }
    assert [a.aliases for a in pack.areas][1] == ["东城", "崇文"]
    assert pack.areas[2].lat is None
    assert pack.categories[2].keywords == ["噪音", "施工噪音"]
    units = {u.code: u for u in pack.units}
    assert units["ST-110101001"].parent_code == "DG-110101"
    assert units["CB-CGW"].categories == ["01", "02"]


def test_minimal_pack_loads_into_the_database(session: Session, tmp_path: Path) -> None:
    load(session, write_pack(tmp_path / "pack"))
    session.commit()
    assert row_counts(session) == {"Area": 4, "Category": 8, "HandlingUnit": 5, "CityPackLoad": 1}
    community = session.scalar(select(Area).where(Area.code == "110101001001"))
    assert community is not None
    assert community.path == "110000/110101/110101001/110101001001/"
    assert community.parent is not None and community.parent.code == "110101001"
    leaf = find_category(session, "010101")
    assert (leaf.level, leaf.urgency, leaf.response_limit, leaf.handling_limit) == (
        3,
        "general",
        "12h",
        "7wd",
    )
    assert leaf.path == "01/0101/010101/"
    units = {u.code: u for u in session.scalars(select(HandlingUnit))}
    assert units["DG-110101"].all_categories and units["DG-110101"].categories == []
    assert [c.code for c in units["CB-CGW"].categories] == ["01", "02"]
    assert [a.code for a in units["PS-WATER"].areas] == ["110000"]
    assert units["ST-110101001"].parent_id == units["DG-110101"].id
    ctx = city_context(session)
    assert ctx.tz.key == "Asia/Shanghai"
    assert [str(x) for x in ctx.limits("general", leaf)] == ["12h", "7wd"]
    # Marked more urgent than its category: the urgency class limits apply.
    assert [str(x) for x in ctx.limits("emergency", leaf)] == ["2h", "24h"]


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BROKEN = {
    "unknown parent area": (
        {"areas_csv": AREAS + "110102001,110102,street,西长安街街道,,,\n"},
        ["areas.csv row 6", "parent_code 110102 not found"],
    ),
    "unknown area in units.csv": (
        {"units_csv": edit(UNITS, "110101001,*", "110101001|110101999,*")},
        ["units.csv row 3", "area 110101999 not found"],
    ),
    "unknown category in units.csv": (
        {"units_csv": edit(UNITS, "110000,010102", "110000,010199")},
        ["units.csv row 4", "category 010199 not found"],
    ),
    "unknown parent unit": (
        {"units_csv": edit(UNITS, ",DG-110101\n", ",DG-110199\n")},
        ["units.csv row 3", "parent_code DG-110199 not found"],
    ),
    "duplicated category code": (
        {"categories_csv": CATEGORIES + "010102,0101,3,停电,utility,,,\n"},
        ["categories.csv row 10", "code 010102 is used twice"],
    ),
    "duplicated unit code": (
        {"units_csv": UNITS + "PS-WATER,供水公司,public_service_company,110000,010102,,\n"},
        ["units.csv row 7", "code PS-WATER is used twice"],
    ),
    "bad area level": (
        {"areas_csv": edit(AREAS, "110000,district", "110000,county")},
        ["areas.csv row 3", "level 'county'"],
    ),
    "bad category level": (
        {"categories_csv": edit(CATEGORIES, "0101,3,停水", "0101,4,停水")},
        ["categories.csv row 5", "level '4'"],
    ),
    "category level that does not fit its parent": (
        {"categories_csv": edit(CATEGORIES, "0101,3,停水", "0101,2,停水")},
        ["categories.csv row 5", "level 2 does not fit under parent 0101"],
    ),
    "bad time limit": (
        {"categories_csv": edit(CATEGORIES, ",,3wd,", ",,7x,")},
        ["categories.csv row 6", "handling_limit", "'7x'"],
    ),
    "bad unit kind": (
        {"units_csv": edit(UNITS, "city_bureau", "ministry")},
        ["units.csv row 5", "kind 'ministry'"],
    ),
    "unknown urgency": (
        {"categories_csv": edit(CATEGORIES, "停水,utility", "停水,urgent")},
        ["categories.csv row 5", "urgency 'urgent'"],
    ),
    "missing column": (
        {"units_csv": UNITS.replace(",kind,", ",type,", 1)},
        ["units.csv", "missing column(s) kind"],
    ),
    "missing file": ({"categories_csv": None}, ["categories.csv", "file is missing"]),
    "missing urgency class": (
        {"city_yaml": edit(CITY, "utility:   {name: 水电气热, response: 2h, handling: 24h}", "")},
        ["city.yaml", "urgency_classes.utility is required"],
    ),
}


@pytest.mark.parametrize("files, expected", BROKEN.values(), ids=BROKEN.keys())
def test_broken_pack_names_file_row_and_reference_and_loads_nothing(
    session: Session, tmp_path: Path, files: dict[str, str | None], expected: list[str]
) -> None:
    folder = write_pack(tmp_path / "pack", **files)
    with pytest.raises(CityPackError) as err:
        load(session, folder)
    # One problem line carries all of it: the file, the row and the bad reference.
    assert any(all(part in p for part in expected) for p in err.value.problems), err.value.message
    assert "nothing was loaded" in err.value.message
    assert err.value.status_code == 422
    session.rollback()
    assert row_counts(session) == {"Area": 0, "Category": 0, "HandlingUnit": 0, "CityPackLoad": 0}


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "pack",
        categories_csv=edit(CATEGORIES, ",,3wd,", ",,7x,"),
        units_csv=edit(UNITS, "110000,010102", "110000,010199"),
    )
    with pytest.raises(CityPackError) as err:
        read_pack(folder)
    assert len(err.value.problems) == 2, err.value.problems


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    """Row numbers are those an editor or a spreadsheet shows, blank lines included."""
    areas = edit(AREAS, "110101,110000", "\n110101,110000")
    folder = write_pack(tmp_path / "pack", areas_csv=areas + "110102001,110102,street,某街道,,,\n")
    with pytest.raises(CityPackError) as err:
        read_pack(folder)
    assert any("areas.csv row 7:" in p for p in err.value.problems), err.value.problems


def test_unit_listing_an_area_twice_is_a_pack_error(session: Session, tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "pack",
        units_csv=edit(UNITS, "110000,01|02", "110000|110000,01|02|01"),
    )
    with pytest.raises(CityPackError) as err:
        load(session, folder)
    assert any("units.csv row 5" in p and "110000" in p for p in err.value.problems)
    assert any("units.csv row 5" in p and "01" in p for p in err.value.problems)


V2_CATEGORIES = edit(CATEGORIES, "010102,0101,3,停水,utility,,,停水|没水\n", "").replace(
    "噪音扰民", "噪声扰民"
)
V2_UNITS = edit(UNITS, "PS-WATER,自来水集团,public_service_company,110000,010102,,\n", "")
V2_AREAS = edit(AREAS, "东华门街道,东华门", "东华门地区,东华门")


def test_reload_keeps_ids_and_deactivates_removed_rows(session: Session, tmp_path: Path) -> None:
    load(session, write_pack(tmp_path / "v1"))
    ctx = city_context(session)
    op = Actor(None, "op", "operator")
    req, _ = submit_request(
        session,
        RequestIn(text="小区停水两天了", category="010102", area="110101001"),
        actor=op,
        now=NOW,
        ctx=ctx,
    )
    session.commit()
    ids = {c.code: c.id for c in session.scalars(select(Category))}
    area_ids = {a.code: a.id for a in session.scalars(select(Area))}

    later = NOW + timedelta(days=30)
    v2 = write_pack(
        tmp_path / "v2", categories_csv=V2_CATEGORIES, units_csv=V2_UNITS, areas_csv=V2_AREAS
    )
    apply_counts = apply_pack(session, read_pack(v2), now=later)
    session.commit()
    session.expire_all()

    assert apply_counts["deactivated"] == 2  # the category 010102 and the unit PS-WATER
    assert req.category is not None and req.category.code == "010102"
    assert req.category.id == ids["010102"] and not req.category.active
    assert req.area is not None and req.area.id == area_ids["110101001"]
    assert req.area.name == "东华门地区" and req.area.active
    renamed = session.scalar(select(Category).where(Category.code == "010101"))
    assert renamed is not None and renamed.id == ids["010101"]
    assert renamed.name == "噪声扰民" and renamed.active and renamed.updated_at == later
    assert {c.code: c.id for c in session.scalars(select(Category))} == ids
    water = session.scalar(select(HandlingUnit).where(HandlingUnit.code == "PS-WATER"))
    assert water is not None and not water.active
    # Inactive rows are kept for history but cannot be chosen for new requests.
    with pytest.raises(UnknownReference):
        find_category(session, "010102")
    loads = session.scalars(select(CityPackLoad).order_by(CityPackLoad.id)).all()
    assert [x.loaded_at for x in loads] == [NOW, later]
    assert loads[0].digest != loads[1].digest

    # Loading v1 again brings the removed rows back, still with their ids.
    apply_pack(session, read_pack(tmp_path / "v1"), now=later + timedelta(days=1))
    session.commit()
    session.expire_all()
    assert req.category.active and req.category.id == ids["010102"]
    assert session.scalar(select(func.count()).select_from(CityPackLoad)) == 3


def test_demo_pack_loads(session: Session) -> None:
    if not (DEMO / "city.yaml").is_file():
        pytest.skip("the demo city pack (src/jiesu/city/packs/demo/city.yaml) is not there yet")
    pack = read_pack(DEMO)
    levels = [c.level for c in pack.categories]
    assert levels.count(1) == 15
    assert levels.count(3) >= 500
    assert sum(a.level == "district" for a in pack.areas) == 16
    assert {u.kind for u in pack.units} == set(UNIT_KINDS)
    assert pack.years, "the demo pack carries calendar years"

    apply_pack(session, pack, now=NOW)
    session.commit()
    units = session.scalars(select(HandlingUnit)).all()
    assert len(units) == len(pack.units)
    by_code = {u.code: u for u in units}
    for row in pack.units:
        unit = by_code[row.code]
        assert sorted(a.code for a in unit.areas) == sorted(row.areas), row.code
        assert unit.all_categories == ("*" in row.categories), row.code
        wanted = sorted(c for c in row.categories if c != "*")
        assert sorted(c.code for c in unit.categories) == wanted, row.code
    # Every category resolved a valid urgency and both limits.
    ctx = city_context(session)
    for cat in session.scalars(select(Category)):
        response, handling = ctx.limits(cat.urgency, cat)
        assert response.amount > 0 and handling.amount > 0, cat.code


def test_category_attributes_load_from_the_pack(session, clock, tmp_path) -> None:
    from jiesu.city.models import Category
    from jiesu.city.pack import CityPackError, read_pack
    from jiesu.city.service import apply_pack

    demo = read_pack(DEMO)
    apply_pack(session, demo, now=clock.now())
    heating = session.query(Category).filter_by(code="010208").one()
    assert [a["code"] for a in heating.attributes] == ["indoor_temperature", "since"]
    bad = tmp_path / "bad"
    shutil.copytree(DEMO, bad)
    (bad / "attributes.yaml").write_text(
        '"010208": [{code: x, datatype: singlevaluelist, order: 1}]\n"999999": []\n',
        encoding="utf-8",
    )
    with pytest.raises(CityPackError) as err:
        read_pack(bad)
    text = str(err.value)
    assert "attributes.yaml: 010208" in text and "needs at least one value" in text
    assert "attributes.yaml: category 999999 not found" in text
