from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from jiesu.kit.clock import Clock, FixedClock, SystemClock, utcnow

START = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_system_clock_is_aware_utc() -> None:
    clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_both_clocks_satisfy_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FixedClock(START), Clock)


def test_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_fixed_clock_advance() -> None:
    clock = FixedClock(START)
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    assert clock.now() == START + timedelta(hours=2)
    clock.advance(timedelta(minutes=-30))
    assert clock.now() == START + timedelta(hours=1, minutes=30)


def test_fixed_clock_set() -> None:
    clock = FixedClock(START)
    later = datetime(2027, 1, 1, tzinfo=UTC)
    clock.set(later)
    assert clock.now() == later


def test_fixed_clock_normalises_to_utc() -> None:
    shanghai = datetime(2026, 10, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    clock = FixedClock(shanghai)
    assert clock.now() == shanghai
    assert clock.now().tzinfo is UTC
    assert clock.now().hour == 1

    clock.set(datetime(2026, 10, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))))
    assert clock.now() == datetime(2026, 10, 1, 5, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_fixed_clock_rejects_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 9, 30, 10, 0))
    clock = FixedClock(START)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 9, 30, 10, 0))
    assert clock.now() == START
