"""Daily and weekly request-count forecasts with prediction intervals, for one series
(one category × area), as the base of early warning (未诉先办).

Method — "weekly-seasonal": ``forecast(day) = level × weekday factor [× annual factor]``.

- **Weekday factors** (`date.weekday()` order) are exponentially weighted ratios of each weekday's
  counts to the overall mean, shrunk towards 1 by a pseudo-count, so a series with three requests a
  month does not get a "Tuesday effect" from noise.
- **Level** is an exponentially weighted *ratio* estimator, Σw·y / Σw·f, over outlier-clipped
  counts. Dividing sums rather than each day by its factor keeps days with tiny factors (Sundays
  for office-hours categories) from blowing up. The smoothing weight is chosen per series from a
  small grid by the in-sample multi-step absolute error, i.e. by the very thing we are scored on.
- **Outliers** (a storm day, a holiday with no intake) are clipped to a robust band around a first,
  plain smoothing pass before the factors and the level are fitted, so one snowstorm does not
  lift the next month's forecast.
- **Annual factor** only with two years or more of history: last year's counts around the target
  day relative to last year's counts at the same point as now, shrunk and bounded.
- **Intervals** are Negative-binomial quantiles around the point forecast. The overdispersion is
  calibrated on in-sample multi-step forecasts: the smallest one whose interval covers the
  nominal share of past days. Calibrating on coverage, not on the variance, keeps a single
  extreme day from inflating every interval.

Why this and not something bigger: hotline counts per category × area are short, sparse,
overdispersed and strongly weekly. Seasonal naive (same weekday last week) copies last week's
noise; the model above averages it away while keeping the weekday shape, is fully vectorised
(a few milliseconds per series, thousands of series on one CPU), needs no training set, and every
number it produces can be explained to a duty officer ("about 20 a day lately, Mondays 1.4×").
Heavier models (ARIMA, gradient boosting, neural nets) need more history than most series have
and gain little on counts this noisy.

Fallbacks: no data → ``ValueError``; only zeros → zero forecast with a rule-of-three upper bound;
fewer than two weeks → the plain mean with deliberately wide intervals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import special

Period = Literal["day", "week"]
FloatArray = NDArray[np.float64]
# Days that behave like another weekday (date.weekday() numbering): a public holiday like a
# Sunday (6), a weekend day made a working day (调休) like a Monday (0).
DayTypes = Mapping[date, int]
Counts = Sequence[int] | Sequence[float] | NDArray[np.integer] | NDArray[np.floating]

SHORT_DAYS = 14  # fewer days than this: no weekday shape can be told from noise
YEAR_DAYS = 365
ANNUAL_MIN_DAYS = 2 * YEAR_DAYS


@dataclass(frozen=True)
class ForecastConfig:
    """Tuning knobs; the defaults were chosen on the Boston 311 backtest (docs/forecasting.md)."""

    alphas: tuple[float, ...] = (0.02, 0.04, 0.07, 0.1, 0.15, 0.25)
    weekday_half_life_days: float = 56.0  # weekday shape drifts slowly (school terms, staffing)
    weekday_prior_count: float = 10.0  # pseudo-requests pulling each weekday factor to 1
    clip_sigmas_high: float = 3.0
    clip_sigmas_low: float = 3.0
    burn_in_days: int = 14
    calibration_days: int = 364  # in-sample days used to pick alpha and the overdispersion
    annual_window_days: int = 14
    annual_bounds: tuple[float, float] = (0.5, 2.0)
    dispersion_grid: tuple[float, ...] = (
        0.0, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.45, 0.7, 1.0, 1.5, 2.5,
    )  # fmt: skip


DEFAULT_CONFIG = ForecastConfig()


@dataclass(frozen=True)
class Forecast:
    """Point forecasts and a central prediction interval, one entry per period from ``start``."""

    start: date
    period: Period
    mean: tuple[float, ...]
    lower: tuple[int, ...]
    upper: tuple[int, ...]
    level: float
    method: str
    # 1/k of the Negative binomial (0 = Poisson); the smoothing weight of the level.
    dispersion: float = 0.0
    alpha: float | None = None
    weekday_factors: tuple[float, ...] = field(default=(1.0,) * 7)

    @property
    def horizon(self) -> int:
        return len(self.mean)

    def dates(self) -> list[date]:
        step = 1 if self.period == "day" else 7
        return [self.start + timedelta(days=step * i) for i in range(self.horizon)]


@dataclass(frozen=True)
class _Fit:
    """A fitted weekly-seasonal model of one daily series."""

    alpha: float
    levels: FloatArray  # level after observing each day
    factors: FloatArray  # 7 weekday factors, date.weekday() order
    weekdays: NDArray[np.int64]  # weekday of each observed day
    clean: FloatArray  # the counts after outlier clipping


# --- input -----------------------------------------------------------------------------------


def as_counts(counts: Counts) -> FloatArray:
    """Daily counts as floats; refuses empty, negative and non-finite input by name."""
    y = np.asarray(counts, dtype=np.float64).ravel()
    if y.size == 0:
        raise ValueError("empty series: at least one day of counts is needed to forecast")
    if not np.all(np.isfinite(y)):
        raise ValueError("series has missing or infinite counts; give 0 for days without requests")
    if np.any(y < 0):
        raise ValueError("series has negative counts; daily request counts cannot be negative")
    return y


def _check(horizon: int, level: float) -> None:
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.9), got {level}")


def weekly_totals(start: date, counts: Counts) -> tuple[date, FloatArray]:
    """Sum daily counts into 7-day blocks that end on the last observed day; a leading partial
    block is dropped. Returns the first day of the first block and the totals."""
    y = as_counts(counts)
    weeks = y.size // 7
    if weeks == 0:
        raise ValueError(f"a weekly total needs at least 7 days, got {y.size}")
    skip = y.size - 7 * weeks
    return start + timedelta(days=skip), y[skip:].reshape(weeks, 7).sum(axis=1)


# --- the model ---------------------------------------------------------------------------------


def _ewma(values: FloatArray, alpha: float, block: int = 128) -> FloatArray:
    """Exponentially weighted running sum, s_t = (1-α)·s_{t-1} + α·y_t, without a Python loop:
    inside a block it is a scaled cumulative sum; blocks stay short so the scale cannot
    overflow."""
    decay = 1.0 - alpha
    out = np.empty_like(values)
    carry = 0.0
    powers = decay ** np.arange(block, dtype=np.float64)
    for begin in range(0, values.size, block):
        chunk = values[begin : begin + block]
        up = powers[: chunk.size]
        run = alpha * up * np.cumsum(chunk / up) + carry * decay * up
        out[begin : begin + chunk.size] = run
        carry = float(run[-1])
    return out


def _weekday_factors(y: FloatArray, weekdays: NDArray[np.int64], cfg: ForecastConfig) -> FloatArray:
    age = np.arange(y.size, 0, -1, dtype=np.float64) - 1.0
    w = 0.5 ** (age / cfg.weekday_half_life_days)
    total_w = w.sum()
    mean = float((w * y).sum() / total_w)
    if mean <= 0:
        return np.ones(7)
    sums = np.bincount(weekdays, weights=w * y, minlength=7)
    weights = np.bincount(weekdays, weights=w, minlength=7)
    # The prior is in requests, scaled to the weighting, so sparse weekdays stay near 1.
    prior = cfg.weekday_prior_count * (total_w / max(w.size, 1)) / 7.0
    factors = (sums + prior) / (weights * mean + prior)
    seen = weights > 0
    factors[~seen] = 1.0
    return np.asarray(factors / factors[seen].mean() if seen.any() else factors)


def _levels(y: FloatArray, f_t: FloatArray, alpha: float) -> FloatArray:
    """Level after each day: exponentially weighted Σy / Σf (a ratio estimator)."""
    return _ewma(y, alpha) / np.maximum(_ewma(f_t, alpha), 1e-12)


def _clip_outliers(
    y: FloatArray, weekdays: NDArray[np.int64], cfg: ForecastConfig, rounds: int = 2
) -> FloatArray:
    """Clip days far outside a plain fit (a storm, a dead holiday) to a robust band. The second
    round refits on the clipped counts: a storm first inflates its own weekday's factor and so
    survives the first band half-clipped."""
    clean = y
    for _ in range(rounds):
        clean = _clip_once(y, clean, weekdays, cfg)
    return clean


def _clip_once(
    y: FloatArray, basis: FloatArray, weekdays: NDArray[np.int64], cfg: ForecastConfig
) -> FloatArray:
    factors = _weekday_factors(basis, weekdays, cfg)
    f_t = factors[weekdays]
    levels = _levels(basis, f_t, 0.1)
    mu = np.empty_like(y)
    mu[0] = basis[0]
    mu[1:] = levels[:-1] * f_t[1:]
    root = np.sqrt(np.maximum(mu, 1.0))
    pearson = (y - mu) / root
    warm = slice(min(7, y.size - 1), None)
    mad = float(np.median(np.abs(pearson[warm] - np.median(pearson[warm]))))
    scale = max(1.0, 1.4826 * mad)
    high = mu + cfg.clip_sigmas_high * scale * root
    low = mu - cfg.clip_sigmas_low * scale * root
    clean = np.clip(y, np.maximum(low, 0.0), high)
    clean[:7] = y[:7]  # too early for a trustworthy band
    return np.asarray(clean)


def _lead_pairs(
    levels: FloatArray, f_t: FloatArray, y: FloatArray, horizon: int, first: int
) -> tuple[FloatArray, FloatArray]:
    """In-sample forecasts made at each day t ≥ first for t+1…t+horizon, with the actuals."""
    mus, actual = [], []
    n = y.size
    for h in range(1, horizon + 1):
        origins = np.arange(first, n - h)
        if origins.size == 0:
            continue
        mus.append(levels[origins] * f_t[origins + h])
        actual.append(y[origins + h])
    if not mus:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(mus), np.concatenate(actual)


def _fit(y: FloatArray, weekdays: NDArray[np.int64], horizon: int, cfg: ForecastConfig) -> _Fit:
    clean = _clip_outliers(y, weekdays, cfg)
    factors = _weekday_factors(clean, weekdays, cfg)
    f_t = factors[weekdays]
    first = max(cfg.burn_in_days, y.size - cfg.calibration_days)
    best: tuple[float, float, FloatArray] | None = None
    for alpha in cfg.alphas:
        levels = _levels(clean, f_t, alpha)
        mu, actual = _lead_pairs(levels, f_t, y, min(horizon, 7), min(first, y.size - 2))
        err = float(np.mean(np.abs(actual - mu))) if mu.size else 0.0
        if best is None or err < best[0] - 1e-12:
            best = (err, alpha, levels)
    assert best is not None
    return _Fit(best[1], best[2], factors, weekdays, clean)


def _annual_factor(clean: FloatArray, horizon: int, cfg: ForecastConfig) -> FloatArray:
    """Per forecast day: how last year(s) moved from "now" to the target day, shrunk to 1."""
    n = clean.size
    out = np.ones(horizon)
    if n < ANNUAL_MIN_DAYS:
        return out
    half = cfg.annual_window_days
    low, high = cfg.annual_bounds
    for h in range(1, horizon + 1):
        ratios = []
        for back in range(YEAR_DAYS, n - half, YEAR_DAYS):
            now = n - back  # index just after "today" one year ago
            base = clean[max(now - 28, 0) : now]
            target = clean[max(now + h - 1 - half, 0) : now + h + half]
            if base.size < 14 or target.size == 0:
                continue
            prior = 5.0  # pseudo-requests on each side
            ratios.append((target.mean() * 28 + prior) / (base.mean() * 28 + prior))
        if ratios:
            out[h - 1] = float(np.clip(np.mean(ratios), low, high))
    return out


def _dispersion(mu: FloatArray, actual: FloatArray, level: float, cfg: ForecastConfig) -> float:
    """Smallest overdispersion on the grid whose NB interval covers ≥ level of the in-sample
    pairs; coverage grows with the overdispersion, so a bisection over the grid suffices."""
    grid = cfg.dispersion_grid
    if mu.size == 0:
        return grid[-1]
    mu = np.maximum(mu, 1e-3)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2

    def covers(inv_k: float) -> bool:
        # actual ≤ ppf(hi) ⇔ cdf(actual-1) < hi;  actual ≥ ppf(lo) ⇔ cdf(actual) ≥ lo
        inside = (_cdf(actual - 1, mu, inv_k) < hi_q) & (_cdf(actual, mu, inv_k) >= lo_q)
        return float(np.mean(inside)) >= level

    low, high = 0, len(grid) - 1
    if covers(grid[low]):
        return grid[low]
    while high - low > 1:
        mid = (low + high) // 2
        if covers(grid[mid]):
            high = mid
        else:
            low = mid
    return grid[high]


def _cdf(x: FloatArray, mu: FloatArray, inv_k: float) -> FloatArray:
    """P(X ≤ x) for Poisson (inv_k = 0) or Negative binomial with mean mu and 1/size inv_k."""
    x = np.floor(x)
    if inv_k <= 0:
        cdf = special.pdtr(np.maximum(x, 0), mu)
    else:
        k = 1.0 / inv_k
        cdf = special.betainc(k, np.maximum(x, 0) + 1, k / (k + mu))
    return np.asarray(np.where(x < 0, 0.0, cdf))


def _ppf(q: float, mu: FloatArray, inv_k: float) -> FloatArray:
    """Smallest count whose cdf reaches q (scipy.stats' own recipe, without importing stats)."""
    if inv_k <= 0:
        guess = np.ceil(special.pdtrik(q, mu))
    else:
        k = 1.0 / inv_k
        guess = np.ceil(special.nbdtrik(q, k, k / (k + mu)))
    guess = np.nan_to_num(guess, nan=0.0)
    below = np.maximum(guess - 1, 0)
    return np.asarray(np.where(_cdf(below, mu, inv_k) >= q, below, guess))


def _interval(mu: FloatArray, inv_k: float, level: float) -> tuple[list[int], list[int]]:
    mu = np.maximum(np.atleast_1d(mu), 1e-9)
    lo = _ppf((1 - level) / 2, mu, inv_k)
    hi = _ppf((1 + level) / 2, mu, inv_k)
    return [int(v) for v in lo], [int(v) for v in hi]


# --- public forecasts --------------------------------------------------------------------------


def _weekdays(start: date, n: int, like: DayTypes | None = None) -> NDArray[np.int64]:
    """Weekday of each day, except days the calendar says behave like another weekday."""
    out = (start.weekday() + np.arange(n, dtype=np.int64)) % 7
    for day, weekday in (like or {}).items():
        i = (day - start).days
        if 0 <= i < n:
            out[i] = weekday
    return out


def _zero(start: date, n: int, horizon: int, level: float, period: Period, days: int) -> Forecast:
    # Rule of three: after n empty days the rate is below -ln(1-level)/n per day at that level.
    rate = -np.log(1 - level) / n * days
    upper = int(_ppf((1 + level) / 2, np.array([rate]), 0.0)[0])
    return Forecast(start, period, (0.0,) * horizon, (0,) * horizon, (upper,) * horizon, level,
                    "zero")  # fmt: skip


def _short(
    start: date, y: FloatArray, horizon: int, level: float, period: Period, days: int
) -> Forecast:
    """Under two weeks: the mean, with an overdispersion of at least 0.5 since so few days say
    little about the spread; a sum of `days` days is NB with the size multiplied by `days`."""
    mean = float(y.mean())
    var = float(y.var(ddof=1)) if y.size > 1 else mean
    inv_k = max(0.5, (var - mean) / mean**2 if mean > 0 else 0.0)
    lo, hi = _interval(np.full(horizon, mean * days), inv_k / days, level)
    return Forecast(start, period, (mean * days,) * horizon, tuple(lo), tuple(hi), level, "mean",
                    dispersion=inv_k / days)  # fmt: skip


def _seasonal(
    start: date, y: FloatArray, horizon: int, cfg: ForecastConfig, like: DayTypes | None
) -> tuple[_Fit, FloatArray]:
    """The fitted model and its point forecasts for the `horizon` days after the history."""
    weekdays = _weekdays(start, y.size, like)
    fit = _fit(y, weekdays, horizon, cfg)
    ahead = _weekdays(start + timedelta(days=y.size), horizon, like)
    mean = fit.levels[-1] * fit.factors[ahead] * _annual_factor(fit.clean, horizon, cfg)
    return fit, mean


def _method(y: FloatArray) -> str:
    return "weekly-seasonal+annual" if y.size >= ANNUAL_MIN_DAYS else "weekly-seasonal"


def forecast_daily(
    start: date,
    counts: Counts,
    horizon: int = 7,
    level: float = 0.9,
    config: ForecastConfig = DEFAULT_CONFIG,
    like_weekday: DayTypes | None = None,
) -> Forecast:
    """Forecast the `horizon` days after the history, which begins on `start`.

    `like_weekday` maps holidays and swapped working days, in the history and ahead, to the
    weekday they behave like, so they neither distort the level nor surprise the forecast."""
    _check(horizon, level)
    y = as_counts(counts)
    first_day = start + timedelta(days=y.size)
    if not y.any():
        return _zero(first_day, y.size, horizon, level, "day", 1)
    if y.size < SHORT_DAYS:
        return _short(first_day, y, horizon, level, "day", 1)
    fit, mean = _seasonal(start, y, horizon, config, like_weekday)
    first = max(config.burn_in_days, y.size - config.calibration_days)
    f_t = fit.factors[fit.weekdays]
    mu_in, actual = _lead_pairs(fit.levels, f_t, y, min(horizon, 7), min(first, y.size - 2))
    inv_k = _dispersion(mu_in, actual, level, config)
    lo, hi = _interval(mean, inv_k, level)
    return Forecast(
        first_day, "day", tuple(float(m) for m in mean), tuple(lo), tuple(hi), level,
        _method(y), dispersion=inv_k, alpha=fit.alpha,
        weekday_factors=tuple(float(f) for f in fit.factors),
    )  # fmt: skip


def forecast_weekly(
    start: date,
    counts: Counts,
    horizon: int = 4,
    level: float = 0.9,
    config: ForecastConfig = DEFAULT_CONFIG,
    like_weekday: DayTypes | None = None,
) -> Forecast:
    """Forecast the totals of the `horizon` 7-day weeks after the daily history.

    Point forecasts are sums of the daily model; the interval's overdispersion is calibrated on
    in-sample 7-day totals, because days within a week share the same level error and their
    sum is wider than independent days would suggest."""
    _check(horizon, level)
    y = as_counts(counts)
    first_day = start + timedelta(days=y.size)
    if not y.any():
        return _zero(first_day, y.size, horizon, level, "week", 7)
    if y.size < SHORT_DAYS:
        return _short(first_day, y, horizon, level, "week", 7)
    fit, daily = _seasonal(start, y, 7 * horizon, config, like_weekday)
    mean = daily.reshape(horizon, 7).sum(axis=1)
    inv_k = _dispersion(*_week_pairs(fit, y, horizon, config), level, config)
    lo, hi = _interval(mean, inv_k, level)
    return Forecast(
        first_day, "week", tuple(float(m) for m in mean), tuple(lo), tuple(hi), level,
        _method(y) + " weekly", dispersion=inv_k, alpha=fit.alpha,
        weekday_factors=tuple(float(f) for f in fit.factors),
    )  # fmt: skip


def _week_pairs(
    fit: _Fit, y: FloatArray, horizon: int, cfg: ForecastConfig
) -> tuple[FloatArray, FloatArray]:
    """In-sample 7-day totals, 1…`horizon` weeks ahead: forecast made at day t against the
    actual sum, pooled over the lead weeks."""
    n = y.size
    f_t = fit.factors[fit.weekdays]
    # Block totals from cumulative sums: lead week j after origin t covers t+7j+1…t+7j+7.
    f_cum = np.concatenate(([0.0], np.cumsum(f_t)))
    y_cum = np.concatenate(([0.0], np.cumsum(y)))
    first = max(cfg.burn_in_days, n - cfg.calibration_days)
    mus, actual = [], []
    for j in range(horizon):
        origins = np.arange(min(first, max(n - 8 - 7 * j, 0)), n - 7 - 7 * j)
        if origins.size == 0:
            break
        end, begin = origins + 7 * j + 8, origins + 7 * j + 1
        mus.append(fit.levels[origins] * (f_cum[end] - f_cum[begin]))
        actual.append(y_cum[end] - y_cum[begin])
    if not mus:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(mus), np.concatenate(actual)


def seasonal_naive(counts: Counts, horizon: int = 7, season: int = 7) -> FloatArray:
    """The benchmark: each day gets the count of the same weekday in the last observed week."""
    y = as_counts(counts)
    if y.size < season:
        return np.full(horizon, float(y.mean()))
    last = y[-season:]
    return np.asarray(last[np.arange(horizon) % season], dtype=np.float64)
