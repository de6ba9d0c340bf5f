import pickle
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jiesu
from jiesu.kit.calendar import (
    CalendarFileError,
    CalendarRangeError,
    WorkCalendar,
    YearSpec,
    load_year_file,
)

CAL = WorkCalendar()
DEMO_2027 = Path(jiesu.__file__).parent / "city" / "packs" / "demo" / "calendar" / "2027.yaml"

# A test-only 2027 schedule: 2027-01-01 (Fri) is a weekday holiday, 2027-01-09 (Sat) a make-up day.
YEAR_2027 = """\
year: 2027
holidays:
  - {date: 2027-01-01, name: 元旦}
  - {from: 2027-02-05, to: 2027-02-11, name: 春节}
workdays:
  - {date: 2027-01-09, name: 元旦调休}
"""


def write(tmp_path: Path, text: str, name: str = "year.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


# --- built-in data ------------------------------------------------------------------------


def test_known_range_is_derived_from_package_data() -> None:
    years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    assert CAL.known_years() == (min(years), max(years))
    assert CAL.known_years()[0] == 2004
    assert CAL.known_years()[1] >= 2026


def test_agrees_with_chinese_calendar_on_every_known_day() -> None:
    lo, hi = CAL.known_years()
    for d in days(date(lo, 1, 1), date(hi, 12, 31)):
        assert CAL.is_workday(d) == chinese_calendar.is_workday(d), d


def test_2026_mid_autumn_and_national_day() -> None:
    # Pinned from chinese_calendar 1.11.0.
    for d in days(date(2026, 9, 25), date(2026, 9, 27)):
        assert not CAL.is_workday(d)
        assert CAL.holiday_name(d) == "中秋"
    for d in days(date(2026, 10, 1), date(2026, 10, 7)):
        assert not CAL.is_workday(d)
        assert CAL.holiday_name(d) == "国庆节"
    # Make-up working days on a Sunday and a Saturday.
    assert date(2026, 9, 20).weekday() == 6
    assert CAL.is_workday(date(2026, 9, 20))
    assert date(2026, 10, 10).weekday() == 5
    assert CAL.is_workday(date(2026, 10, 10))
    assert CAL.holiday_name(date(2026, 10, 10)) is None
    # Ordinary days either side.
    assert CAL.is_workday(date(2026, 9, 30))
    assert CAL.is_workday(date(2026, 10, 8))
    assert not CAL.is_workday(date(2026, 10, 11))
    assert CAL.holiday_name(date(2026, 10, 11)) is None


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Wed before National Day: Oct 8, 9, 10 (make-up Sat), 12, 13, 14, 15.
        (date(2026, 9, 30), 1, date(2026, 10, 8)),
        (date(2026, 9, 30), 3, date(2026, 10, 10)),
        (date(2026, 9, 30), 7, date(2026, 10, 15)),
        # Starting inside the holiday or on the make-up Saturday.
        (date(2026, 10, 3), 1, date(2026, 10, 8)),
        (date(2026, 10, 10), 1, date(2026, 10, 12)),
        # Fri before Mid-autumn: the Sunday make-up day (Sep 20) comes first.
        (date(2026, 9, 18), 1, date(2026, 9, 20)),
        (date(2026, 9, 18), 5, date(2026, 9, 24)),
        (date(2026, 9, 24), 1, date(2026, 9, 28)),
        # Ordinary weekend.
        (date(2026, 6, 5), 1, date(2026, 6, 8)),
        (date(2026, 6, 5), 3, date(2026, 6, 10)),
    ],
)
def test_add_workdays_pinned(start: date, n: int, expected: date) -> None:
    assert CAL.add_workdays(start, n) == expected


def test_add_workdays_rejects_non_positive() -> None:
    with pytest.raises(ValueError, match="n must be >= 1"):
        CAL.add_workdays(date(2026, 6, 5), 0)


def test_workdays_between() -> None:
    assert CAL.workdays_between(date(2026, 9, 30), date(2026, 10, 15)) == 7
    assert CAL.workdays_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert CAL.workdays_between(date(2026, 10, 7), date(2026, 10, 8)) == 1
    assert CAL.workdays_between(date(2026, 10, 8), date(2026, 10, 8)) == 0
    assert CAL.workdays_between(date(2026, 10, 15), date(2026, 9, 30)) == 0


def test_builtin_years_are_not_provisional() -> None:
    assert not CAL.is_provisional(2026)
    assert CAL.year_spec(2026).workdays[date(2026, 10, 10)] == "国庆节"


# --- outside the known range --------------------------------------------------------------


def test_year_beyond_range_raises() -> None:
    lo, hi = CAL.known_years()
    beyond = date(hi + 2, 3, 1)
    with pytest.raises(CalendarRangeError, match=str(hi + 2)) as info:
        CAL.is_workday(beyond)
    message = str(info.value)
    assert f"known: {lo}–{hi}" in message
    assert "jiesu calendar load FILE" in message
    assert info.value.year == hi + 2
    assert isinstance(info.value, ValueError)
    for call in (
        lambda: CAL.holiday_name(beyond),
        lambda: CAL.add_workdays(beyond, 1),
        lambda: CAL.workdays_between(date(hi, 1, 1), beyond),
        lambda: CAL.year_spec(hi + 2),
    ):
        with pytest.raises(CalendarRangeError, match=str(hi + 2)):
            call()


def test_year_before_range_raises() -> None:
    with pytest.raises(CalendarRangeError, match="2003"):
        CAL.is_workday(date(2003, 12, 31))


def test_counting_past_the_last_year_names_the_missing_year() -> None:
    with pytest.raises(CalendarRangeError, match="no data for 2027"):
        CAL.add_workdays(date(2026, 12, 28), 7)


def test_range_error_pickles() -> None:
    err = CalendarRangeError(2028, (2004, 2027))
    copy = pickle.loads(pickle.dumps(err))
    assert str(copy) == str(err)
    assert copy.year == 2028


# --- loaded years ---------------------------------------------------------------------------


def test_loaded_year_works(tmp_path: Path) -> None:
    spec = load_year_file(write(tmp_path, YEAR_2027))
    assert spec.year == 2027
    assert not spec.provisional
    assert spec.holidays[date(2027, 2, 8)] == "春节"
    cal = CAL.with_years({2027: spec})
    assert cal.known_years() == (CAL.known_years()[0], 2027)

    assert date(2027, 1, 1).weekday() == 4  # weekday holiday
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.holiday_name(date(2027, 1, 1)) == "元旦"
    assert date(2027, 1, 9).weekday() == 5  # make-up Saturday
    assert cal.is_workday(date(2027, 1, 9))
    assert not cal.is_workday(date(2027, 1, 10))
    assert cal.is_workday(date(2027, 1, 4))

    # Counting runs straight across the year boundary.
    assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert cal.add_workdays(date(2027, 1, 7), 2) == date(2027, 1, 9)
    assert cal.add_workdays(date(2027, 2, 4), 1) == date(2027, 2, 12)
    assert cal.workdays_between(date(2026, 12, 31), date(2027, 1, 11)) == 7  # 4–9, 11

    # The original calendar is unchanged; 2028 is still unknown.
    with pytest.raises(CalendarRangeError):
        CAL.is_workday(date(2027, 1, 4))
    with pytest.raises(CalendarRangeError, match="2028"):
        cal.is_workday(date(2028, 1, 3))


def test_loaded_year_replaces_builtin_year_entirely(tmp_path: Path) -> None:
    # A corrected 2026 that lists only one holiday: every other built-in 2026 entry must go.
    path = write(tmp_path, "year: 2026\nholidays:\n  - {date: 2026-10-08, name: 测试}\n")
    cal = WorkCalendar({2026: load_year_file(path)})
    assert not cal.is_workday(date(2026, 10, 8))
    assert cal.is_workday(date(2026, 10, 1))  # no longer a holiday
    assert not cal.is_workday(date(2026, 10, 10))  # no longer a make-up day
    assert cal.holiday_name(date(2026, 10, 1)) is None
    # Other years keep the package data.
    assert not cal.is_workday(date(2025, 10, 1))


def test_calendar_from_loaded_years_only(tmp_path: Path) -> None:
    cal = WorkCalendar([load_year_file(write(tmp_path, YEAR_2027))], builtin=False)
    assert cal.known_years() == (2027, 2027)
    with pytest.raises(CalendarRangeError, match="2026"):
        cal.is_workday(date(2026, 12, 31))


def test_years_must_be_contiguous() -> None:
    with pytest.raises(ValueError, match="contiguous"):
        CAL.with_years([YearSpec(year=CAL.known_years()[1] + 2)])


def test_mapping_key_must_match_year() -> None:
    with pytest.raises(ValueError, match="does not match"):
        WorkCalendar({2027: YearSpec(year=2028)})


def test_year_spec_validates() -> None:
    with pytest.raises(ValueError, match="outside year 2027"):
        YearSpec(year=2027, holidays={date(2026, 12, 31): "x"})
    with pytest.raises(ValueError, match="both as holiday and workday"):
        YearSpec(year=2027, holidays={date(2027, 1, 2): "x"}, workdays={date(2027, 1, 2): "y"})


def test_demo_2027_file_loads() -> None:
    spec = load_year_file(DEMO_2027)
    assert spec.year == 2027
    assert spec.provisional
    header = DEMO_2027.read_text(encoding="utf-8").lower()
    assert "placeholder" in header
    assert "must be replaced" in header
    cal = CAL.with_years([spec])
    assert cal.is_provisional(2027)
    assert not cal.is_provisional(2026)
    for d, name in [
        (date(2027, 1, 1), "元旦"),
        (date(2027, 2, 5), "春节"),  # lunar new year's eve
        (date(2027, 2, 6), "春节"),
        (date(2027, 4, 5), "清明"),
        (date(2027, 5, 1), "劳动节"),
        (date(2027, 5, 5), "劳动节"),
        (date(2027, 6, 9), "端午"),
        (date(2027, 9, 15), "中秋"),
        (date(2027, 10, 1), "国庆节"),
        (date(2027, 10, 7), "国庆节"),
    ]:
        assert cal.holiday_name(d) == name, d
        assert not cal.is_workday(d), d
    # Make-up days fall on weekends and are working days.
    assert spec.workdays
    for d in spec.workdays:
        assert d.weekday() >= 5, d
        assert cal.is_workday(d), d
    # Same number of working days as recent years under the 13-statutory-day rules.
    year = days(date(2027, 1, 1), date(2027, 12, 31))
    assert sum(cal.is_workday(d) for d in year) == 248
    # Never more than six working days in a row.
    run = 0
    for d in days(date(2026, 12, 1), date(2027, 12, 31)):
        run = run + 1 if cal.is_workday(d) else 0
        assert run <= 6, d


# --- year file validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (
            "year: 2027\nholidays:\n  - {date: 2027-01-01, name: a}\n"
            "  - {date: 2026-12-31, name: b}\n",
            "holidays entry 2 (line 4)",
            "outside the declared year 2027",
        ),
        (
            "year: 2027\nholidays:\n  - {from: 2027-02-12, to: 2027-02-06, name: 春节}\n",
            "holidays entry 1 (line 3)",
            "'from' 2027-02-12 is after 'to' 2027-02-06",
        ),
        (
            "year: 2027\nholidays:\n  - {date: 2027-02-30, name: a}\n",
            "holidays entry 1",
            "bad date in 'date': '2027-02-30'",
        ),
        (
            "year: 2027\nholidays:\n  - {date: 2027-2-3, name: a}\n",
            "holidays entry 1",
            "bad date",
        ),
        (
            "year: 2027\nholidays:\n  - {date: 20270203, name: a}\n",
            "holidays entry 1",
            "bad date",
        ),
        (
            "year: 2027\nholidays: []\nworkdays:\n  - {date: 2027-01-09, nmae: a}\n",
            "workdays entry 1 (line 4)",
            "unknown key 'nmae'",
        ),
        (
            "year: 2027\nholidays:\n  - {from: 2027-02-05, to: 2027-02-11, name: 春节}\n"
            "workdays:\n  - {date: 2027-01-09, name: a}\n  - {date: 2027-02-06, name: b}\n",
            "workdays entry 2 (line 6)",
            "2027-02-06 is also listed as a holiday in holidays entry 1",
        ),
        (
            "year: 2027\nholidays:\n  - {from: 2027-02-05, to: 2027-02-11, name: a}\n"
            "  - {date: 2027-02-08, name: b}\n",
            "holidays entry 2",
            "already listed in holidays entry 1",
        ),
        (
            "year: 2027\nholidays:\n  - {date: 2027-01-01}\n",
            "holidays entry 1",
            "'name' is required",
        ),
        (
            "year: 2027\nholidays:\n  - {date: 2027-01-01, from: 2027-01-01, name: a}\n",
            "holidays entry 1",
            "not both",
        ),
        (
            "year: 2027\nholidays:\n  - {from: 2027-01-01, name: a}\n",
            "holidays entry 1",
            "both 'from' and 'to'",
        ),
        (
            "year: 2027\nholidays:\n  - 2027-01-01\n",
            "holidays entry 1",
            "expected a mapping",
        ),
        (
            "year: 2027\nholidays:\n  - {date: 2027-01-01, date: 2027-01-02, name: a}\n",
            "line 3",
            "duplicate key 'date'",
        ),
        ("holidays: []\n", "", "missing 'year'"),
        ("year: 2027\n", "", "missing 'holidays'"),
        ("year: '2027'\nholidays: []\n", "", "'year' must be a year number"),
        ("year: 2027\nprovisional: maybe\nholidays: []\n", "", "'provisional' must be"),
        ("year: 2027\nholiday: []\n", "", "unknown top-level key 'holiday'"),
        ("year: 2027\nholidays: {date: 2027-01-01}\n", "", "must be a list"),
        ("- 1\n- 2\n", "", "expected a mapping"),
        ("year: 2027\nholidays: [\n", "", "not valid YAML"),
    ],
)
def test_bad_year_file(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = write(tmp_path, text, "2027.yaml")
    with pytest.raises(CalendarFileError) as info:
        load_year_file(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert where in message, message
    assert problem in message, message


def test_missing_year_file(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match="cannot read"):
        load_year_file(tmp_path / "nope.yaml")


def test_workday_on_a_weekday_is_allowed(tmp_path: Path) -> None:
    text = "year: 2027\nholidays: []\nworkdays:\n  - {date: 2027-01-04, name: x}\n"
    spec = load_year_file(write(tmp_path, text))
    assert date(2027, 1, 4) in spec.workdays


def test_optional_sections_and_quoted_dates(tmp_path: Path) -> None:
    text = "year: 2027\nprovisional: true\nholidays:\n  - {date: '2027-01-01', name: ' 元旦 '}\n"
    spec = load_year_file(write(tmp_path, text))
    assert spec.provisional
    assert spec.holidays == {date(2027, 1, 1): "元旦"}
    assert spec.workdays == {}


# --- properties ---------------------------------------------------------------------------

LO, HI = CAL.known_years()
# Leave room for 366 working days after the start without running off the known range.
start_dates = st.dates(min_value=date(LO, 1, 1), max_value=date(HI - 2, 12, 31))
any_known_date = st.dates(min_value=date(LO, 1, 1), max_value=date(HI, 12, 31))
counts = st.integers(min_value=1, max_value=366)


@given(start_dates, counts, counts)
def test_add_workdays_strictly_increasing_and_on_workdays(d: date, n1: int, n2: int) -> None:
    a, b = CAL.add_workdays(d, n1), CAL.add_workdays(d, n2)
    assert a > d
    assert CAL.is_workday(a)
    assert CAL.is_workday(b)
    if n1 < n2:
        assert a < b
    elif n1 == n2:
        assert a == b


@given(start_dates, counts)
def test_workdays_between_inverts_add_workdays(d: date, n: int) -> None:
    assert CAL.workdays_between(d, CAL.add_workdays(d, n)) == n


@given(any_known_date)
def test_first_workday_after_skips_only_days_off(d: date) -> None:
    try:
        nxt = CAL.add_workdays(d, 1)
    except CalendarRangeError as exc:
        assert exc.year == HI + 1
        assert not any(CAL.is_workday(x) for x in days(d + timedelta(1), date(HI, 12, 31)))
        return
    for x in days(d + timedelta(1), nxt - timedelta(1)):
        assert not CAL.is_workday(x)


@given(any_known_date, st.integers(min_value=-40, max_value=40))
def test_workdays_between_counts_half_open_interval(a: date, offset: int) -> None:
    b = a + timedelta(days=offset)
    if not LO <= b.year <= HI:
        return
    expected = sum(CAL.is_workday(x) for x in days(a + timedelta(1), b)) if b > a else 0
    assert CAL.workdays_between(a, b) == expected
