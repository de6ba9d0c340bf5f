"""Handling time limits ("24h", "3d", "7wd") and the deadlines they produce."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, cast
from zoneinfo import ZoneInfo

from jiesu.kit.calendar import WorkCalendar

__all__ = ["CITY_TZ", "TimeLimit", "Unit", "due_at"]

Unit = Literal["h", "d", "wd"]

# Default city time zone; calendar dates (and so deadlines) are local dates, not UTC ones.
CITY_TZ = ZoneInfo("Asia/Shanghai")

# A year, in the limit's own unit: anything longer is almost certainly a typo in a city pack.
_MAX_AMOUNT: dict[str, int] = {"h": 366 * 24, "d": 366, "wd": 366}
_UNIT_WORDS = {"h": "hours", "d": "calendar days", "wd": "working days"}
_FORMS = "a whole number followed by h (hours), d (calendar days) or wd (working days), e.g. "
_FORMS += "'2h', '24h', '3d', '7wd'"
_PATTERN = re.compile(r"\s*([0-9]+)\s*(h|d|wd)\s*", re.ASCII | re.IGNORECASE)
_END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """How long a step may take: wall-clock hours, calendar days or working days."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in _MAX_AMOUNT:
            raise ValueError(f"unknown time limit unit {self.unit!r}; expected h, d or wd")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValueError(f"time limit amount must be an int, got {self.amount!r}")
        top = _MAX_AMOUNT[self.unit]
        if not 1 <= self.amount <= top:
            raise ValueError(
                f"time limit {self.amount}{self.unit} out of range: "
                f"{_UNIT_WORDS[self.unit]} must be between 1 and {top}"
            )

    @classmethod
    def parse(cls, text: str) -> TimeLimit:
        """Parse "2h", "3d", "7wd" (case-insensitive, surrounding spaces allowed)."""
        match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"invalid time limit {text!r}: expected {_FORMS}")
        unit = cast(Unit, match.group(2).lower())
        try:
            return cls(int(match.group(1)), unit)
        except ValueError as exc:
            raise ValueError(f"invalid time limit {text!r}: {exc}") from None

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def due_at(
    start: datetime,
    limit: TimeLimit,
    calendar: WorkCalendar,
    tz: ZoneInfo = CITY_TZ,
) -> datetime:
    """Deadline for something started at ``start`` with ``limit``; timezone-aware UTC.

    - ``h``: start + N hours of elapsed time, around the clock (emergencies do not wait).
    - ``d``: 23:59:59 local time on the N-th calendar day after the start's local date.
    - ``wd``: 23:59:59 local time on the N-th working day strictly after the start's local
      date; the start day itself never counts, even when it is a working day.

    Raises CalendarRangeError if a working-day deadline falls outside the known years.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be timezone-aware, got naive {start.isoformat()}")
    if limit.unit == "h":
        # Add in UTC: adding to a zone-local datetime is wall-time arithmetic and would be off by
        # an hour across a DST change in zones that have one.
        return start.astimezone(UTC) + timedelta(hours=limit.amount)
    local_date = start.astimezone(tz).date()
    if limit.unit == "d":
        due_date = local_date + timedelta(days=limit.amount)
    else:
        due_date = calendar.add_workdays(local_date, limit.amount)
    return datetime.combine(due_date, _END_OF_DAY, tzinfo=tz).astimezone(UTC)
