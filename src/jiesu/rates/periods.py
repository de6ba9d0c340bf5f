"""Assessment periods written the way people say them: 2015, 2015-Q1, 2015-03, or a range.

A period is a span of local calendar days in the city's time zone: "March" in Beijing ends at
midnight Beijing time, not at midnight UTC, so its bounds are computed in the city's zone and
only then turned into UTC instants for the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from jiesu.errors import BadInput

PeriodKind = Literal["year", "quarter", "month", "range"]
FORMS = "YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD"
# Beyond this a "period" is a typo (2105 for 2015) rather than a question anyone asks.
FIRST_YEAR, LAST_YEAR = 1990, 2100

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    label: str
    first: date  # first day, inclusive
    last: date  # last day, inclusive
    kind: PeriodKind

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: local midnight of the first day to the day after last."""
        start = datetime.combine(self.first, time(), tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), tz).astimezone(UTC)
        return start, end

    def previous(self) -> Period:
        """The period just before, of the same kind: the month before a month, and so on."""
        if self.kind == "year":
            return year(self.first.year - 1)
        if self.kind == "quarter":
            y, q = self.first.year, (self.first.month - 1) // 3 + 1
            return quarter(y - 1, 4) if q == 1 else quarter(y, q - 1)
        if self.kind == "month":
            y, m = self.first.year, self.first.month
            return month(y - 1, 12) if m == 1 else month(y, m - 1)
        last = self.first - timedelta(days=1)
        return day_range(last - timedelta(days=self.days - 1), last)


def year(y: int) -> Period:
    return Period(f"{y:04d}", date(y, 1, 1), date(y, 12, 31), "year")


def quarter(y: int, q: int) -> Period:
    first = date(y, 3 * q - 2, 1)
    return Period(f"{y:04d}-Q{q}", first, _month_end(y, 3 * q), "quarter")


def month(y: int, m: int) -> Period:
    return Period(f"{y:04d}-{m:02d}", date(y, m, 1), _month_end(y, m), "month")


def day_range(first: date, last: date) -> Period:
    return Period(f"{first.isoformat()}..{last.isoformat()}", first, last, "range")


def _month_end(y: int, m: int) -> date:
    nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    return nxt - timedelta(days=1)


def _check_year(y: int, text: str) -> None:
    if not FIRST_YEAR <= y <= LAST_YEAR:
        raise BadInput("period", f"{text!r}: the year must be between {FIRST_YEAR} and {LAST_YEAR}")


def last_full_month(today: date) -> Period:
    """The default period: the month before ``today`` (a monthly ranking looks at a month that
    is over, so no unit is ranked on a half month)."""
    first_of_this = today.replace(day=1)
    prev = first_of_this - timedelta(days=1)
    return month(prev.year, prev.month)


def parse_period(text: str | None, *, today: date) -> Period:
    """A period from its written form; ``None`` or "" is the last full month before ``today``."""
    if text is None or not text.strip():
        return last_full_month(today)
    value = text.strip()
    if m := _YEAR.match(value):
        _check_year(int(m[1]), value)
        return year(int(m[1]))
    if m := _QUARTER.match(value):
        _check_year(int(m[1]), value)
        return quarter(int(m[1]), int(m[2]))
    if m := _MONTH.match(value):
        _check_year(int(m[1]), value)
        if not 1 <= int(m[2]) <= 12:
            raise BadInput("period", f"{value!r}: the month must be 01 to 12")
        return month(int(m[1]), int(m[2]))
    if m := _RANGE.match(value):
        try:
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError as exc:
            raise BadInput("period", f"{value!r}: {exc}") from None
        _check_year(first.year, value)
        _check_year(last.year, value)
        if last < first:
            raise BadInput("period", f"{value!r}: the range ends before it starts")
        return day_range(first, last)
    raise BadInput("period", f"{value!r} is not a period; write {FORMS}")
