"""Chinese working-day calendar for handling deadlines.

Official holiday schedules are published by the State Council one year at a time and move with
the lunar calendar, so they cannot be computed. The built-in data comes from the
``chinese_calendar`` package; a city can load further years (or corrected ones) from YAML files.
A date outside the known years is an error, never a guess: a wrong deadline is worse than none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from types import MappingProxyType
from typing import Any

import chinese_calendar
import yaml

__all__ = [
    "CalendarFileError",
    "CalendarRangeError",
    "WorkCalendar",
    "YearSpec",
    "load_year_file",
]


class CalendarRangeError(ValueError):
    """A date falls in a year the calendar has no official schedule for."""

    def __init__(self, year: int, known: tuple[int, int]) -> None:
        self.year = year
        self.known = known
        super().__init__(
            f"working-day calendar has no data for {year} (known: {known[0]}–{known[1]}); "
            "load the year's official schedule with `jiesu calendar load FILE`"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # The constructor takes structured arguments, not the message, so pickling needs help.
        return (type(self), (self.year, self.known))


class CalendarFileError(ValueError):
    """A year file is malformed; the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class YearSpec:
    """The official schedule of one year.

    ``holidays`` are days off (weekend days inside a holiday block may be listed too);
    ``workdays`` are make-up working days (调休上班), usually on a weekend.
    """

    year: int
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)
    provisional: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise ValueError(f"year must be an int, got {self.year!r}")
        if not date.min.year < self.year < date.max.year:
            raise ValueError(f"year {self.year} is out of range")
        for kind, days in (("holiday", self.holidays), ("workday", self.workdays)):
            for d in days:
                # datetime is a subclass of date but would never match a date key on lookup.
                if type(d) is not date:
                    raise ValueError(f"{kind} key {d!r} is not a datetime.date")
                if d.year != self.year:
                    raise ValueError(f"{kind} {d.isoformat()} is outside year {self.year}")
        both = sorted(self.holidays.keys() & self.workdays.keys())
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"{self.year}: listed both as holiday and workday: {listed}")


# chinese_calendar names holidays in English; cities write Chinese names, so use one language.
_CHINESE_NAMES: dict[str, str] = {h.value: h.chinese for h in chinese_calendar.Holiday}


@cache
def _builtin_years() -> Mapping[int, YearSpec]:
    holidays: dict[date, str] = chinese_calendar.holidays
    workdays: dict[date, str] = chinese_calendar.workdays
    years = {d.year for d in holidays} | {d.year for d in workdays}
    by_year: dict[int, YearSpec] = {}
    # The range comes from the data so that a package upgrade extends it without code changes.
    for year in range(min(years), max(years) + 1):
        by_year[year] = YearSpec(
            year=year,
            holidays={d: _CHINESE_NAMES.get(n, n) for d, n in holidays.items() if d.year == year},
            workdays={d: _CHINESE_NAMES.get(n, n) for d, n in workdays.items() if d.year == year},
        )
    return MappingProxyType(by_year)


class WorkCalendar:
    """Working days over a contiguous range of years.

    A day is a working day if it is a listed make-up workday, or else if it is Monday–Friday
    and not a listed holiday. Everything is precomputed at construction so that lookups on the
    request-intake path are O(1): one list index per ``is_workday``, two for ``add_workdays``.
    Instances are immutable; ``with_years`` returns a new calendar.
    """

    __slots__ = (
        "_cum",
        "_first",
        "_holiday_names",
        "_known",
        "_size",
        "_specs",
        "_work",
        "_work_ords",
    )

    def __init__(
        self,
        extra: Mapping[int, YearSpec] | Iterable[YearSpec] | None = None,
        *,
        builtin: bool = True,
    ) -> None:
        """Build from the ``chinese_calendar`` data (unless ``builtin=False``) plus ``extra``.

        A year in ``extra`` replaces that year's built-in data entirely. The resulting years
        must be contiguous, otherwise counting working days across the gap would be a guess.
        """
        specs: dict[int, YearSpec] = dict(_builtin_years()) if builtin else {}
        for spec in _iter_specs(extra):
            specs[spec.year] = spec
        if not specs:
            raise ValueError("working-day calendar needs at least one year of data")
        lo, hi = min(specs), max(specs)
        missing = [y for y in range(lo, hi + 1) if y not in specs]
        if missing:
            raise ValueError(
                f"working-day calendar years must be contiguous: have {lo}–{hi} "
                f"but no data for {', '.join(map(str, missing))}"
            )

        first = date(lo, 1, 1).toordinal()
        last = date(hi, 12, 31).toordinal()
        work: list[bool] = []
        cum: list[int] = []
        work_ords: list[int] = []
        names: dict[int, str] = {}
        for ordinal in range(first, last + 1):
            d = date.fromordinal(ordinal)
            spec = specs[d.year]
            # A listed make-up day wins over everything; otherwise Mon–Fri minus holidays.
            is_work = d in spec.workdays or (d.weekday() < 5 and d not in spec.holidays)
            holiday = spec.holidays.get(d)
            if holiday is not None:
                names[ordinal] = holiday
            work.append(is_work)
            if is_work:
                work_ords.append(ordinal)
            # cum[i] = working days in [first, first + i]; turns counting into subtraction.
            cum.append(len(work_ords))

        self._first = first
        self._size = last - first + 1
        self._known = (lo, hi)
        self._work = work
        self._cum = cum
        self._work_ords = work_ords
        self._holiday_names = names
        self._specs: Mapping[int, YearSpec] = MappingProxyType(specs)

    def with_years(self, extra: Mapping[int, YearSpec] | Iterable[YearSpec]) -> WorkCalendar:
        """A new calendar with ``extra`` years added or replacing existing ones."""
        merged = dict(self._specs)
        for spec in _iter_specs(extra):
            merged[spec.year] = spec
        return WorkCalendar(merged, builtin=False)

    def known_years(self) -> tuple[int, int]:
        """First and last year covered (inclusive)."""
        return self._known

    def year_spec(self, year: int) -> YearSpec:
        """The schedule used for ``year``."""
        try:
            return self._specs[year]
        except KeyError:
            raise CalendarRangeError(year, self._known) from None

    def is_provisional(self, year: int) -> bool:
        """True if ``year`` is a placeholder awaiting the official schedule."""
        return self.year_spec(year).provisional

    def _index(self, d: date) -> int:
        i = d.toordinal() - self._first
        if 0 <= i < self._size:
            return i
        raise CalendarRangeError(d.year, self._known)

    def is_workday(self, d: date) -> bool:
        i = d.toordinal() - self._first
        if 0 <= i < self._size:
            return self._work[i]
        raise CalendarRangeError(d.year, self._known)

    def holiday_name(self, d: date) -> str | None:
        """Name of the holiday ``d`` belongs to, or None (ordinary day or make-up workday)."""
        return self._holiday_names.get(self._first + self._index(d))

    def add_workdays(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d`` (``n`` >= 1)."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rank = self._cum[self._index(d)] + n
        if rank > len(self._work_ords):
            # The answer lies beyond the last known year: that year's schedule is what's missing.
            raise CalendarRangeError(self._known[1] + 1, self._known)
        return date.fromordinal(self._work_ords[rank - 1])

    def workdays_between(self, a: date, b: date) -> int:
        """Number of working days in (a, b]; 0 if b <= a."""
        ia, ib = self._index(a), self._index(b)
        if ib <= ia:
            return 0
        return self._cum[ib] - self._cum[ia]

    def __repr__(self) -> str:
        lo, hi = self._known
        return f"WorkCalendar({lo}–{hi})"


def _iter_specs(extra: Mapping[int, YearSpec] | Iterable[YearSpec] | None) -> list[YearSpec]:
    if extra is None:
        return []
    if isinstance(extra, Mapping):
        for key, spec in extra.items():
            if key != spec.year:
                raise ValueError(f"year key {key} does not match YearSpec.year {spec.year}")
        return list(extra.values())
    return list(extra)


# --- year files ---------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings.

    The stock loader turns 2027-02-30 into an exception with no entry context and 2027-1-1 into
    a string; parsing dates ourselves gives one clear message for both.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_TOP_KEYS = ("year", "provisional", "holidays", "workdays")
_ENTRY_KEYS = ("date", "from", "to", "name")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def load_year_file(path: str | os.PathLike[str]) -> YearSpec:
    """Read and validate one year's schedule from a YAML file.

    Raises CalendarFileError naming the file, the entry (1-based, with its line) and the problem.
    """
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarFileError(f"{where}: cannot read calendar file: {exc}") from exc

    try:
        loader = _Loader(text)  # refuses control characters at once
    except yaml.YAMLError as exc:
        raise CalendarFileError(f"{where}: not valid YAML: {exc}") from exc
    try:
        root = loader.get_single_node()
        if root is not None:
            _reject_duplicate_keys(root, where)
        data: Any = loader.construct_document(root) if root is not None else None
    except (yaml.YAMLError, RecursionError) as exc:
        raise CalendarFileError(f"{where}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()

    if not isinstance(data, dict):
        raise CalendarFileError(f"{where}: expected a mapping with keys {', '.join(_TOP_KEYS)}")
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise CalendarFileError(
            f"{where}: unknown top-level key {unknown[0]!r} (allowed: {', '.join(_TOP_KEYS)})"
        )
    if "year" not in data:
        raise CalendarFileError(f"{where}: missing 'year'")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1 < year < 9999:
        raise CalendarFileError(f"{where}: 'year' must be a year number, got {year!r}")
    provisional = data.get("provisional", False)
    if not isinstance(provisional, bool):
        raise CalendarFileError(f"{where}: 'provisional' must be true or false")
    if "holidays" not in data:
        raise CalendarFileError(f"{where}: missing 'holidays' (use [] if there are none)")

    assert root is not None  # data is a dict, so there was a document
    holidays, holiday_src = _read_section(data, "holidays", year, where, root)
    workdays, workday_src = _read_section(data, "workdays", year, where, root)
    # Report the first clash in file order, at the workday entry, pointing back to the holiday.
    for d, (entry_no, line) in workday_src.items():
        if d in holidays:
            raise CalendarFileError(
                f"{where}: workdays entry {entry_no} (line {line}): {d.isoformat()} is also "
                f"listed as a holiday in holidays entry {holiday_src[d][0]}"
            )
    return YearSpec(year=year, holidays=holidays, workdays=workdays, provisional=provisional)


def _reject_duplicate_keys(node: yaml.Node, where: str) -> None:
    # PyYAML silently keeps the last of duplicate keys, which would hide a typo'd entry.
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    line = key.start_mark.line + 1
                    raise CalendarFileError(f"{where}: line {line}: duplicate key {key.value!r}")
                seen.add(key.value)
            _reject_duplicate_keys(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, where)


def _entry_lines(root: yaml.Node, section: str) -> list[int]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == section:
                if isinstance(value, yaml.SequenceNode):
                    return [item.start_mark.line + 1 for item in value.value]
                return []
    return []


def _read_section(
    data: dict[str, Any], section: str, year: int, where: str, root: yaml.Node
) -> tuple[dict[date, str], dict[date, tuple[int, int]]]:
    """Expand a section into date -> name, plus date -> (entry number, line) for messages."""
    days: dict[date, str] = {}
    source: dict[date, tuple[int, int]] = {}
    entries = data.get(section)
    if entries is None:
        return days, source
    if not isinstance(entries, list):
        raise CalendarFileError(f"{where}: '{section}' must be a list of entries")
    lines = _entry_lines(root, section)
    for index, entry in enumerate(entries):
        entry_no, line = index + 1, lines[index] if index < len(lines) else 0
        label = f"{where}: {section} entry {entry_no} (line {line})"
        start, end, name = _read_entry(entry, year, label)
        d = start
        while d <= end:
            if d in days:
                raise CalendarFileError(
                    f"{label}: {d.isoformat()} is already listed in {section} entry {source[d][0]}"
                )
            days[d] = name
            source[d] = (entry_no, line)
            d += timedelta(days=1)
    return days, source


def _read_entry(entry: object, year: int, label: str) -> tuple[date, date, str]:
    if not isinstance(entry, dict):
        raise CalendarFileError(f"{label}: expected a mapping like {{date: YYYY-MM-DD, name: ...}}")
    unknown = [k for k in entry if k not in _ENTRY_KEYS]
    if unknown:
        raise CalendarFileError(
            f"{label}: unknown key {unknown[0]!r} (allowed: {', '.join(_ENTRY_KEYS)})"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CalendarFileError(f"{label}: 'name' is required and must be non-empty text")
    if "date" in entry:
        if "from" in entry or "to" in entry:
            raise CalendarFileError(f"{label}: give either 'date' or 'from'/'to', not both")
        start = end = _parse_date(entry["date"], "date", label)
    elif "from" in entry and "to" in entry:
        start = _parse_date(entry["from"], "from", label)
        end = _parse_date(entry["to"], "to", label)
        if start > end:
            raise CalendarFileError(
                f"{label}: 'from' {start.isoformat()} is after 'to' {end.isoformat()}"
            )
    else:
        raise CalendarFileError(f"{label}: needs 'date', or both 'from' and 'to'")
    for d in (start, end):
        if d.year != year:
            raise CalendarFileError(
                f"{label}: date {d.isoformat()} is outside the declared year {year}"
            )
    return start, end, name.strip()


def _parse_date(value: object, key: str, label: str) -> date:
    # Strict YYYY-MM-DD: fromisoformat alone would also accept forms like 20270101 or 2027-W01-1.
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarFileError(f"{label}: bad date in {key!r}: {value!r} (expected YYYY-MM-DD)")
