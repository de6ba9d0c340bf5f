"""The sensors file: validation names the entry and the field, and loads nothing on error."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.sensors.sensorcity import GRID_DHM, GRID_JDK, RULES, SENSORS, alarm, write_yaml
from jiesu.city.cli import DEMO_PACK
from jiesu.city.models import Area
from jiesu.city.pack import read_pack
from jiesu.city.service import apply_pack, city_context
from jiesu.intake.models import Sensor, SensorRule
from jiesu.intake.sensors.registry import SensorFileError, load_sensor_file
from jiesu.intake.sensors.routing import route
from jiesu.intake.sensors.service import handle_alarm
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest

from factories import World


def problems_of(session: Session, path: Path, clock: FixedClock) -> list[str]:
    with pytest.raises(SensorFileError) as info:
        load_sensor_file(session, path, now=clock.now())
    return info.value.problems


def counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(SensorRule)) or 0,
        session.scalar(select(func.count()).select_from(Sensor)) or 0,
    )


def test_reload_updates_rules_by_kind_and_sensors_by_code(
    session: Session, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    assert counts(session) == (len(RULES), len(SENSORS))
    rules = [r | {"threshold": 2} if r["kind"] == "smoke" else r for r in RULES]
    sensors = [
        *[s | {"area": GRID_JDK} if s["code"] == "SMK-0001" else s for s in SENSORS],
        {"code": "SMK-0100", "kind": "smoke", "area": GRID_DHM, "active": False},
    ]
    path = write_yaml(tmp_path / "again.yaml", {"rules": rules, "sensors": sensors})
    clock.advance(timedelta(days=1))
    result = load_sensor_file(session, path, now=clock.now())
    assert (result.rules_added, result.rules_updated) == (0, len(RULES))
    assert (result.sensors_added, result.sensors_updated) == (1, len(SENSORS))
    smoke = session.get(SensorRule, "smoke")
    assert smoke is not None and smoke.threshold == 2 and smoke.updated_at == clock.now()
    moved = session.scalars(select(Sensor).where(Sensor.code == "SMK-0001")).one()
    assert session.get(Area, moved.area_id).code == GRID_JDK  # type: ignore[union-attr]
    retired = session.scalars(select(Sensor).where(Sensor.code == "SMK-0100")).one()
    assert retired.active is False


def test_rule_without_urgency_takes_the_categorys(session: Session, world: World) -> None:
    gas = session.get(SensorRule, "gas")
    smoke = session.get(SensorRule, "smoke")
    assert gas is not None and gas.urgency == "emergency"  # 010103 燃气泄漏 is an emergency
    assert smoke is not None and smoke.above is True


def test_sensors_only_file_uses_rules_already_loaded(
    session: Session, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    path = write_yaml(
        tmp_path / "more.yaml",
        {"sensors": [{"code": "SMK-0200", "kind": "smoke", "area": GRID_DHM}]},
    )
    assert load_sensor_file(session, path, now=clock.now()).sensors_added == 1


BAD_FILES: list[tuple[str, Any, str]] = [
    (
        "unknown category",
        {"rules": [{"kind": "smoke", "name": "烟感", "category": "999999"}]},
        "rule #1 (smoke): category: unknown value '999999'",
    ),
    (
        "unquoted category",
        {"rules": [{"kind": "smoke", "name": "烟感", "category": 4235}]},
        "rule #1 (smoke): category: write the code in quotes (YAML read it as the number 4235)",
    ),
    (
        "bad urgency",
        {"rules": [{"kind": "smoke", "name": "烟感", "category": "130809", "urgency": "asap"}]},
        "rule #1 (smoke): urgency: unknown urgency 'asap'",
    ),
    (
        "bad kind",
        {"rules": [{"kind": "Smoke Alarm", "name": "烟感", "category": "130809"}]},
        "rule #1 (Smoke Alarm): kind: String should match pattern",
    ),
    (
        "missing name",
        {"rules": [{"kind": "smoke", "category": "130809"}]},
        "rule #1 (smoke): name: Field required",
    ),
    (
        "unknown field",
        {"rules": [{"kind": "smoke", "name": "烟感", "category": "130809", "treshold": 1}]},
        "rule #1 (smoke): treshold: Extra inputs are not permitted",
    ),
    (
        "threshold not a number",
        {"rules": [{"kind": "smoke", "name": "烟感", "category": "130809", "threshold": "high"}]},
        "rule #1 (smoke): threshold: Input should be a valid number",
    ),
    (
        "unknown area",
        {"sensors": [{"code": "S-1", "kind": "smoke", "area": "123"}]},
        "sensor #1 (S-1): area: unknown value '123'",
    ),
    (
        "area is a street",
        {"sensors": [{"code": "S-1", "kind": "smoke", "area": "110101001"}]},
        "sensor #1 (S-1): area: 110101001 东华门街道 is a street; a sensor is placed on a grid",
    ),
    (
        "unknown unit",
        {"sensors": [{"code": "S-1", "kind": "smoke", "area": GRID_DHM, "unit": "PS-NONE"}]},
        "sensor #1 (S-1): unit: unknown value 'PS-NONE'",
    ),
    (
        "kind without a rule",
        {"sensors": [{"code": "S-1", "kind": "radon", "area": GRID_DHM}]},
        "sensor #1 (S-1): kind: no rule for 'radon'; rules exist for: door, gas, pressure, smoke",
    ),
    (
        "lat without lon",
        {"sensors": [{"code": "S-1", "kind": "smoke", "area": GRID_DHM, "lat": 39.9}]},
        "sensor #1 (S-1): lat/lon: give both or neither",
    ),
    (
        "latitude out of range",
        {"sensors": [{"code": "S-1", "kind": "smoke", "area": GRID_DHM, "lat": 91, "lon": 1}]},
        "sensor #1 (S-1): lat: Input should be less than or equal to 90",
    ),
    (
        "code with a space",
        {"sensors": [{"code": "S 1", "kind": "smoke", "area": GRID_DHM}]},
        "sensor #1 (S 1): code: String should match pattern",
    ),
    (
        "entry not a mapping",
        {"sensors": ["S-1"]},
        "sensor #1: must be a mapping of fields",
    ),
    (
        "duplicate code",
        {"sensors": [{"code": "S-1", "kind": "smoke", "area": GRID_DHM}] * 2},
        "sensor #2 (S-1): code: 'S-1' is also entry #1",
    ),
    ("unknown top-level key", {"sensor": []}, "unknown top-level key 'sensor'"),
    ("empty", {}, "nothing to load: give `rules:`, `sensors:` or both"),
    ("not a list", {"sensors": {"code": "S-1"}}, "`sensors:` must be a list of entries"),
    ("not a mapping", ["rules"], "the file must be a mapping with `rules:` and `sensors:`"),
]


@pytest.mark.parametrize(
    ("data", "problem"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_problems_name_the_entry_and_the_field(
    session: Session, world: World, clock: FixedClock, tmp_path: Path, data: Any, problem: str
) -> None:
    problems = problems_of(session, write_yaml(tmp_path / "bad.yaml", data), clock)
    assert any(p.startswith(problem) for p in problems), problems


def test_one_bad_entry_loads_nothing(
    session: Session, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    before = counts(session)
    data = {
        "rules": [{"kind": "radon", "name": "氡气", "category": "010103", "threshold": 300}],
        "sensors": [
            {"code": "RDN-1", "kind": "radon", "area": GRID_DHM},
            {"code": "RDN-2", "kind": "radon", "area": "nowhere"},
        ],
    }
    problems = problems_of(session, write_yaml(tmp_path / "bad.yaml", data), clock)
    assert len(problems) == 1 and problems[0].startswith("sensor #2 (RDN-2): area:")
    assert counts(session) == before


def test_file_errors(session: Session, world: World, clock: FixedClock, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - {kind: smoke\n", encoding="utf-8")
    (problem,) = problems_of(session, broken, clock)
    assert problem.startswith("line 3: not valid YAML")
    (problem,) = problems_of(session, tmp_path / "missing.yaml", clock)
    assert problem.startswith("cannot read the file")


def test_demo_sensors_load_on_the_demo_city_and_every_one_has_a_unit(
    session: Session, clock: FixedClock
) -> None:
    apply_pack(session, read_pack(DEMO_PACK), now=clock.now())
    result = load_sensor_file(session, DEMO_PACK / "sensors.yaml", now=clock.now())
    assert result.rules_added == 5 and result.sensors_added == 20
    kinds = set(session.scalars(select(SensorRule.kind)))
    assert kinds == {"smoke", "gas", "water_level", "door", "manhole_cover"}
    for sensor in session.scalars(select(Sensor)):
        area = session.get(Area, sensor.area_id)
        assert area is not None and area.level in ("grid", "community")
        assert route(session, sensor, area) is not None, sensor.code
    ctx = city_context(session)
    for code, kind, value, unit in (
        ("SMK-0001", "smoke", 1, "ST-110101003"),  # 交道口街道办事处
        ("GAS-0001", "gas", 35, "PS-GAS"),
        ("WL-0002", "water_level", 25, "ST-110101016"),  # a community of 天坛街道
    ):
        message = handle_alarm(
            session, f"jiesu/sensors/{kind}/{code}", alarm(code, kind, value, clock.now()),
            now=clock.now(), ctx=ctx,
        )  # fmt: skip
        assert message.outcome == "opened", message.reason
        order = session.get(ServiceRequest, message.request_id)
        assert order is not None and order.lead_unit is not None
        assert order.lead_unit.code == unit
    gas = session.scalars(select(ServiceRequest).where(ServiceRequest.title.contains("GAS"))).one()
    # 燃气供应 must be accepted within 1h (its own limit), handled within the utility class's 24h.
    assert gas.response_due == clock.now() + timedelta(hours=1)
    assert gas.handling_due == clock.now() + timedelta(hours=24)
