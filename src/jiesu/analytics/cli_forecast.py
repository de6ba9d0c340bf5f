"""``jiesu analytics backtest``: how well the forecaster would have done on a request log, next to
seasonal naive, with a rolling origin."""

from __future__ import annotations

import json
import math
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from jiesu.analytics.backtest import BacktestResult, DailySeries, backtest, load_daily_counts
from jiesu.analytics.forecast import DayTypes
from jiesu.clikit import console, err_console, fail
from jiesu.errors import BadInput

REST_DAY, WORKDAY = 6, 0  # a holiday behaves like a Sunday, a swapped working day like a Monday


def read_day_types(path: Path) -> DayTypes:
    """A holiday file: one ``YYYY-MM-DD`` per line (a day off), or ``YYYY-MM-DD workday`` for a
    weekend day worked (调休); ``#`` starts a comment."""
    if not path.is_file():
        raise BadInput("holidays", f"no such file: {path}")
    out: dict[date, int] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        try:
            day = date.fromisoformat(parts[0])
        except ValueError:
            raise BadInput("holidays", f"line {number}: {parts[0]!r} is not YYYY-MM-DD") from None
        kind = parts[1].lower() if len(parts) > 1 else "holiday"
        if kind not in ("holiday", "workday"):
            raise BadInput("holidays", f"line {number}: {kind!r} is neither holiday nor workday")
        out[day] = WORKDAY if kind == "workday" else REST_DAY
    return out


def _round(value: float, digits: int = 3) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def summary(
    result: BacktestResult, data: DailySeries, source: str, elapsed: float, top: int
) -> dict[str, Any]:
    """The documented JSON shape of a backtest."""
    by_volume = sorted(result.series, key=lambda s: (-s.volume, s.key))[:top]
    end = data.start + timedelta(days=data.days - 1)
    return {
        "data": source,
        "rows": data.rows,
        "blank_rows": data.blank,
        "start": data.start.isoformat(),
        "end": end.isoformat() if data.days else None,
        "n_series": result.n_series,
        "dropped_groups": data.dropped_groups,
        "skipped_series": list(result.skipped),
        "origins": result.origins,
        "horizon": result.horizon,
        "level": result.level,
        "mase_model": {k: _round(v) for k, v in result.mase("model").items()},
        "mase_seasonal_naive": {k: _round(v) for k, v in result.mase("seasonal_naive").items()},
        "coverage": _round(result.coverage),
        "series_model_better": sum(s.mase_model < s.mase_seasonal_naive for s in result.series),
        "per_series": [
            {
                "key": s.key,
                "volume": s.volume,
                "origins": s.origins,
                "mase_model": _round(s.mase_model),
                "mase_seasonal_naive": _round(s.mase_seasonal_naive),
                "coverage": _round(s.coverage),
            }
            for s in by_volume
        ],
        "elapsed_s": round(elapsed, 2),
    }


def _print_table(out: dict[str, Any]) -> None:
    model, naive = out["mase_model"], out["mase_seasonal_naive"]
    console.print(
        f"{out['n_series']} series, {out['origins']} origins × {out['horizon']} days, "
        f"{out['start']} – {out['end']}, {out['elapsed_s']} s"
    )
    t = Table(title="MASE (lower is better)")
    for col in ("", "mean", "median", "volume-weighted"):
        t.add_column(col, justify="left" if not col else "right")
    t.add_row("model", *(f"{model[k]:.3f}" for k in ("mean", "median", "weighted")))
    t.add_row("seasonal naive", *(f"{naive[k]:.3f}" for k in ("mean", "median", "weighted")))
    console.print(t)
    console.print(
        f"interval coverage {out['coverage']:.1%} (nominal {out['level']:.0%}); model better"
        f" on {out['series_model_better']} of {out['n_series']} series"
    )
    per = Table(title="largest series")
    for col in ("series", "volume", "MASE model", "MASE naive", "coverage"):
        per.add_column(col, justify="left" if col == "series" else "right")
    for s in out["per_series"]:
        per.add_row(
            s["key"], str(s["volume"]), f"{s['mase_model']:.3f}",
            f"{s['mase_seasonal_naive']:.3f}", f"{s['coverage']:.0%}",
        )  # fmt: skip
    console.print(per)


def _check_options(min_count: int, horizon: int, origins: int, level: float) -> None:
    if min_count < 1:
        fail(f"--min-count must be at least 1, got {min_count}")
    if horizon < 1 or origins < 1:
        fail(f"--horizon and --origins must be at least 1, got {horizon} and {origins}")
    if not 0 < level < 1:
        fail(f"--level must be between 0 and 1 (e.g. 0.9), got {level}")


def backtest_cmd(
    data: Path = typer.Option(..., "--data", help="request log, CSV or CSV.gz"),
    time_col: str = typer.Option("OPEN_DT", "--time-col", help="column with the request time"),
    group_col: str = typer.Option("TYPE", "--group-col", help="column naming the series"),
    min_count: int = typer.Option(365, "--min-count", help="keep groups with this many requests"),
    horizon: int = typer.Option(7, "--horizon", help="days forecast from each origin"),
    origins: int = typer.Option(12, "--origins", help="forecast origins, one week apart"),
    level: float = typer.Option(0.9, "--level", help="prediction-interval level"),
    holidays: Path | None = typer.Option(
        None, "--holidays", help="file of days off (YYYY-MM-DD) and worked weekend days"
    ),
    top: int = typer.Option(10, "--top", help="series listed, largest first"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """Rolling-origin backtest of the request forecaster against seasonal naive (MASE)."""
    _check_options(min_count, horizon, origins, level)
    started = time.monotonic()
    try:
        like = read_day_types(holidays) if holidays else None
        series = load_daily_counts(data, time_col, group_col, min_count)
    except BadInput as exc:
        fail(exc.message)
    if not series.counts:
        fail(f"no {group_col} group has at least {min_count} requests; lower --min-count")
    if not as_json:
        err_console.print(
            f"{series.rows} rows, {len(series.counts)} series over {series.days} days", style="dim"
        )
    result = backtest(series.counts, series.start, horizon, origins, level, like_weekday=like)
    if not result.series:
        fail(f"no series has {2 * 7 + horizon} days of history; the file is too short")
    out = summary(result, series, data.name, time.monotonic() - started, top)
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        _print_table(out)
