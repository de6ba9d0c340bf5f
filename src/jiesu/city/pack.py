"""Read and validate a city pack folder; nothing touches the database here.

A pack is: city.yaml, areas.csv, categories.csv, units.csv, optional areas.geojson (polygons by
area code) and optional calendar/*.yaml (working-day years). Every problem is reported with the
file, the row and the field; if there is any, nothing is loaded.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from jiesu.city.attributes import validate_definition
from jiesu.city.gazetteer import GAZETTEER_FILE, PlaceRow, check_area_codes, read_places
from jiesu.city.models import AREA_LEVELS, UNIT_KINDS, URGENCY_CLASSES
from jiesu.errors import ConfigError, ProblemList
from jiesu.kit.calendar import CalendarFileError, YearSpec, load_year_file
from jiesu.kit.timelimits import TimeLimit
from jiesu.nlp.understanding import UnderstandingError, load_understanding

UNDERSTANDING_FILE = "understanding.yaml"
DISPATCH_FILE = "dispatch.yaml"


class CityPackError(ProblemList):
    code = "city_pack_invalid"

    def __init__(self, problems: list[str]):
        super().__init__("city pack", problems)


@dataclass
class AreaRow:
    code: str
    parent_code: str | None
    level: str
    name: str
    aliases: list[str]
    lat: float | None
    lon: float | None
    geometry: dict[str, Any] | None = None


@dataclass
class CategoryRow:
    code: str
    parent_code: str | None
    level: int
    name: str
    urgency: str
    response_limit: str
    handling_limit: str
    keywords: list[str]
    attributes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class UnitRow:
    code: str
    name: str
    kind: str
    areas: list[str]
    categories: list[str]  # ["*"] means every category
    phone: str
    parent_code: str | None
    # Former and colloquial names (units are renamed and merged): history is relabelled by them.
    aliases: list[str] = field(default_factory=list)


@dataclass
class CityPack:
    source: str
    digest: str
    city: dict[str, Any]
    areas: list[AreaRow] = field(default_factory=list)
    categories: list[CategoryRow] = field(default_factory=list)
    units: list[UnitRow] = field(default_factory=list)
    years: list[YearSpec] = field(default_factory=list)
    places: list[PlaceRow] = field(default_factory=list)  # gazetteer.csv (optional)
    # understanding.yaml merged over the shipped defaults, as stored JSON; {} = defaults.
    understanding: dict[str, Any] = field(default_factory=dict)
    # dispatch.yaml as read (references are checked against the city when it is applied).
    dispatch: dict[str, Any] | None = None


def _split(cell: str | None) -> list[str]:
    return [p.strip() for p in (cell or "").split("|") if p.strip()]


def _read_csv(
    path: Path, required: list[str], problems: list[str]
) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        problems.append(f"{path.name}: file is missing")
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                problems.append(f"{path.name}: missing column(s) {', '.join(missing)}")
                return []
            # Line numbers as an editor shows them: the header is line 1, blank lines count too.
            return [
                (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
                for row in reader
            ]
        except (UnicodeDecodeError, csv.Error) as exc:
            problems.append(
                f"{path.name} line {reader.line_num + 1}: not readable UTF-8 CSV: {exc}"
            )
            return []


def _read_yaml_mapping(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        problems.append(f"{path.name}: not readable YAML: {exc}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name}: must be a mapping with settings and rules")
        return None
    return data


def _float(value: str, where: str, name: str, problems: list[str]) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        problems.append(f"{where}: {name} {value!r} is not a number")
        return None


def _coordinate(value: str, where: str, name: str, problems: list[str]) -> float | None:
    number = _float(value, where, name, problems)
    limit = 90 if name == "lat" else 180
    if number is not None and not -limit <= number <= limit:  # NaN is outside too
        problems.append(f"{where}: {name} {value!r} is not between -{limit} and {limit}")
        return None
    return number


def _limit(value: str, where: str, name: str, problems: list[str]) -> str:
    if not value:
        return ""
    try:
        return str(TimeLimit.parse(value))
    except ValueError as exc:
        problems.append(f"{where}: {name}: {exc}")
        return ""


def read_pack(folder: Path) -> CityPack:
    folder = Path(folder)
    if not folder.is_dir():
        raise CityPackError([f"{folder}: not a folder"])
    problems: list[str] = []
    city = _read_city(folder / "city.yaml", problems)
    pack = CityPack(source=str(folder.resolve()), digest=_digest(folder), city=city)
    pack.areas = _read_areas(folder, problems)
    pack.categories = _read_categories(folder / "categories.csv", city, problems)
    pack.units = _read_units(folder / "units.csv", pack, problems)
    _read_attributes(folder / "attributes.yaml", pack.categories, problems)
    if (folder / UNDERSTANDING_FILE).is_file():
        try:
            pack.understanding = load_understanding(
                folder / UNDERSTANDING_FILE, where=UNDERSTANDING_FILE
            )
        except UnderstandingError as exc:
            problems.extend(exc.problems)
    if (folder / DISPATCH_FILE).is_file():
        pack.dispatch = _read_yaml_mapping(folder / DISPATCH_FILE, problems)
    if (folder / GAZETTEER_FILE).is_file():
        pack.places = read_places(folder / GAZETTEER_FILE, problems)
        problems += check_area_codes(pack.places, (a.code for a in pack.areas))
    for path in sorted((folder / "calendar").glob("*.y*ml")):
        try:
            pack.years.append(load_year_file(path))
        except CalendarFileError as exc:
            problems.append(str(exc))
    if problems:
        raise CityPackError(problems)
    return pack


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _read_city(path: Path, problems: list[str]) -> dict[str, Any]:
    if not path.is_file():
        problems.append("city.yaml: file is missing")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        problems.append(f"city.yaml: not valid UTF-8 YAML: {exc}")
        return {}
    if not isinstance(data, dict):
        problems.append("city.yaml: must be a mapping of keys to values")
        return {}
    for key in ("code", "name", "timezone", "urgency_classes"):
        if not data.get(key):
            problems.append(f"city.yaml: {key} is required")
    try:
        ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"city.yaml: timezone {data.get('timezone')!r} is not an IANA time zone")
    classes = data.get("urgency_classes") or {}
    if not isinstance(classes, dict):
        problems.append("city.yaml: urgency_classes must be a mapping")
        classes = {}
    for name in URGENCY_CLASSES:
        spec = classes.get(name)
        if not isinstance(spec, dict):
            problems.append(
                f"city.yaml: urgency_classes.{name} is required (with response and handling)"
            )
            continue
        for part in ("response", "handling"):
            raw = str(spec.get(part) or "")
            if not raw:
                problems.append(f"city.yaml: urgency_classes.{name}.{part} is required")
                continue
            spec[part] = _limit(raw, "city.yaml", f"urgency_classes.{name}.{part}", problems)
    unknown = sorted(set(classes) - set(URGENCY_CLASSES))
    if unknown:
        problems.append(
            f"city.yaml: unknown urgency class(es) {', '.join(unknown)}; "
            f"use {', '.join(URGENCY_CLASSES)}"
        )
    data["code"] = str(data.get("code", ""))
    return data


def _read_areas(folder: Path, problems: list[str]) -> list[AreaRow]:
    rows: list[AreaRow] = []
    seen: dict[str, AreaRow] = {}
    for line, r in _read_csv(
        folder / "areas.csv", ["code", "parent_code", "level", "name"], problems
    ):
        where = f"areas.csv row {line}"
        code, parent = r["code"], r.get("parent_code") or None
        if not code or not r["name"]:
            problems.append(f"{where}: code and name are required")
            continue
        if code in seen:
            problems.append(f"{where}: code {code} is used twice")
            continue
        if r["level"] not in AREA_LEVELS:
            problems.append(f"{where}: level {r['level']!r} is not one of {', '.join(AREA_LEVELS)}")
            continue
        if parent is None and r["level"] != "city":
            problems.append(f"{where}: only the city row may have no parent_code")
        if parent is not None:
            up = seen.get(parent)
            if up is None:
                problems.append(
                    f"{where}: parent_code {parent} not found "
                    "(a parent must come on an earlier row)"
                )
            elif AREA_LEVELS.index(r["level"]) <= AREA_LEVELS.index(up.level):
                problems.append(f"{where}: a {r['level']} cannot sit under the {up.level} {parent}")
        row = AreaRow(
            code=code,
            parent_code=parent,
            level=r["level"],
            name=r["name"],
            aliases=_split(r.get("aliases")),
            lat=_coordinate(r.get("lat", ""), where, "lat", problems),
            lon=_coordinate(r.get("lon", ""), where, "lon", problems),
        )
        seen[code] = row
        rows.append(row)
    geo = folder / "areas.geojson"
    if geo.is_file():
        _attach_geometry(geo, seen, problems)
    return rows


def _attach_geometry(path: Path, areas: dict[str, AreaRow], problems: list[str]) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # not JSON, or not UTF-8
        problems.append(f"areas.geojson: not valid JSON: {exc}")
        return
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        problems.append("areas.geojson: must be a FeatureCollection with a list of features")
        return
    for i, feature in enumerate(features):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            problems.append(f"areas.geojson feature {i}: must be a feature with properties.code")
            continue
        code = str(properties.get("code", ""))
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict):
            geometry = {}
        if code not in areas:
            problems.append(
                f"areas.geojson feature {i}: properties.code {code!r} is not in areas.csv"
            )
        elif geometry.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(
                f"areas.geojson feature {i}: geometry must be a Polygon or MultiPolygon"
            )
        else:
            areas[code].geometry = geometry


def _read_categories(path: Path, city: dict[str, Any], problems: list[str]) -> list[CategoryRow]:
    rows: list[CategoryRow] = []
    seen: dict[str, CategoryRow] = {}
    columns = [
        "code",
        "parent_code",
        "level",
        "name",
        "urgency",
        "response_limit",
        "handling_limit",
    ]
    for line, r in _read_csv(path, columns, problems):
        where = f"categories.csv row {line}"
        code, parent = r["code"], r.get("parent_code") or None
        if not code or not r["name"]:
            problems.append(f"{where}: code and name are required")
            continue
        if code in seen:
            problems.append(f"{where}: code {code} is used twice")
            continue
        if r["level"] not in ("1", "2", "3"):
            problems.append(f"{where}: level {r['level']!r} must be 1, 2 or 3")
            continue
        level = int(r["level"])
        up = seen.get(parent) if parent else None
        if parent and up is None:
            problems.append(
                f"{where}: parent_code {parent} not found (a parent must come on an earlier row)"
            )
            continue
        if (up.level + 1 if up else 1) != level:
            problems.append(
                f"{where}: level {level} does not fit under parent {parent or '(none)'}"
            )
            continue
        urgency = r["urgency"] or (up.urgency if up else "general")
        if urgency not in URGENCY_CLASSES:
            problems.append(
                f"{where}: urgency {urgency!r} is not one of {', '.join(URGENCY_CLASSES)}"
            )
            continue
        # Limits: the row's own, else the parent's own override, else the urgency class default.
        row = CategoryRow(
            code=code,
            parent_code=parent,
            level=level,
            name=r["name"],
            urgency=urgency,
            response_limit=_limit(r["response_limit"], where, "response_limit", problems),
            handling_limit=_limit(r["handling_limit"], where, "handling_limit", problems),
            keywords=_split(r.get("keywords")),
        )
        if up and urgency == up.urgency:
            row.response_limit = row.response_limit or up.response_limit
            row.handling_limit = row.handling_limit or up.handling_limit
        seen[code] = row
        rows.append(row)
    # A malformed urgency_classes (or one class) is already a listed problem of city.yaml:
    # here it simply gives no default limits rather than a traceback.
    classes = city.get("urgency_classes")
    classes = classes if isinstance(classes, dict) else {}
    for row in rows:
        spec = classes.get(row.urgency)
        spec = spec if isinstance(spec, dict) else {}
        row.response_limit = row.response_limit or str(spec.get("response") or "")
        row.handling_limit = row.handling_limit or str(spec.get("handling") or "")
    return rows


def _read_attributes(path: Path, categories: list[CategoryRow], problems: list[str]) -> None:
    """Optional intake questions per category: ``{category code: [attribute, …]}``."""
    if not path.is_file():
        return
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        problems.append(f"attributes.yaml: not valid UTF-8 YAML: {exc}")
        return
    if not isinstance(data, dict):
        problems.append("attributes.yaml: must map category codes to lists of attributes")
        return
    by_code = {c.code: c for c in categories}
    for code, raw in data.items():
        row = by_code.get(str(code))
        if row is None:
            problems.append(f"attributes.yaml: category {code} not found in categories.csv")
            continue
        try:
            defs = validate_definition(raw)
        except ConfigError as exc:
            problems.append(f"attributes.yaml: {code}: {exc.message}")
            continue
        row.attributes = [d.model_dump() for d in defs]


def _read_units(path: Path, pack: CityPack, problems: list[str]) -> list[UnitRow]:
    area_codes = {a.code for a in pack.areas}
    category_codes = {c.code for c in pack.categories}
    rows: list[UnitRow] = []
    seen: set[str] = set()
    lines = _read_csv(path, ["code", "name", "kind", "areas", "categories"], problems)
    unit_codes = {r["code"] for _, r in lines}
    for line, r in lines:
        where = f"units.csv row {line}"
        code = r["code"]
        if not code or not r["name"]:
            problems.append(f"{where}: code and name are required")
            continue
        if code in seen:
            problems.append(f"{where}: code {code} is used twice")
            continue
        seen.add(code)
        if r["kind"] not in UNIT_KINDS:
            problems.append(f"{where}: kind {r['kind']!r} is not one of {', '.join(UNIT_KINDS)}")
        areas = _split(r["areas"])
        if not areas:
            problems.append(f"{where}: areas is empty (a unit needs a jurisdiction)")
        for a in areas:
            if a not in area_codes:
                problems.append(f"{where}: area {a} not found in areas.csv")
        categories = _split(r["categories"])
        for c in categories:
            if c != "*" and c not in category_codes:
                problems.append(f"{where}: category {c} not found in categories.csv")
        for column, items in (("area", areas), ("category", categories)):
            for item in sorted({i for i in items if items.count(i) > 1}):
                problems.append(f"{where}: {column} {item} is listed twice")
        parent = r.get("parent_code") or None
        if parent and parent not in unit_codes:
            problems.append(f"{where}: parent_code {parent} not found in units.csv")
        rows.append(
            UnitRow(
                code,
                r["name"],
                r["kind"],
                areas,
                categories,
                r.get("phone", ""),
                parent,
                _split(r.get("aliases")),
            )
        )
    return rows
