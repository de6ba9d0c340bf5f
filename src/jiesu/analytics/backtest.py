"""Rolling-origin backtest of the forecaster against seasonal naive, and a CSV loader that turns a
request log into daily counts per group.

Scoring follows Hyndman & Koehler (2006): for each series and forecast origin, MASE is the mean
absolute error over the horizon divided by the in-sample mean absolute error of the seasonal-naive
one-step forecast (season 7) on the history before that origin. Both the model and the
seasonal-naive benchmark are scored on the same scale, so their figures compare directly; the
benchmark's out-of-sample MASE is not 1 (it is usually a little above). Origins whose history has
a zero scale (a constant series) are skipped, because MASE is undefined there.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from jiesu.analytics.forecast import (
    DEFAULT_CONFIG,
    Counts,
    DayTypes,
    FloatArray,
    ForecastConfig,
    as_counts,
    forecast_daily,
    seasonal_naive,
)
from jiesu.errors import BadInput

SEASON = 7


@dataclass(frozen=True)
class SeriesScore:
    """One series over all its origins."""

    key: str
    volume: int  # actual requests in the scored windows
    origins: int
    mase_model: float
    mase_seasonal_naive: float
    coverage: float  # share of scored days inside the model's interval


@dataclass(frozen=True)
class BacktestResult:
    horizon: int
    origins: int
    level: float
    series: tuple[SeriesScore, ...]
    skipped: tuple[str, ...]  # series with no origin a MASE could be computed for

    @property
    def n_series(self) -> int:
        return len(self.series)

    def mase(self, which: str) -> dict[str, float]:
        """Mean, median and volume-weighted MASE over series, for "model" or "seasonal_naive"."""
        values = np.array([getattr(s, f"mase_{which}") for s in self.series])
        weights = np.array([s.volume for s in self.series], dtype=np.float64)
        if values.size == 0:
            return {"mean": float("nan"), "median": float("nan"), "weighted": float("nan")}
        weighted = float(np.average(values, weights=weights)) if weights.sum() > 0 else np.nan
        return {
            "mean": float(values.mean()),
            "median": float(np.median(values)),
            "weighted": weighted,
        }

    @property
    def coverage(self) -> float:
        """Share of all scored days (pooled over series) inside the interval."""
        days = sum(s.origins * self.horizon for s in self.series)
        hits = sum(s.coverage * s.origins * self.horizon for s in self.series)
        return hits / days if days else float("nan")


def mase_scale(history: FloatArray, season: int = SEASON) -> float:
    """In-sample mean absolute error of the seasonal-naive one-step forecast."""
    if history.size <= season:
        return 0.0
    return float(np.mean(np.abs(history[season:] - history[:-season])))


def origin_indices(n_days: int, horizon: int, origins: int, step: int = 7) -> list[int]:
    """Forecast origins (index of the first forecast day), latest last, every `step` days so the
    last window ends on the last observed day; origins without two weeks of history are dropped."""
    last = n_days - horizon
    found = [last - step * i for i in range(origins)]
    return sorted(o for o in found if o >= 2 * SEASON)


def score_series(
    key: str,
    start: date,
    counts: Counts,
    horizon: int = 7,
    origins: int = 12,
    level: float = 0.9,
    config: ForecastConfig = DEFAULT_CONFIG,
    like_weekday: DayTypes | None = None,
) -> SeriesScore | None:
    y = as_counts(counts)
    model_mase, naive_mase, hits, days, volume = [], [], 0, 0, 0.0
    for origin in origin_indices(y.size, horizon, origins):
        history, actual = y[:origin], y[origin : origin + horizon]
        scale = mase_scale(history)
        if scale <= 0:
            continue
        fc = forecast_daily(start, history, horizon, level, config, like_weekday)
        mean = np.asarray(fc.mean)
        model_mase.append(float(np.mean(np.abs(actual - mean))) / scale)
        naive_mase.append(float(np.mean(np.abs(actual - seasonal_naive(history, horizon)))) / scale)
        hits += int(np.sum((actual >= np.asarray(fc.lower)) & (actual <= np.asarray(fc.upper))))
        days += horizon
        volume += float(actual.sum())
    if not model_mase:
        return None
    return SeriesScore(
        key, int(volume), len(model_mase), float(np.mean(model_mase)),
        float(np.mean(naive_mase)), hits / days,
    )  # fmt: skip


def backtest(
    series: Mapping[str, Counts],
    start: date,
    horizon: int = 7,
    origins: int = 12,
    level: float = 0.9,
    config: ForecastConfig = DEFAULT_CONFIG,
    like_weekday: DayTypes | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of every series (all starting on `start`)."""
    if horizon < 1 or origins < 1:
        raise ValueError(f"horizon and origins must be at least 1, got {horizon} and {origins}")
    scores, skipped = [], []
    for key, counts in series.items():
        score = score_series(key, start, counts, horizon, origins, level, config, like_weekday)
        if score is None:
            skipped.append(key)
        else:
            scores.append(score)
    return BacktestResult(horizon, origins, level, tuple(scores), tuple(skipped))


# --- loading a request log ---------------------------------------------------------------------


@dataclass(frozen=True)
class DailySeries:
    """Daily counts per group, all on the same calendar from `start`."""

    start: date
    counts: dict[str, FloatArray]
    rows: int  # data rows read
    blank: int  # rows without a time or group value, not counted
    dropped_groups: int  # groups under the minimum count

    @property
    def days(self) -> int:
        return next(iter(self.counts.values())).size if self.counts else 0


def _parse_day(text: str) -> date:
    """The calendar day of a timestamp: ISO (2015-01-05 12:40:41, 2015-01-05T…) or US
    (01/05/2015 12:03:00 AM); the time of day is not needed."""
    day = text.strip().split(" ", 1)[0].split("T", 1)[0]
    if "-" in day:
        y, m, d = day.split("-")
    elif "/" in day:
        m, d, y = day.split("/")
    else:
        raise ValueError(text)
    return date(int(y), int(m), int(d))


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _column(header: list[str], name: str, option: str) -> int:
    if name in header:
        return header.index(name)
    shown = ", ".join(header[:40]) + (" …" if len(header) > 40 else "")
    raise BadInput(option, f"no column {name!r} in the file; available columns: {shown}")


def _rows(path: Path, time_col: str, group_col: str) -> Iterator[tuple[int, str, str]]:
    """(row number, time text, group) for each data row; row 1 is the first after the header."""
    if not path.is_file():
        raise BadInput("data", f"no such file: {path}")
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise BadInput("data", f"{path.name} is empty")
        t, g = _column(header, time_col, "time-col"), _column(header, group_col, "group-col")
        width = max(t, g)
        for number, row in enumerate(reader, start=1):
            if len(row) > width:
                yield number, row[t], row[g]
            else:
                yield number, "", ""


def load_daily_counts(
    path: Path,
    time_col: str,
    group_col: str,
    min_count: int = 365,
    on_progress: Callable[[str], None] | None = None,
) -> DailySeries:
    """Read a CSV (or .csv.gz) request log into daily counts per group, keeping groups with at
    least `min_count` requests. Raises BadInput naming the column or the row that is wrong."""
    per_group: dict[str, dict[date, int]] = {}
    days: dict[str, date] = {}  # timestamps repeat their day thousands of times: parse once
    rows = blank = 0
    try:
        for number, when, group in _rows(path, time_col, group_col):
            rows += 1
            prefix = when[:10]
            if not prefix.strip() or not group.strip():
                blank += 1
                continue
            day = days.get(prefix)
            if day is None:
                try:
                    day = days[prefix] = _parse_day(when)
                except ValueError:
                    raise BadInput(
                        time_col, f"row {number}: cannot read {when!r} as a date or timestamp"
                    ) from None
            counter = per_group.setdefault(group, {})
            counter[day] = counter.get(day, 0) + 1
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInput("data", f"cannot read {path.name}: {exc}") from None
    if on_progress:
        on_progress(f"read {rows} rows, {len(per_group)} groups from {path.name}")
    return _to_series(per_group, rows, blank, min_count)


def _to_series(
    per_group: dict[str, dict[date, int]], rows: int, blank: int, min_count: int
) -> DailySeries:
    all_days = [d for counter in per_group.values() for d in counter]
    if not all_days:
        return DailySeries(date.today(), {}, rows, blank, len(per_group))
    first, last = min(all_days), max(all_days)
    n = (last - first).days + 1
    counts: dict[str, FloatArray] = {}
    for group, counter in sorted(per_group.items(), key=lambda kv: -sum(kv[1].values())):
        if sum(counter.values()) < min_count:
            continue
        y = np.zeros(n)
        for day, c in counter.items():
            y[(day - first).days] = c
        counts[group] = y
    return DailySeries(first, counts, rows, blank, len(per_group) - len(counts))
