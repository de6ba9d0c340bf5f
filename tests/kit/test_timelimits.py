from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import jiesu
from jiesu.kit.calendar import CalendarRangeError, WorkCalendar, load_year_file
from jiesu.kit.timelimits import CITY_TZ, TimeLimit, due_at

CAL = WorkCalendar()
SH = ZoneInfo("Asia/Shanghai")
DEMO_2027 = Path(jiesu.__file__).parent / "city" / "packs" / "demo" / "calendar" / "2027.yaml"


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def end_of_day_sh(d: date) -> datetime:
    return datetime.combine(d, time(23, 59, 59), tzinfo=SH)


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("2h", 2, "h"),
        ("24h", 24, "h"),
        ("3d", 3, "d"),
        ("7wd", 7, "wd"),
        ("  7WD ", 7, "wd"),
        ("7 wd", 7, "wd"),
        ("24H", 24, "h"),
        ("1d", 1, "d"),
        ("366d", 366, "d"),
        ("366wd", 366, "wd"),
        ("8784h", 8784, "h"),
    ],
)
def test_parse(text: str, amount: int, unit: str) -> None:
    limit = TimeLimit.parse(text)
    assert (limit.amount, limit.unit) == (amount, unit)
    assert str(limit) == f"{amount}{unit}"
    assert TimeLimit.parse(str(limit)) == limit


@pytest.mark.parametrize(
    "text", ["", "  ", "h", "wd", "7", "7w", "7 days", "1.5h", "-1d", "+3d", "3dd", "d3", "３d"]
)
def test_parse_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError) as info:
        TimeLimit.parse(text)
    message = str(info.value)
    assert repr(text) in message
    assert "'7wd'" in message  # lists the accepted forms


@pytest.mark.parametrize("text", ["0h", "0d", "0wd", "367d", "367wd", "8785h"])
def test_parse_rejects_out_of_range(text: str) -> None:
    with pytest.raises(ValueError, match="out of range") as info:
        TimeLimit.parse(text)
    assert repr(text) in str(info.value)


def test_constructor_validates() -> None:
    with pytest.raises(ValueError, match="unit"):
        TimeLimit(3, "w")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="int"):
        TimeLimit(True, "d")
    with pytest.raises(ValueError, match="between 1 and 366"):
        TimeLimit(400, "wd")


def test_time_limit_is_frozen_and_hashable() -> None:
    limit = TimeLimit.parse("7wd")
    with pytest.raises(AttributeError):
        limit.amount = 3  # type: ignore[misc]
    assert {limit, TimeLimit(7, "wd")} == {limit}


# --- pinned deadlines around the 2026 National Day holiday ----------------------------------


@pytest.mark.parametrize(
    ("start", "limit", "due"),
    [
        # Wed before the holiday: Oct 8, 9, 10 (make-up Sat), 12, 13, 14, 15.
        (sh(2026, 9, 30, 10, 0), "7wd", end_of_day_sh(date(2026, 10, 15))),
        (sh(2026, 9, 30, 10, 0), "1wd", end_of_day_sh(date(2026, 10, 8))),
        # Dispatched during the holiday.
        (sh(2026, 10, 3, 14, 0), "3wd", end_of_day_sh(date(2026, 10, 10))),
        # Dispatched on the make-up Saturday: that day itself does not count.
        (sh(2026, 10, 10, 9, 0), "1wd", end_of_day_sh(date(2026, 10, 12))),
        (sh(2026, 10, 10, 9, 0), "3wd", end_of_day_sh(date(2026, 10, 14))),
        # Friday 15:00 before the Mid-autumn holiday (Sep 25–27): next day counted is Sep 28.
        (sh(2026, 9, 24, 15, 0), "1wd", end_of_day_sh(date(2026, 9, 28))),
        # Friday 15:00 before an ordinary weekend.
        (sh(2026, 6, 5, 15, 0), "3wd", end_of_day_sh(date(2026, 6, 10))),
        # Friday before a Sunday make-up day (Sep 20).
        (sh(2026, 9, 18, 15, 0), "1wd", end_of_day_sh(date(2026, 9, 20))),
        # Calendar days ignore holidays.
        (sh(2026, 9, 30, 10, 0), "3d", end_of_day_sh(date(2026, 10, 3))),
        (sh(2026, 9, 30, 23, 59), "1d", end_of_day_sh(date(2026, 10, 1))),
        # Hours run around the clock, through the holiday.
        (sh(2026, 9, 30, 23, 0), "2h", sh(2026, 10, 1, 1, 0)),
        (sh(2026, 10, 1, 10, 0), "24h", sh(2026, 10, 2, 10, 0)),
        (sh(2026, 9, 30, 10, 0), "168h", sh(2026, 10, 7, 10, 0)),
    ],
)
def test_due_at_pinned(start: datetime, limit: str, due: datetime) -> None:
    result = due_at(start, TimeLimit.parse(limit), CAL, SH)
    assert result == due
    assert result.tzinfo is UTC


def test_due_at_pinned_utc_values() -> None:
    # 2026-10-15 23:59:59 in Shanghai is 15:59:59 UTC.
    start = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert due_at(start, TimeLimit.parse("7wd"), CAL) == datetime(
        2026, 10, 15, 15, 59, 59, tzinfo=UTC
    )
    assert due_at(start, TimeLimit.parse("2h"), CAL) == datetime(2026, 9, 30, 4, 0, tzinfo=UTC)


def test_local_date_is_used_not_utc_date() -> None:
    # 17:30 UTC on Sep 30 is already 01:30 on Oct 1 in Shanghai.
    start = datetime(2026, 9, 30, 17, 30, tzinfo=UTC)
    assert start.astimezone(SH).date() == date(2026, 10, 1)
    assert due_at(start, TimeLimit.parse("3d"), CAL) == end_of_day_sh(date(2026, 10, 4))
    assert due_at(start, TimeLimit.parse("7wd"), CAL) == end_of_day_sh(date(2026, 10, 15))
    # 17:30 UTC on Fri Oct 9 is 01:30 on the make-up Saturday in Shanghai: the first working
    # day after it is Monday, whereas the UTC date would have given Saturday.
    start = datetime(2026, 10, 9, 17, 30, tzinfo=UTC)
    assert due_at(start, TimeLimit.parse("1wd"), CAL) == end_of_day_sh(date(2026, 10, 12))
    utc_zone = ZoneInfo("UTC")
    assert due_at(start, TimeLimit.parse("1wd"), CAL, utc_zone) == datetime(
        2026, 10, 10, 23, 59, 59, tzinfo=UTC
    )


def test_default_tz_is_shanghai() -> None:
    assert CITY_TZ.key == "Asia/Shanghai"


def test_due_at_rejects_naive_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(datetime(2026, 9, 30, 10, 0), TimeLimit.parse("7wd"), CAL)


def test_due_at_beyond_known_years() -> None:
    start = sh(2026, 12, 28, 10, 0)
    with pytest.raises(CalendarRangeError, match="2027"):
        due_at(start, TimeLimit.parse("7wd"), CAL)
    # Wall-clock limits need no calendar.
    assert due_at(start, TimeLimit.parse("24h"), CAL) == sh(2026, 12, 29, 10, 0)
    # With the (provisional) 2027 schedule loaded: Dec 29, 30, 31, Jan 4, 5, 6, 7.
    cal = CAL.with_years([load_year_file(DEMO_2027)])
    assert due_at(start, TimeLimit.parse("7wd"), cal) == end_of_day_sh(date(2027, 1, 7))


# --- properties ---------------------------------------------------------------------------

LO, HI = CAL.known_years()
ZONES = [SH, ZoneInfo("UTC"), ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")]

# Start instants whose Shanghai date lies within the built-in years.
starts = st.datetimes(
    min_value=datetime(LO, 1, 1),
    max_value=datetime(HI, 12, 31, 23, 59, 59),
    timezones=st.just(SH),
)
limits = st.one_of(
    st.builds(TimeLimit, st.integers(1, 8784), st.just("h")),
    st.builds(TimeLimit, st.integers(1, 366), st.just("d")),
    st.builds(TimeLimit, st.integers(1, 366), st.just("wd")),
)


def due_or_none(start: datetime, limit: TimeLimit) -> datetime | None:
    """due_at, or None when a working-day deadline legitimately runs past the known years."""
    try:
        return due_at(start, limit, CAL)
    except CalendarRangeError as exc:
        assert limit.unit == "wd"
        assert exc.year == HI + 1
        left = CAL.workdays_between(start.astimezone(SH).date(), date(HI, 12, 31))
        assert left < limit.amount
        return None


@given(starts, limits)
def test_due_at_is_after_start(start: datetime, limit: TimeLimit) -> None:
    due = due_or_none(start, limit)
    if due is None:
        return
    assert due > start
    assert due.tzinfo is UTC
    if limit.unit == "h":
        assert due - start == timedelta(hours=limit.amount)
    else:
        local = due.astimezone(SH)
        assert local.time() == time(23, 59, 59)
        if limit.unit == "wd":
            assert CAL.is_workday(local.date())
            assert CAL.workdays_between(start.astimezone(SH).date(), local.date()) == limit.amount


@given(starts, starts, limits)
def test_due_at_is_monotonic_in_start(a: datetime, b: datetime, limit: TimeLimit) -> None:
    early, late = min(a, b), max(a, b)
    due_early, due_late = due_or_none(early, limit), due_or_none(late, limit)
    if due_early is None:
        # If the earlier start runs off the calendar, so must the later one.
        assert due_late is None
        return
    if due_late is not None:
        assert due_early <= due_late


@given(starts, limits, st.sampled_from(ZONES))
def test_due_at_depends_only_on_the_instant(
    start: datetime, limit: TimeLimit, zone: ZoneInfo
) -> None:
    assert due_or_none(start, limit) == due_or_none(start.astimezone(zone), limit)


@given(limits)
def test_str_round_trips(limit: TimeLimit) -> None:
    assert TimeLimit.parse(str(limit)) == limit
    assert TimeLimit.parse(f"  {str(limit).upper()} ") == limit
