"""Read a city pack's optional gazetteer.csv: roads, landmarks, housing estates and other
names that point to an area (地名). Nothing touches the database here.

Columns: ``name,kind,area_code,aliases,lat,lon``; ``aliases`` are ``|``-separated, ``lat`` and
``lon`` are optional (both or neither). A long road is written once per street it crosses.
Every problem names the file, the line, the column and what is wrong; the caller decides
whether any problem stops the load (the pack reader collects them with its own).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from jiesu.city.models import PLACE_KINDS
from jiesu.errors import ProblemList

GAZETTEER_FILE = "gazetteer.csv"
REQUIRED_COLUMNS = ("name", "kind", "area_code")
# A one-character name would match inside almost any sentence.
MIN_NAME_LENGTH = 2

# Reports one problem of the current row: (column, problem).
_Bad = Callable[[str, str], None]


class GazetteerError(ProblemList):
    code = "gazetteer_invalid"

    def __init__(self, problems: list[str]):
        super().__init__("gazetteer", problems)


@dataclass(frozen=True)
class PlaceRow:
    name: str
    kind: str
    area_code: str
    aliases: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    # Where the row came from, so later checks (area codes) can point at it.
    line: int = 0


def read_gazetteer(path: Path) -> list[PlaceRow]:
    """All rows of ``path``; raises ``GazetteerError`` listing every problem if there is any."""
    problems: list[str] = []
    rows = read_places(Path(path), problems)
    if problems:
        raise GazetteerError(problems)
    return rows


def read_places(path: Path, problems: list[str]) -> list[PlaceRow]:
    """Rows of a gazetteer file; problems are appended, bad rows left out."""
    lines = _read_lines(path, problems)
    rows: list[PlaceRow] = []
    first_line: dict[tuple[str, str], int] = {}
    for line, cells in lines:
        row = _row(path.name, line, cells, problems)
        if row is None:
            continue
        key = (row.name, row.area_code)
        if key in first_line:
            problems.append(
                f"{path.name} line {line}, columns name+area_code: {row.name} in "
                f"{row.area_code} is already on line {first_line[key]}"
            )
            continue
        first_line[key] = line
        rows.append(row)
    return rows


def check_area_codes(
    rows: Iterable[PlaceRow], known_codes: Iterable[str], file_name: str = GAZETTEER_FILE
) -> list[str]:
    """Problems for rows whose area code is not one of ``known_codes`` (the pack's areas)."""
    known = set(known_codes)
    return [
        f"{file_name} line {row.line}, column area_code: area {row.area_code} "
        "not found in areas.csv"
        for row in rows
        if row.area_code not in known
    ]


def _read_lines(path: Path, problems: list[str]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        problems.append(f"{path.name}: file is missing")
        return []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                problems.append(f"{path.name} line 1: missing column(s) {', '.join(missing)}")
                return []
            reader.fieldnames = header
            # Line numbers as an editor shows them: the header is line 1.
            return [
                (reader.line_num, {k: (v or "").strip() for k, v in r.items() if k}) for r in reader
            ]
    except UnicodeDecodeError as exc:
        problems.append(f"{path.name}: not UTF-8 ({exc.reason} at byte {exc.start})")
        return []


def _row(file: str, line: int, cells: dict[str, str], problems: list[str]) -> PlaceRow | None:
    def bad(column: str, problem: str) -> None:
        problems.append(f"{file} line {line}, column {column}: {problem}")

    before = len(problems)
    name, kind, area = cells.get("name", ""), cells.get("kind", ""), cells.get("area_code", "")
    for column, value in (("name", name), ("kind", kind), ("area_code", area)):
        if not value:
            bad(column, "is empty")
    if name and len(name) < MIN_NAME_LENGTH:
        bad("name", f"{name!r} is too short ({MIN_NAME_LENGTH} characters at least)")
    if kind and kind not in PLACE_KINDS:
        bad("kind", f"{kind!r} is not one of {', '.join(PLACE_KINDS)}")
    aliases = _aliases(cells.get("aliases", ""), name, bad)
    lat = _coordinate(cells.get("lat", ""), "lat", 90.0, bad)
    lon = _coordinate(cells.get("lon", ""), "lon", 180.0, bad)
    if (lat is None) != (lon is None) and len(problems) == before:
        bad("lat" if lat is None else "lon", "lat and lon go together: give both or neither")
    if len(problems) > before:
        return None
    return PlaceRow(name, kind, area, aliases, lat, lon, line)


def _aliases(cell: str, name: str, bad: _Bad) -> tuple[str, ...]:
    out: list[str] = []
    for alias in (p.strip() for p in cell.split("|")):
        if not alias or alias == name or alias in out:
            continue  # repeating the name or an alias adds nothing and harms nothing
        if len(alias) < MIN_NAME_LENGTH:
            bad("aliases", f"{alias!r} is too short ({MIN_NAME_LENGTH} characters at least)")
            continue
        out.append(alias)
    return tuple(out)


def _coordinate(cell: str, column: str, limit: float, bad: _Bad) -> float | None:
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        bad(column, f"{cell!r} is not a number")
        return None
    if not math.isfinite(value) or not -limit <= value <= limit:
        bad(column, f"{cell} is outside -{limit:g}…{limit:g}")
        return None
    return value
