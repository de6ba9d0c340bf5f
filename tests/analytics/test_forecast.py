"""The request forecaster and surge detection, on generated series with known truth."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from jiesu.analytics.backtest import backtest
from jiesu.analytics.forecast import (
    forecast_daily,
    forecast_weekly,
    seasonal_naive,
    weekly_totals,
)
from jiesu.analytics.surge import detect_surge, scan_surges

START = date(2024, 1, 1)  # a Monday
# An office-hours category: busy Monday, quiet weekend (date.weekday() order).
WEEKDAY_SHAPE = np.array([1.5, 1.2, 1.1, 1.0, 1.0, 0.6, 0.4])


def seasonal_series(
    days: int, base: float, seed: int, noise_shape: float = 15.0, start: date = START
) -> np.ndarray:
    """Poisson counts around base × weekday shape, with gamma day-to-day noise and a slow drift."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    weekdays = (start.weekday() + t) % 7
    drift = 1 + 0.25 * np.sin(2 * np.pi * t / 180 + seed)
    rate = base * WEEKDAY_SHAPE[weekdays] * drift * rng.gamma(noise_shape, 1 / noise_shape, days)
    return rng.poisson(rate).astype(float)


def test_beats_seasonal_naive_on_weekly_seasonal_poisson_series() -> None:
    series = {f"s{i}": seasonal_series(240, base, seed=i) for i, base in enumerate([3, 8, 20, 60])}
    result = backtest(series, START, horizon=7, origins=12, level=0.9)
    model, naive = result.mase("model"), result.mase("seasonal_naive")
    assert result.n_series == 4
    assert model["mean"] / naive["mean"] < 0.85
    assert model["weighted"] < naive["weighted"]
    assert all(s.mase_model < s.mase_seasonal_naive for s in result.series)


def test_intervals_cover_about_the_nominal_share() -> None:
    series = {f"s{i}": seasonal_series(300, 12, seed=100 + i) for i in range(12)}
    result = backtest(series, START, horizon=7, origins=10, level=0.9)
    assert 0.84 <= result.coverage <= 0.97
    wide = backtest(series, START, horizon=7, origins=10, level=0.5)
    assert wide.coverage < result.coverage - 0.2


def test_forecast_has_weekday_shape_and_dates() -> None:
    y = seasonal_series(140, 30, seed=7)
    fc = forecast_daily(START, y, horizon=7)
    assert fc.method == "weekly-seasonal"
    assert fc.period == "day" and fc.horizon == 7
    assert fc.dates()[0] == START + timedelta(days=140)
    assert fc.dates()[0].weekday() == 0  # 140 days after a Monday
    assert fc.mean[0] > 1.8 * fc.mean[6]  # Monday well above Sunday
    assert all(lo <= m <= hi for lo, m, hi in zip(fc.lower, fc.mean, fc.upper, strict=True))
    true_level = 30 * (1 + 0.25 * np.sin(2 * np.pi * 140 / 180 + 7))  # the drift, ahead
    assert np.mean(fc.mean) / np.mean(WEEKDAY_SHAPE) == pytest.approx(true_level, rel=0.15)


def test_a_storm_day_does_not_lift_the_forecast() -> None:
    y = seasonal_series(120, 10, seed=3, noise_shape=1000)
    y[-3] = 400  # one day of storm calls
    fc = forecast_daily(START, y, horizon=7)
    calm = forecast_daily(START, np.concatenate([y[:-3], [10], y[-2:]]), horizon=7)
    # Unclipped, a smoothing weight of 0.1 alone would add about 39 requests a day.
    assert np.mean(fc.mean) - np.mean(calm.mean) < 2.5


def test_holiday_ahead_is_forecast_like_a_sunday() -> None:
    y = seasonal_series(140, 30, seed=8, noise_shape=1000)
    holiday = START + timedelta(days=141)  # the Tuesday ahead
    plain = forecast_daily(START, y, horizon=7)
    fc = forecast_daily(START, y, horizon=7, like_weekday={holiday: 6})
    assert fc.mean[1] == pytest.approx(fc.mean[6])
    assert fc.mean[1] < 0.5 * plain.mean[1]


def test_annual_season_used_only_with_two_years() -> None:
    days = 3 * 365
    t = np.arange(days)
    # December (day-of-year ≥ 335) twice as busy as the rest of the year.
    doy = t % 365
    rng = np.random.default_rng(1)
    y = rng.poisson(np.where(doy >= 335, 40.0, 20.0)).astype(float)
    cut = 2 * 365 + 330  # late November of the third year
    fc = forecast_daily(START, y[:cut], horizon=14)
    assert fc.method == "weekly-seasonal+annual"
    assert np.mean(fc.mean[7:]) > 1.5 * 20
    one_year = forecast_daily(START, y[365 + 30 : cut], horizon=14)
    assert one_year.method == "weekly-seasonal"
    assert np.mean(one_year.mean[7:]) < 1.2 * 20


def test_all_zero_series_forecasts_zero() -> None:
    fc = forecast_daily(START, [0] * 60, horizon=5)
    assert fc.method == "zero"
    assert fc.mean == (0.0,) * 5 and fc.lower == (0,) * 5
    assert fc.upper == (0,) * 5  # two months of silence: even one request is outside 90%
    assert forecast_daily(START, [0, 0], horizon=1).upper[0] >= 1  # two days prove little


def test_short_series_falls_back_to_a_wide_mean() -> None:
    fc = forecast_daily(START, [3, 5, 4, 4], horizon=3)
    assert fc.method == "mean"
    assert fc.mean == pytest.approx((4.0, 4.0, 4.0))
    assert fc.lower[0] <= 1 and fc.upper[0] >= 9


def test_bad_series_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="empty series"):
        forecast_daily(START, [])
    with pytest.raises(ValueError, match="negative"):
        forecast_daily(START, [1, -1, 2])
    with pytest.raises(ValueError, match="horizon"):
        forecast_daily(START, [1, 2, 3], horizon=0)
    with pytest.raises(ValueError, match="level"):
        forecast_daily(START, [1, 2, 3], level=90)


def test_seasonal_naive_repeats_last_week() -> None:
    y = np.arange(21.0)
    assert seasonal_naive(y, 9).tolist() == [14, 15, 16, 17, 18, 19, 20, 14, 15]


def test_weekly_totals_end_on_the_last_day() -> None:
    first, totals = weekly_totals(START, np.ones(17))
    assert first == START + timedelta(days=3)
    assert totals.tolist() == [7.0, 7.0]


def test_weekly_forecast_totals_and_wider_interval() -> None:
    y = seasonal_series(180, 20, seed=11)
    fc = forecast_weekly(START, y, horizon=2)
    daily = forecast_daily(START, y, horizon=14)
    assert fc.period == "week" and fc.horizon == 2
    assert fc.mean[0] == pytest.approx(sum(daily.mean[:7]))
    assert fc.lower[0] < fc.mean[0] < fc.upper[0]
    assert fc.dates()[1] - fc.dates()[0] == timedelta(days=7)


# --- surges --------------------------------------------------------------------------------------


def steady(days: int, base: float, seed: int) -> np.ndarray:
    return seasonal_series(days, base, seed, noise_shape=200)


def test_surge_fires_on_a_doubled_week() -> None:
    y = steady(126, 20, seed=21)
    y[-7:] *= 2
    alert = detect_surge("路灯不亮·朝阳", START, y, period="week")
    assert alert is not None
    assert alert.observed == int(y[-7:].sum())
    assert alert.observed > alert.upper > alert.expected
    assert 1.7 < alert.ratio < 2.3
    assert alert.first_day == START + timedelta(days=119)
    assert alert.last_day == START + timedelta(days=125)
    assert alert.reason_zh.startswith(f"近7天 {alert.observed} 件，预期 {alert.expected:.0f} 件")
    assert f"（上限 {alert.upper}）" in alert.reason_zh
    assert alert.reason_en.startswith(f"last 7 days: {alert.observed} requests")


def test_no_surge_on_a_normal_week() -> None:
    fired = [detect_surge("k", START, steady(126, 20, seed=s), "week") for s in range(30, 40)]
    assert sum(a is not None for a in fired) <= 1


def test_surge_floor_keeps_tiny_series_quiet() -> None:
    y = np.zeros(120)
    y[::30] = 1
    y[-7:] = [1, 0, 1, 0, 1, 0, 1]  # four requests where one a month is usual
    assert detect_surge("k", START, y, "week") is None  # under the floor of 5
    alert = detect_surge("k", START, y, "week", min_count=3)
    assert alert is not None and alert.observed == 4


def test_daily_surge_and_scan_order() -> None:
    a, b, c = steady(100, 30, seed=1), steady(100, 30, seed=2), steady(100, 30, seed=3)
    a[-1] = 90
    b[-1] = 300
    alerts = scan_surges({"a": a, "b": b, "c": c}, START, period="day")
    assert [x.key for x in alerts] == ["b", "a"]
    last = START + timedelta(days=99)
    assert alerts[0].first_day == alerts[0].last_day == last
    assert alerts[0].reason_zh.startswith(f"{last.month}月{last.day}日 300 件")


def test_surge_needs_history_before_the_period() -> None:
    with pytest.raises(ValueError, match="history"):
        detect_surge("k", START, [5] * 7, "week")
