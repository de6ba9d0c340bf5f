"""Ages for retention: "3y", "18m", "26w", "400d", and the cutoff they mean on the calendar."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from jiesu.errors import BadInput

_AGE = re.compile(r"^\s*(\d{1,5})\s*([ymwd])\s*$", re.IGNORECASE)
UNITS = {"y": "years", "m": "months", "w": "weeks", "d": "days"}


@dataclass(frozen=True)
class Age:
    count: int
    unit: str  # y | m | w | d

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def cutoff(self, now: datetime, tz: ZoneInfo) -> datetime:
        """The moment this age ago, on the city's calendar (3y before 29 Feb is 28 Feb)."""
        local = now.astimezone(tz)
        if self.unit in ("d", "w"):
            days = self.count * (7 if self.unit == "w" else 1)
            return (local - timedelta(days=days)).astimezone(UTC)
        months = self.count * (12 if self.unit == "y" else 1)
        index = local.year * 12 + local.month - 1 - months
        year, month = divmod(index, 12)
        if year < 1:
            raise BadInput("older-than", f"{self} reaches before the year 1")
        month += 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        return local.replace(year=year, month=month, day=day).astimezone(UTC)


def parse_age(text: str, *, option: str = "--older-than") -> Age:
    m = _AGE.match(text or "")
    if not m:
        raise BadInput(
            option,
            f"{text!r} is not an age; write a number and a unit: y (years), m (months), "
            "w (weeks) or d (days), e.g. 3y",
        )
    count, unit = int(m.group(1)), m.group(2).lower()
    if count < 1:
        raise BadInput(option, "must be at least 1 (a day, week, month or year)")
    if (unit == "y" and count > 200) or (unit == "m" and count > 2400):
        raise BadInput(option, f"{text!r} is longer than 200 years")
    return Age(count, unit)
