"""The sensors file: alarm rules by kind and the registered sensors, validated then upserted.

Every problem is reported with the entry (``rule #2 (gas)``, ``sensor #7 (SMK-0007)``) and the
field; if there is any, nothing is loaded. Loading again updates rules by ``kind`` and sensors by
``code``. Sensors missing from a file are left as they are — a file may cover one district or
one kind — and are retired with ``active: false`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, HandlingUnit, check_urgency
from jiesu.city.service import find_area, find_category, find_unit
from jiesu.errors import ProblemList, UnknownReference
from jiesu.intake.models import Sensor, SensorRule
from jiesu.logs import get_logger

log = get_logger(__name__)

SENSOR_LEVELS = ("grid", "community")

M = TypeVar("M", bound=BaseModel)


class SensorFileError(ProblemList):
    code = "sensor_file_invalid"


def _code_text(value: Any) -> Any:
    # YAML reads an unquoted 11010100300101 as a number; area, unit and sensor codes have no
    # leading zeros, so the number's digits are the code.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: str = Field(..., min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(..., min_length=1, max_length=100)
    category: str = Field(..., min_length=1, max_length=100)
    threshold: float | None = None
    above: bool = True
    urgency: str | None = None

    @field_validator("category", mode="before")
    @classmethod
    def _quoted_category(cls, value: Any) -> Any:
        # Category codes start with 0: YAML turns an unquoted 010213 into the octal number 4235.
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"write the code in quotes (YAML read it as the number {value})")
        return value

    @field_validator("urgency")
    @classmethod
    def _urgency(cls, value: str | None) -> str | None:
        return check_urgency(value)


class SensorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(..., min_length=1, max_length=64, pattern=r"^\S+$")
    kind: str = Field(..., min_length=1, max_length=32)
    area: str = Field(..., min_length=1, max_length=100)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    unit: str | None = Field(None, max_length=200)
    description: str = Field("", max_length=200)
    active: bool = True

    _codes = field_validator("code", "area", "unit", mode="before")(_code_text)


@dataclass
class SensorFile:
    source: str
    rules: list[RuleSpec]
    sensors: list[SensorSpec]


@dataclass
class LoadResult:
    rules_added: int = 0
    rules_updated: int = 0
    sensors_added: int = 0
    sensors_updated: int = 0


def read_sensor_file(path: Path) -> SensorFile:
    """Parse and check the shape of the file; references are checked against the city later."""
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SensorFileError(source, [f"cannot read the file: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SensorFileError(source, [f"{where}not valid YAML ({problem})"]) from None
    if not isinstance(data, dict):
        raise SensorFileError(source, ["the file must be a mapping with `rules:` and `sensors:`"])
    problems = [f"unknown top-level key {k!r}" for k in data if k not in ("rules", "sensors")]
    if not data.get("rules") and not data.get("sensors"):
        problems.append("nothing to load: give `rules:`, `sensors:` or both")
    rules = _entries(data, "rules", RuleSpec, "rule", "kind", problems)
    sensors = _entries(data, "sensors", SensorSpec, "sensor", "code", problems)
    problems += _duplicates(rules, "rule", "kind") + _duplicates(sensors, "sensor", "code")
    if problems:
        raise SensorFileError(source, problems)
    return SensorFile(source, rules, sensors)


def _entries(
    data: dict[str, Any],
    key: str,
    model: type[M],
    noun: str,
    label_field: str,
    problems: list[str],
) -> list[M]:
    raw = data.get(key) or []
    if not isinstance(raw, list):
        problems.append(f"`{key}:` must be a list of entries")
        return []
    out = []
    for i, entry in enumerate(raw, start=1):
        label = _label(noun, i, entry.get(label_field) if isinstance(entry, dict) else None)
        if not isinstance(entry, dict):
            problems.append(f"{label}: must be a mapping of fields")
            continue
        try:
            out.append(model.model_validate(entry))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "entry"
                message = err["msg"].removeprefix("Value error, ")
                problems.append(f"{label}: {field}: {message}")
    return out


def _label(noun: str, index: int, name: Any) -> str:
    return f"{noun} #{index}" + (f" ({name})" if name not in (None, "") else "")


def _duplicates(entries: list[Any], noun: str, field: str) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for i, entry in enumerate(entries, start=1):
        key = getattr(entry, field)
        if key in seen:
            problems.append(f"{noun} #{i} ({key}): {field}: {key!r} is also entry #{seen[key]}")
        seen.setdefault(key, i)
    return problems


def apply_sensor_file(session: Session, spec: SensorFile, *, now: datetime) -> LoadResult:
    """Check every reference against the loaded city, then upsert; all or nothing."""
    problems: list[str] = []
    categories: dict[str, Category] = {}
    for i, r in enumerate(spec.rules, start=1):
        try:
            categories[r.kind] = find_category(session, r.category)
        except UnknownReference as exc:
            problems.append(f"{_label('rule', i, r.kind)}: {exc.message}")
    known_kinds = set(session.scalars(select(SensorRule.kind))) | {r.kind for r in spec.rules}
    places: dict[str, tuple[Area, HandlingUnit | None]] = {}
    for i, s in enumerate(spec.sensors, start=1):
        label = _label("sensor", i, s.code)
        if s.kind not in known_kinds:
            kinds = ", ".join(sorted(known_kinds)) or "none yet"
            problems.append(f"{label}: kind: no rule for {s.kind!r}; rules exist for: {kinds}")
        if (s.lat is None) != (s.lon is None):
            problems.append(f"{label}: lat/lon: give both or neither")
        try:
            area = find_area(session, s.area)
            unit = find_unit(session, s.unit) if s.unit else None
        except UnknownReference as exc:
            problems.append(f"{label}: {exc.message}")
            continue
        if area.level not in SENSOR_LEVELS:
            problems.append(
                f"{label}: area: {area.code} {area.name} is a {area.level}; "
                "a sensor is placed on a grid or a community"
            )
        places[s.code] = (area, unit)
    if problems:
        raise SensorFileError(spec.source, problems)
    result = LoadResult()
    for r in spec.rules:
        _upsert_rule(session, r, categories[r.kind], now, result)
    for s in spec.sensors:
        _upsert_sensor(session, s, *places[s.code], now, result)
    session.flush()
    log.info("sensors.loaded", source=spec.source, **result.__dict__)
    return result


def load_sensor_file(session: Session, path: Path, *, now: datetime) -> LoadResult:
    """Read, validate and load a sensors file in the caller's transaction."""
    return apply_sensor_file(session, read_sensor_file(path), now=now)


def _upsert_rule(
    session: Session, r: RuleSpec, category: Category, now: datetime, result: LoadResult
) -> None:
    rule = session.get(SensorRule, r.kind)
    if rule is None:
        rule = SensorRule(kind=r.kind)
        session.add(rule)
        result.rules_added += 1
    else:
        result.rules_updated += 1
    rule.name, rule.category_id = r.name, category.id
    rule.threshold, rule.above = r.threshold, r.above
    # Without an urgency of its own the rule keeps the category's, and with it its time limits.
    rule.urgency = r.urgency or category.urgency
    rule.updated_at = now


def _upsert_sensor(
    session: Session,
    s: SensorSpec,
    area: Area,
    unit: HandlingUnit | None,
    now: datetime,
    result: LoadResult,
) -> None:
    sensor = session.scalar(select(Sensor).where(Sensor.code == s.code))
    if sensor is None:
        sensor = Sensor(code=s.code, created_at=now)
        session.add(sensor)
        result.sensors_added += 1
    else:
        result.sensors_updated += 1
    sensor.kind, sensor.area_id = s.kind, area.id
    sensor.unit_id = unit.id if unit else None
    sensor.lat, sensor.lon = s.lat, s.lon
    sensor.description, sensor.active = s.description, s.active
