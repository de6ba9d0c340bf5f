"""The catalogue as data: reading, refusing bad rules, specificity, roles and the fallback owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from jiesu.city.pack import UnitRow
from jiesu.city.service import apply_pack
from jiesu.dispatch.catalogue import CatalogueError, push_down_warnings, read_catalogue
from jiesu.dispatch.directory import Directory, build_directory
from jiesu.dispatch.engine import Case, decide, matching_rules
from jiesu.kit.clock import FixedClock

from factories import city_pack


def directory_of(session: Session, now: datetime, extra_units: list[UnitRow] = ()) -> Directory:  # type: ignore[assignment]
    pack = city_pack()
    pack.units += list(extra_units)
    apply_pack(session, pack, now=now)
    return build_directory(session)


def case(**kw: Any) -> Case:
    base: dict[str, Any] = {
        "text": "楼下饭店每天夜里施工，噪音很大",
        "category": "010101",
        "area": "110101008",
        "urgency": "general",
        "channel": "phone",
        "minute": 10 * 60,
    }
    return Case(**(base | kw))


RULES: dict[str, Any] = {
    "settings": {"auto_dispatch": True},
    "rules": [
        {"id": "urban", "match": {"categories": ["01"]}, "lead": {"role": "street_office"}},
        {"id": "water", "match": {"categories": ["010102"]}, "lead": "PS-WATER"},
        {
            "id": "noise-night",
            "match": {"categories": ["010101"], "hours": ["22:00-06:00"], "keywords": ["施工"]},
            "lead": "CB-CGW",
            "assisting": [{"role": "street_office"}],
            "deadlines": {"response": "1h"},
        },
        {
            "id": "noise-dongcheng",
            "match": {"categories": ["010101"], "areas": ["东城区"]},
            "lead": {"role": "district_government"},
        },
    ],
}


def test_most_specific_rule_wins(session: Session, clock: FixedClock) -> None:
    d = directory_of(session, clock.now())
    cat = read_catalogue(RULES, d)
    # Deeper category beats shallower; within one category a deeper area beats none.
    assert [r.id for r in matching_rules(cat, d, case())] == ["noise-dongcheng", "urban"]
    # At night the keyword-and-hours rule matches too, but the district rule names a deeper
    # area, and area depth counts before the number of conditions.
    night = case(minute=23 * 60)
    assert [r.id for r in matching_rules(cat, d, night)][:2] == ["noise-dongcheng", "noise-night"]
    assert decide(cat, d, case(category="010102")).unit == "PS-WATER"
    plain = decide(cat, d, case(category="010104"))
    assert (plain.unit, plain.rule, plain.source) == ("ST-110101008", "urban", "rule")
    assert plain.confidence == 1.0 and "street_office" in plain.reasons[0]


def test_hours_wrap_past_midnight_and_keywords_must_hit(
    session: Session, clock: FixedClock
) -> None:
    d = directory_of(session, clock.now())
    rules = {"rules": [r for r in RULES["rules"] if r["id"] != "noise-dongcheng"]}
    cat = read_catalogue(rules, d)
    assert decide(cat, d, case(minute=23 * 60)).rule == "noise-night"
    assert decide(cat, d, case(minute=5 * 60)).rule == "noise-night"
    assert decide(cat, d, case(minute=6 * 60)).rule == "urban"
    quiet = decide(cat, d, case(minute=23 * 60, text="楼下饭店油烟"))
    assert quiet.rule == "urban"
    night = decide(cat, d, case(minute=23 * 60))
    assert night.assisting == ["ST-110101008"]
    assert (night.response_limit, night.handling_limit) == ("1h", None)


def test_role_with_no_unit_falls_back_to_the_district_government(
    session: Session, clock: FixedClock
) -> None:
    d = directory_of(session, clock.now())
    cat = read_catalogue(
        {
            "rules": [
                {
                    "id": "heat",
                    "match": {},
                    "lead": {"role": "public_service_company", "handles": "010104"},
                }
            ]
        },
        d,
    )
    got = decide(cat, d, case())
    assert (got.unit, got.source, got.rule) == ("DG-110101", "fallback", "heat")
    assert "区政府兜底" in got.reasons[0]
    # With no district for the place there is no owner: the dispatcher decides.
    nowhere = decide(cat, d, case(area=None))
    assert nowhere.unit is None and nowhere.source is None
    assert "a dispatcher decides" in nowhere.reasons[-1]


def test_nearest_unit_of_a_role_wins_and_balancing_picks_the_least_loaded(
    session: Session, clock: FixedClock
) -> None:
    extra = [
        UnitRow("GRID-A", "交道口网格一组", "street_office", ["110101008"], ["*"], "", None),
        UnitRow("HB-DC", "东城区住建委", "city_bureau", ["110101"], ["0101"], "", None),
    ]
    d = directory_of(session, clock.now(), extra)
    cat = read_catalogue(
        {
            "rules": [
                {
                    "id": "st",
                    "match": {"categories": ["010101"]},
                    "lead": {"role": "street_office"},
                    "balance": True,
                },
                {
                    "id": "bureau",
                    "match": {"categories": ["010104"]},
                    "lead": {"role": "city_bureau", "handles": "request"},
                },
            ]
        },
        d,
    )
    load = {"ST-110101008": 5, "GRID-A": 1}
    got = decide(cat, d, case(), load=lambda units: {u: load.get(u, 0) for u in units})
    assert got.unit == "GRID-A" and "least loaded of 2" in got.reasons[0]
    load = {"ST-110101008": 0, "GRID-A": 3}
    assert decide(cat, d, case(), load=lambda units: load).unit == "ST-110101008"
    # The district's bureau is nearer than the city's for a Dongcheng place.
    assert decide(cat, d, case(category="010104")).unit == "HB-DC"
    assert decide(cat, d, case(category="010104", area="110102")).unit == "CB-CGW"


def test_returned_units_are_never_chosen_again(session: Session, clock: FixedClock) -> None:
    d = directory_of(session, clock.now())
    cat = read_catalogue(RULES, d)
    got = decide(cat, d, case(category="010102", exclude=frozenset({"PS-WATER"})))
    # The water rule's unit returned it: the next matching rule (urban → street office) decides.
    assert got.unit == "ST-110101008" and got.rule == "urban"
    assert all(s.unit != "PS-WATER" for s in got.suggestions)
    assert any("returned" in r for r in got.reasons)


def test_two_level_goes_to_the_district(session: Session, clock: FixedClock) -> None:
    d = directory_of(session, clock.now())
    cat = read_catalogue(
        {
            "rules": [
                {
                    "id": "x",
                    "match": {"categories": ["010104"]},
                    "lead": {"role": "street_office"},
                    "mode": "two_level",
                }
            ]
        },
        d,
    )
    got = decide(cat, d, case(category="010104"))
    assert (got.unit, got.mode) == ("DG-110101", "two_level")


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"id": "a", "lead": "NO-SUCH"}, "unknown unit 'NO-SUCH'"),
        ({"id": "a", "lead": "PS-WATER", "match": {"categories": ["99"]}}, "unknown category '99'"),
        ({"id": "a", "lead": "PS-WATER", "match": {"areas": ["火星"]}}, "unknown area '火星'"),
        ({"id": "a", "lead": {"role": "mayor"}}, "unknown role 'mayor'"),
        ({"id": "a", "lead": "PS-WATER", "match": {"hours": ["25:00-26:00"]}}, "not a window"),
        ({"id": "a", "lead": "PS-WATER", "match": {"channels": ["fax"]}}, "unknown channel 'fax'"),
        ({"id": "a", "lead": "PS-WATER", "match": {"urgency": ["now"]}}, "unknown urgency 'now'"),
        ({"id": "a", "lead": "PS-WATER", "deadlines": {"response": "soon"}}, "deadlines.response"),
        ({"id": "a", "lead": "PS-WATER", "mode": "three_level"}, "mode: must be one of"),
        ({"id": "a", "lead": "PS-WATER", "colour": "red"}, "colour: unknown key"),
        ({"lead": "PS-WATER"}, "id is required"),
        ({"id": "a", "lead": "PS-WATER", "assisting": ["NOPE"]}, "assisting[0]"),
    ],
)
def test_bad_rules_are_refused_naming_the_rule_and_field(
    session: Session, clock: FixedClock, rule: dict[str, Any], problem: str
) -> None:
    d = directory_of(session, clock.now())
    with pytest.raises(CatalogueError) as err:
        read_catalogue({"rules": [rule]}, d)
    assert problem in str(err.value)


def test_rules_that_tie_are_refused_and_priority_settles_them(
    session: Session, clock: FixedClock
) -> None:
    d = directory_of(session, clock.now())
    a = {"id": "a", "match": {"categories": ["0101"], "keywords": ["噪音"]}, "lead": "CB-CGW"}
    b = {"id": "b", "match": {"categories": ["0101"], "keywords": ["施工"]}, "lead": "PS-WATER"}
    with pytest.raises(CatalogueError, match="rules 'a' and 'b' can match the same request"):
        read_catalogue({"rules": [a, b]}, d)
    read_catalogue({"rules": [a, b | {"priority": 1}]}, d)
    # Disjoint conditions cannot tie: other areas, other channels, other hours.
    read_catalogue(
        {
            "rules": [
                a | {"match": {"categories": ["0101"], "areas": ["110101"]}},
                a | {"id": "c", "match": {"categories": ["0101"], "areas": ["110102"]}},
            ]
        },
        d,
    )
    day = {"id": "d", "match": {"hours": ["08:00-18:00"]}, "lead": "CB-CGW"}
    night = {"id": "n", "match": {"hours": ["18:00-08:00"]}, "lead": "CB-CGW"}
    read_catalogue({"rules": [day, night]}, d)
    overlap = night | {"match": {"hours": ["17:00-08:00"]}}
    with pytest.raises(CatalogueError, match="'d' and 'n'"):
        read_catalogue({"rules": [day, overlap]}, d)
    with pytest.raises(CatalogueError, match="id is used twice"):
        read_catalogue({"rules": [a, a]}, d)


def test_catalogue_round_trips_through_data(session: Session, clock: FixedClock) -> None:
    d = directory_of(session, clock.now())
    cat = read_catalogue(RULES, d)
    again = read_catalogue(cat.to_data(), d)
    assert again.digest() == cat.digest()
    # Names were turned into codes when read.
    assert cat.rule("noise-dongcheng") is not None
    assert list(cat.rule("noise-dongcheng").areas) == ["110101"]  # type: ignore[union-attr]


def test_units_are_found_by_former_name(session: Session, clock: FixedClock) -> None:
    extra = [
        UnitRow(
            "CB-NEW", "市城市管理委", "city_bureau", ["110000"], ["01"], "", None, ["市市政管委"]
        )
    ]
    d = directory_of(session, clock.now(), extra)
    cat = read_catalogue({"rules": [{"id": "a", "lead": "市市政管委"}]}, d)
    assert cat.rules[0].lead.unit == "CB-NEW"


def test_sending_a_departments_category_to_street_offices_is_warned(
    session: Session, clock: FixedClock
) -> None:
    d = directory_of(session, clock.now())
    # PS-WATER takes 010102: a street-office rule for all of 01 pushes it down…
    broad = {"id": "urban", "match": {"categories": ["01"]}, "lead": {"role": "street_office"}}
    [warning] = push_down_warnings(read_catalogue({"rules": [broad]}, d), d)
    assert "'urban'" in warning and "停水" in warning and "北京市自来水集团" in warning
    # …unless a more specific rule gives it to the company.
    water = {"id": "water", "match": {"categories": ["010102"]}, "lead": "PS-WATER"}
    assert not any(
        "停水" in w for w in push_down_warnings(read_catalogue({"rules": [broad, water]}, d), d)
    )


def test_a_role_picks_the_unit_naming_the_deepest_category(
    session: Session, clock: FixedClock
) -> None:
    extra = [UnitRow("CB-NOISE", "市噪声办", "city_bureau", ["110000"], ["010101"], "", None)]
    d = directory_of(session, clock.now(), extra)
    cat = read_catalogue(
        {"rules": [{"id": "b", "lead": {"role": "city_bureau", "handles": "request"}}]}, d
    )
    # CB-CGW takes all of 01, CB-NOISE names 010101 itself: the specialist wins.
    assert decide(cat, d, case(category="010101")).unit == "CB-NOISE"
    assert decide(cat, d, case(category="010104")).unit == "CB-CGW"
