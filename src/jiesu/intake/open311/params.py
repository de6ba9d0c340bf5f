"""Reading arguments the way the spec defines them.

"Optional" means an empty parameter is treated exactly like an absent one, so every reader
starts from ``opt()``. Every problem raises ``Open311Error`` (400) naming the argument; nothing
here raises anything else, whatever a client sends.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from jiesu.intake.open311.errors import Open311Error

MAX_SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000  # the spec's default volume: "first 1000 requests"
MAX_IDS = 1000

# W3C date-time (a profile of ISO 8601) with minutes at least and a mandatory zone.
_W3C = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})", re.ASCII
)
# A "+" left unescaped in a query string arrives as a space: "…T09:30:00 08:00".
_SPACE_FOR_PLUS = re.compile(r"(T[0-9:.]+) (\d{2}:\d{2})$", re.ASCII)
_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
MAX_URL = 1000  # ServiceRequest.media_url


def opt(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def csv(value: str | None) -> list[str] | None:
    value = opt(value)
    if value is None:
        return None
    items = list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    return items or None


def w3c_datetime(name: str, value: str | None) -> datetime | None:
    value = opt(value)
    if value is None:
        return None
    value = _SPACE_FOR_PLUS.sub(r"\1+\2", value)
    if not _W3C.fullmatch(value):
        raise Open311Error.bad(
            f"{name}: {value[:60]!r} is not a W3C date-time with a time zone, "
            "e.g. 2026-11-02T09:30:00+08:00 or 2026-11-02T01:30:00Z"
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error.bad(f"{name}: {value!r} is not a real date and time") from None


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def window(start_value: str | None, end_value: str | None, *, now: datetime) -> Window:
    """The requested_datetime range: at most 90 days; by default the most recent 90 days."""
    start = w3c_datetime("start_date", start_value)
    end = w3c_datetime("end_date", end_value)
    if start is None and end is None:
        return Window(now - MAX_SPAN, now)
    if start is None:
        assert end is not None
        return Window(_shifted("end_date", end, -MAX_SPAN), end)
    if end is None:
        return Window(start, _shifted("start_date", start, MAX_SPAN))
    if end < start:
        raise Open311Error.bad("end_date: is earlier than start_date")
    if end - start > MAX_SPAN:
        raise Open311Error.bad(
            f"start_date, end_date: the range spans {(end - start).days} days; the limit is 90 days"
        )
    return Window(start, end)


def _shifted(name: str, at: datetime, by: timedelta) -> datetime:
    try:
        return at + by
    except OverflowError:  # 90 days from 9999-12-30 is past the last date there is
        raise Open311Error.bad(f"{name}: {at.isoformat()} is at the end of the calendar") from None


def positive_int(name: str, value: str | None, default: int, maximum: int) -> int:
    value = opt(value)
    if value is None:
        return default
    # The length first: Python refuses to turn thousands of digits into a number at all.
    too_long = len(value.lstrip("0")) > len(str(maximum))
    if not value.isascii() or not value.isdigit() or too_long or not 1 <= int(value) <= maximum:
        raise Open311Error.bad(f"{name}: must be a whole number from 1 to {maximum}")
    return int(value)


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int


def paging(page: str | None, page_size: str | None) -> Paging:
    """The de-facto paging extension (``page``, ``page_size``); 1000 a page by default."""
    return Paging(
        positive_int("page", page, 1, 1_000_000),
        positive_int("page_size", page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    )


def coordinate(name: str, value: str | None, limit: float) -> float | None:
    value = opt(value)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Open311Error.bad(f"{name}: {value[:40]!r} is not a number") from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise Open311Error.bad(f"{name}: must be between {-limit:g} and {limit:g} (WGS84)")
    return number


def http_url(name: str, value: str | None) -> str | None:
    value = opt(value)
    if value is not None and (len(value) > MAX_URL or not _URL.fullmatch(value)):
        raise Open311Error.bad(
            f"{name}: must be an http or https URL without spaces, at most {MAX_URL:,} characters"
        )
    return value


def attributes(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """``attribute[CODE]=v`` and ``attribute[CODE][]=v1&attribute[CODE][]=v2`` by code.

    Empty values are dropped (an empty argument is an absent one); every value of a code is
    kept in order, so a single-value question given twice can be refused rather than guessed.
    """
    answers: dict[str, list[str]] = {}
    for key, raw in items:
        match = _ATTRIBUTE.fullmatch(key)
        if match is None:
            continue
        value = opt(raw)
        values = answers.setdefault(match.group(1), [])
        if value is not None:
            values.append(value)
    return {code: values for code, values in answers.items() if values}
