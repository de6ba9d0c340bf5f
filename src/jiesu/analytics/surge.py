"""Surge detection for early warning (未诉先办): does the latest day or week break out of what the
forecast allowed?

The forecast is made from the history *before* the period being judged, so a surge cannot hide
by lifting its own expectation. A minimum count keeps tiny series quiet: three requests where
one was expected is "3× expected" but not worth a duty officer's call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from jiesu.analytics.forecast import (
    DEFAULT_CONFIG,
    Counts,
    DayTypes,
    ForecastConfig,
    Period,
    as_counts,
    forecast_daily,
    forecast_weekly,
)

DEFAULT_MIN_COUNT = 5
DEFAULT_LEVEL = 0.95  # upper bound = 97.5% quantile: about one false alarm per series in 40
EXPECTED_FLOOR = 0.5  # a first request after a long silence still gets a finite ratio


@dataclass(frozen=True)
class SurgeAlert:
    key: str
    period: Period
    first_day: date
    last_day: date
    observed: int
    expected: float
    upper: int
    ratio: float  # observed / expected (expected floored at 0.5)
    reason_zh: str
    reason_en: str


def _reason(period: Period, last_day: date, observed: int, expected: float, upper: int) -> tuple[
    str, str
]:  # fmt: skip
    # Small expectations keep a decimal: "expected 0" next to 8 observed would read as absurd.
    exp = f"{expected:.1f}" if expected < 10 else f"{expected:.0f}"
    if period == "week":
        return (
            f"近7天 {observed} 件，预期 {exp} 件（上限 {upper}）",
            f"last 7 days: {observed} requests, expected {exp} (upper {upper})",
        )
    return (
        f"{last_day.month}月{last_day.day}日 {observed} 件，预期 {exp} 件（上限 {upper}）",
        f"{last_day.isoformat()}: {observed} requests, expected {exp} (upper {upper})",
    )


def detect_surge(
    key: str,
    start: date,
    counts: Counts,
    period: Period = "week",
    level: float = DEFAULT_LEVEL,
    min_count: int = DEFAULT_MIN_COUNT,
    config: ForecastConfig = DEFAULT_CONFIG,
    like_weekday: DayTypes | None = None,
) -> SurgeAlert | None:
    """Judge the last day (``period="day"``) or the last 7 days (``"week"``) of a daily series
    that begins on `start`; an alert when the count is above the interval and ≥ `min_count`."""
    y = as_counts(counts)
    days = 1 if period == "day" else 7
    if y.size <= days:
        raise ValueError(
            f"need history before the judged {period}: got {y.size} days, at least {days + 1}"
        )
    history, judged = y[:-days], y[-days:]
    observed = round(float(judged.sum()))
    if observed < min_count:
        return None
    if period == "day":
        fc = forecast_daily(start, history, 1, level, config, like_weekday)
    else:
        fc = forecast_weekly(start, history, 1, level, config, like_weekday)
    expected, upper = fc.mean[0], fc.upper[0]
    if observed <= upper:
        return None
    first_day = start + timedelta(days=history.size)
    last_day = first_day + timedelta(days=days - 1)
    zh, en = _reason(period, last_day, observed, expected, upper)
    ratio = observed / max(expected, EXPECTED_FLOOR)
    return SurgeAlert(key, period, first_day, last_day, observed, expected, upper, ratio, zh, en)


def scan_surges(
    series: Mapping[str, Counts],
    start: date,
    period: Period = "week",
    level: float = DEFAULT_LEVEL,
    min_count: int = DEFAULT_MIN_COUNT,
    config: ForecastConfig = DEFAULT_CONFIG,
    like_weekday: DayTypes | None = None,
) -> list[SurgeAlert]:
    """All alerts over many series on one calendar, the sharpest break-out first."""
    alerts = [
        alert
        for key, counts in series.items()
        if (alert := detect_surge(key, start, counts, period, level, min_count, config,
                                  like_weekday))
    ]  # fmt: skip
    return sorted(alerts, key=lambda a: (-_excess(a), a.key))


def _excess(alert: SurgeAlert) -> float:
    """How far above the upper bound, in Poisson-like standard units, to rank alerts."""
    return (alert.observed - alert.upper) / math.sqrt(max(alert.upper, 1))
