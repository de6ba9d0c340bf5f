"""Injectable clocks.

Code that needs "now" takes a ``Clock`` instead of calling ``datetime.now()`` so that tests can
pin and move time without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FixedClock", "SystemClock", "utcnow"]


def utcnow() -> datetime:
    """Current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def _require_aware(dt: datetime, what: str) -> datetime:
    # A naive datetime has no defined instant; accepting one would silently assume a zone.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {dt.isoformat()}")
    return dt.astimezone(UTC)


@runtime_checkable
class Clock(Protocol):
    """Source of the current time."""

    def now(self) -> datetime:
        """Current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return utcnow()

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that only moves when told to; for tests and replays."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start, "FixedClock start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock by ``delta`` (may be negative) and return the new time."""
        self._now = self._now + delta
        return self._now

    def set(self, dt: datetime) -> None:
        """Jump to ``dt``."""
        self._now = _require_aware(dt, "FixedClock.set value")

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"
