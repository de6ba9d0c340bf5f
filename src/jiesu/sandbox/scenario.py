"""A what-if scenario (YAML), read and checked whole before anything runs.

    name: cold-wave                      # shown in the report
    period: {from: 2025-01-01, to: 2025-03-31}   # local dates, inclusive; default: all history
    catalogue: new-catalogue.yaml        # a dispatch catalogue file (relative to this file)
    time_limits:                         # handling limit per category (its subtree), "3wd" …
      "0301": 5wd
    handlers:                            # cases a unit can hold in hand at once
      CB-CGW: 12                         #   an absolute number
      SO-JDK: {factor: 0.7}              #   or a share of what it held in the period
      BJ-SW: {add: 3}                    #   or more (or fewer) than that
    surges:
      - categories: ["供暖"]              # codes or names (their subtrees); or match: 暖
        areas: [东城区]                   # optional, codes or names (their subtrees)
        from: 2025-01-10
        to: 2025-01-20
        factor: 2                        # arrivals multiplied (0.5 halves them)

Every problem is reported with its path in the file (``surges[0].to``), and none is run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from jiesu.dispatch.catalogue import Catalogue, read_catalogue
from jiesu.dispatch.directory import Directory
from jiesu.errors import JiesuError, ProblemList
from jiesu.kit.timelimits import TimeLimit

KEYS = ("name", "period", "catalogue", "time_limits", "handlers", "surges")
SURGE_KEYS = ("categories", "match", "areas", "from", "to", "factor")
HANDLER_KEYS = ("factor", "add")
MAX_FACTOR = 20.0


@dataclass(frozen=True)
class Names:
    """The city's codes and names that a scenario may use, each to its code and path."""

    units: dict[str, str | None]  # code, name or alias → unit code (None: names two units)
    # Code or name → the paths of every node it names (a name may be on several branches).
    categories: dict[str, tuple[str, ...]]
    areas: dict[str, tuple[str, ...]]
    first_day: date | None  # the history's first and last local dates
    last_day: date | None


@dataclass(frozen=True)
class Handlers:
    """A unit's capacity in the scenario: absolute, or relative to its history."""

    slots: int | None = None
    factor: float = 1.0
    add: int = 0

    def apply(self, baseline: int) -> int:
        if self.slots is not None:
            return self.slots
        return max(1, round(baseline * self.factor) + self.add)


@dataclass(frozen=True)
class Surge:
    category_paths: tuple[str, ...]
    match: str | None
    area_paths: tuple[str, ...]
    start: date
    end: date
    factor: float

    def covers(
        self, category_path: str | None, category_name: str, area_path: str | None, day: date
    ) -> bool:
        if not self.start <= day <= self.end:
            return False
        if self.category_paths and not (
            category_path and category_path.startswith(self.category_paths)
        ):
            return False
        if self.match and self.match not in category_name:
            return False
        return not self.area_paths or bool(area_path and area_path.startswith(self.area_paths))


@dataclass(frozen=True)
class Scenario:
    name: str
    start: date | None = None
    end: date | None = None
    catalogue: Catalogue | None = None
    catalogue_file: str | None = None
    # category path → handling limit; the most specific path wins.
    time_limits: dict[str, TimeLimit] = field(default_factory=dict)
    handlers: dict[str, Handlers] = field(default_factory=dict)
    surges: tuple[Surge, ...] = ()

    def limit_for(self, category_path: str | None) -> TimeLimit | None:
        if not category_path:
            return None
        best: tuple[int, TimeLimit] | None = None
        for path, limit in self.time_limits.items():
            if category_path.startswith(path) and (best is None or len(path) > best[0]):
                best = (len(path), limit)
        return best[1] if best else None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "period": {
                "from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None,
            },
            "catalogue": self.catalogue_file,
            "catalogue_rules": len(self.catalogue.rules) if self.catalogue else None,
            "time_limits": {p: str(t) for p, t in self.time_limits.items()},
            "handlers": {
                u: (h.slots if h.slots is not None else {"factor": h.factor, "add": h.add})
                for u, h in self.handlers.items()
            },
            "surges": [
                {
                    "categories": list(s.category_paths),
                    "match": s.match,
                    "areas": list(s.area_paths),
                    "from": s.start.isoformat(),
                    "to": s.end.isoformat(),
                    "factor": s.factor,
                }
                for s in self.surges
            ],
        }


class _Reader:
    def __init__(self, names: Names, directory: Directory, base: Path):
        self.names, self.directory, self.base = names, directory, base
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def day(self, where: str, value: Any) -> date | None:
        if isinstance(value, date):
            out = value
        elif isinstance(value, str):
            try:
                out = date.fromisoformat(value.strip())
            except ValueError:
                self.bad(where, f"{value!r} is not a date (YYYY-MM-DD)")
                return None
        else:
            self.bad(where, f"must be a date (YYYY-MM-DD), not {value!r}")
            return None
        first, last = self.names.first_day, self.names.last_day
        if first is not None and last is not None and not first <= out <= last:
            self.bad(
                where,
                f"{out} is outside the recorded history ({first} to {last}): "
                "there is nothing to replay there",
            )
            return None
        return out

    def dates(self, where: str, raw: Any, start_key: str, end_key: str) -> tuple[date | None, ...]:
        start = self.day(f"{where}.{start_key}", raw[start_key]) if start_key in raw else None
        end = self.day(f"{where}.{end_key}", raw[end_key]) if end_key in raw else None
        if start is not None and end is not None and end < start:
            self.bad(f"{where}.{end_key}", f"{end} is before {start_key} ({start})")
            return None, None
        return start, end

    def mapping(self, where: str, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.bad(where, f"must be a mapping, not {type(raw).__name__}")
            return {}
        return raw

    def paths(
        self, where: str, raw: Any, table: dict[str, tuple[str, ...]], kind: str
    ) -> tuple[str, ...]:
        values = raw if isinstance(raw, list) else [raw]
        out: list[str] = []
        for i, v in enumerate(values):
            hit = table.get(str(v).strip())
            if hit is None:
                self.bad(f"{where}[{i}]", f"unknown {kind} {v!r} (use a code or a name)")
            else:
                out += hit
        return tuple(out)

    def catalogue(self, raw: Any) -> tuple[Catalogue | None, str | None]:
        if not isinstance(raw, str) or not raw.strip():
            self.bad("catalogue", "must be the path of a dispatch catalogue file")
            return None, None
        path = Path(raw)
        path = path if path.is_absolute() else self.base / path
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            self.bad("catalogue", f"cannot read {path}: {exc.strerror or exc}")
            return None, None
        except yaml.YAMLError as exc:
            self.bad("catalogue", f"{path} is not valid YAML: {exc}")
            return None, None
        try:
            return read_catalogue(data, self.directory), str(path)
        except ProblemList as exc:
            self.problems += [f"catalogue: {p}" for p in exc.problems]
        except JiesuError as exc:
            self.bad("catalogue", exc.message)
        return None, None

    def time_limits(self, raw: Any) -> dict[str, TimeLimit]:
        out = {}
        for key, value in self.mapping("time_limits", raw).items():
            hit = self.names.categories.get(str(key).strip())
            if hit is None:
                self.bad(f"time_limits.{key}", f"unknown category {key!r} (use a code or a name)")
                continue
            try:
                limit = TimeLimit.parse(str(value))
                out.update(dict.fromkeys(hit, limit))
            except ValueError as exc:
                self.bad(f"time_limits.{key}", str(exc))
        return out

    def handlers(self, raw: Any) -> dict[str, Handlers]:
        out = {}
        for key, value in self.mapping("handlers", raw).items():
            where = f"handlers.{key}"
            label = str(key).strip()
            code = self.names.units.get(label)
            if code is None:
                problem = (
                    "names more than one unit: use its code"
                    if label in self.names.units
                    else "unknown unit (use a unit code or name)"
                )
                self.bad(where, f"{key!r} {problem}")
                continue
            if isinstance(value, bool):
                self.bad(where, f"must be a whole number of cases or a mapping, not {value!r}")
            elif isinstance(value, int):
                if value < 1:
                    self.bad(where, f"must be at least 1 case in hand at once, not {value}")
                else:
                    out[code] = Handlers(slots=value)
            elif isinstance(value, dict):
                unknown = sorted(set(map(str, value)) - set(HANDLER_KEYS))
                if unknown or not value:
                    self.bad(where, f"use factor: and/or add:, not {', '.join(unknown) or '{}'}")
                    continue
                factor, add = value.get("factor", 1.0), value.get("add", 0)
                if (
                    isinstance(factor, bool)
                    or not isinstance(factor, int | float)
                    or not (0 < factor <= MAX_FACTOR and math.isfinite(factor))
                ):
                    self.bad(
                        f"{where}.factor",
                        f"must be a number above 0 and at most {MAX_FACTOR:g}, not {factor!r}",
                    )
                    continue
                if isinstance(add, bool) or not isinstance(add, int):
                    self.bad(f"{where}.add", f"must be a whole number, not {add!r}")
                    continue
                out[code] = Handlers(factor=float(factor), add=add)
            else:
                self.bad(where, f"must be a whole number of cases or a mapping, not {value!r}")
        return out

    def surges(self, raw: Any) -> tuple[Surge, ...]:
        if not isinstance(raw, list):
            self.bad("surges", "must be a list")
            return ()
        out = []
        for i, item in enumerate(raw):
            where = f"surges[{i}]"
            s = self.mapping(where, item)
            if not s:
                continue
            before = len(self.problems)
            for k in sorted(set(map(str, s)) - set(SURGE_KEYS)):
                self.bad(f"{where}.{k}", f"unknown key; use {', '.join(SURGE_KEYS)}")
            cats = (
                self.paths(
                    f"{where}.categories", s["categories"], self.names.categories, "category"
                )
                if "categories" in s
                else ()
            )
            areas = (
                self.paths(f"{where}.areas", s["areas"], self.names.areas, "area")
                if "areas" in s
                else ()
            )
            match = s.get("match")
            if match is not None and (not isinstance(match, str) or not match.strip()):
                self.bad(f"{where}.match", "must be a word of the category name")
            if not cats and not match and "categories" not in s:
                self.bad(where, "say which requests surge: categories: or match:")
            for k in ("from", "to"):
                if k not in s:
                    self.bad(f"{where}.{k}", "missing: a surge needs from: and to: dates")
            start, end = self.dates(where, s, "from", "to")
            factor = s.get("factor")
            if (
                isinstance(factor, bool)
                or not isinstance(factor, int | float)
                or not (0 <= factor <= MAX_FACTOR and math.isfinite(factor))
            ):
                self.bad(
                    f"{where}.factor",
                    f"must be a number from 0 to {MAX_FACTOR:g} "
                    f"(2 doubles arrivals), not {factor!r}",
                )
            if len(self.problems) == before and start and end and factor is not None:
                word = match.strip() if match else None
                out.append(Surge(cats, word, areas, start, end, float(factor)))
        return tuple(out)


def read_scenario(
    raw: Any, names: Names, directory: Directory, *, base: Path, source: str = "scenario"
) -> Scenario:
    """Check a parsed scenario file whole; every problem at once, with its path."""
    r = _Reader(names, directory, base)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ProblemList(source, ["(top): must be a mapping of name, period, catalogue, …"])
    for k in sorted(set(map(str, raw)) - set(KEYS)):
        r.bad(k, f"unknown key; use {', '.join(KEYS)}")
    name = raw.get("name", Path(source).stem)
    if not isinstance(name, str) or not name.strip():
        r.bad("name", "must be a short text")
        name = "scenario"
    start = end = None
    if "period" in raw:
        period = r.mapping("period", raw["period"])
        for k in sorted(set(map(str, period)) - {"from", "to"}):
            r.bad(f"period.{k}", "unknown key; use from and to")
        start, end = r.dates("period", period, "from", "to")
    catalogue, catalogue_file = (None, None)
    if raw.get("catalogue") is not None:
        catalogue, catalogue_file = r.catalogue(raw["catalogue"])
    limits = r.time_limits(raw["time_limits"]) if raw.get("time_limits") is not None else {}
    handlers = r.handlers(raw["handlers"]) if raw.get("handlers") is not None else {}
    surges = r.surges(raw["surges"]) if raw.get("surges") is not None else ()
    if r.problems:
        raise ProblemList(source, r.problems)
    return Scenario(name.strip(), start, end, catalogue, catalogue_file, limits, handlers, surges)


class _TextDates(yaml.SafeLoader):
    """YAML without its own date parsing: 2026-02-30 reaches the checks as text (and is named
    there) instead of failing inside the parser."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_scenario(path: Path, names: Names, directory: Directory) -> Scenario:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDates)  # a SafeLoader
    except OSError as exc:
        raise ProblemList(str(path), [f"(file): cannot read it: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ProblemList(str(path), [f"(file): not valid YAML: {exc}"]) from None
    return read_scenario(raw, names, directory, base=path.parent, source=str(path))
