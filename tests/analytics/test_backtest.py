"""The rolling-origin backtest, the request-log loader and ``jiesu analytics backtest``."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from jiesu.analytics.backtest import load_daily_counts, mase_scale, origin_indices, score_series
from jiesu.analytics.cli_forecast import backtest_cmd, read_day_types
from jiesu.errors import BadInput

START = date(2015, 1, 1)
SHAPE = [1.4, 1.2, 1.1, 1.0, 1.0, 0.5, 0.3]

app = typer.Typer()
app.command()(backtest_cmd)
runner = CliRunner()


def write_log(path: Path, days: int = 140, us_format: bool = True) -> dict[str, int]:
    """A request log with two busy types and one rare one; returns requests per type."""
    rng = np.random.default_rng(5)
    totals: dict[str, int] = {}
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["CASE_ENQUIRY_ID", "OPEN_DT", "TYPE", "Notes"])
        for i in range(days):
            day = START + timedelta(days=i)
            for kind, base in (("Pothole", 12.0), ("Graffiti", 5.0), ("Bees", 0.05)):
                rate = base * SHAPE[day.weekday()] * rng.gamma(10, 0.1)
                for _ in range(rng.poisson(rate)):
                    when = datetime(day.year, day.month, day.day, int(rng.integers(24)), 3)
                    stamp = when.strftime("%m/%d/%Y %I:%M:%S %p") if us_format else str(when)
                    w.writerow([len(totals), stamp, kind, "a note, with a comma"])
                    totals[kind] = totals.get(kind, 0) + 1
    return totals


def test_mase_scale_is_the_in_sample_seasonal_naive_mae() -> None:
    y = np.array([1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 9], dtype=float)
    assert mase_scale(y) == pytest.approx((2 + 0 + 0 + 0 + 0 + 0 + 2) / 7)
    assert mase_scale(y[:7]) == 0.0


def test_origins_are_weekly_and_end_on_the_last_day() -> None:
    assert origin_indices(100, 7, 3) == [79, 86, 93]
    assert origin_indices(30, 7, 5) == [16, 23]  # the rest lack two weeks of history


def test_score_series_skips_constant_histories() -> None:
    assert score_series("flat", START, [4.0] * 60) is None


def test_score_series_scores_a_known_case() -> None:
    # A pure weekly pattern: seasonal naive is perfect out of sample.
    week = [10.0, 8, 8, 8, 8, 2, 1]
    y = np.array(week * 12)
    y[3] += 4  # one bump early on gives the history a non-zero scale
    score = score_series("k", START, y, horizon=7, origins=4)
    assert score is not None
    assert score.origins == 4
    assert score.mase_seasonal_naive == pytest.approx(0.0)
    assert score.volume == 4 * sum(week)
    # The scale is tiny (8 requests of change in 70 days), so the small shrinkage of the
    # weekday factors towards 1 reads as a MASE above 1; per day the error is well under 1.
    assert 0 < score.mase_model * mase_scale(y[:77]) < 0.35


def test_loader_builds_daily_counts_per_group(tmp_path: Path) -> None:
    path = tmp_path / "log.csv.gz"
    totals = write_log(path, days=60, us_format=False)
    data = load_daily_counts(path, "OPEN_DT", "TYPE", min_count=50)
    assert data.start == START
    assert set(data.counts) == {"Pothole", "Graffiti"}
    assert data.dropped_groups == 1
    assert data.rows == sum(totals.values())
    assert data.counts["Pothole"].sum() == totals["Pothole"]
    assert data.days == data.counts["Pothole"].size >= 59


def test_loader_names_the_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("OPEN_DT,TYPE\n2015-01-01 10:00:00,A\n,A\nyesterday,A\n", encoding="utf-8")
    with pytest.raises(BadInput, match="row 3: cannot read 'yesterday'"):
        load_daily_counts(path, "OPEN_DT", "TYPE", min_count=1)


def test_holiday_file(tmp_path: Path) -> None:
    path = tmp_path / "days.txt"
    path.write_text("# 2024\n2024-10-01\n2024-10-12 workday\n", encoding="utf-8")
    assert read_day_types(path) == {date(2024, 10, 1): 6, date(2024, 10, 12): 0}
    path.write_text("2024-13-01\n", encoding="utf-8")
    with pytest.raises(BadInput, match="line 1"):
        read_day_types(path)


def test_cli_backtest_json(tmp_path: Path) -> None:
    path = tmp_path / "log.csv.gz"
    write_log(path)
    result = runner.invoke(
        app, ["--data", str(path), "--min-count", "300", "--origins", "8", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    expected_keys = {
        "n_series", "origins", "horizon", "level", "mase_model", "mase_seasonal_naive",
        "coverage", "per_series", "elapsed_s", "rows", "start", "end",
    }  # fmt: skip
    assert expected_keys <= set(out)
    assert out["n_series"] == 2 and out["origins"] == 8 and out["horizon"] == 7
    assert set(out["mase_model"]) == {"mean", "median", "weighted"}
    assert out["mase_model"]["mean"] < out["mase_seasonal_naive"]["mean"]
    assert 0.75 <= out["coverage"] <= 1.0
    assert [s["key"] for s in out["per_series"]] == ["Pothole", "Graffiti"]
    assert out["start"] == "2015-01-01"


def test_cli_backtest_table(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    write_log(path, days=100)
    result = runner.invoke(app, ["--data", str(path), "--min-count", "300"])
    assert result.exit_code == 0, result.output
    assert "seasonal naive" in result.stdout and "Pothole" in result.stdout


def test_cli_bad_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    write_log(path, days=20)
    result = runner.invoke(app, ["--data", str(path), "--group-col", "KIND", "--json"])
    assert result.exit_code == 1
    assert "'KIND'" in result.output and "OPEN_DT" in result.output
    assert result.stdout == ""


def test_cli_bad_input_exits_1(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["--data", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1 and "no such file" in missing.output
    path = tmp_path / "log.csv"
    path.write_text("OPEN_DT,TYPE\n2015-01-01,A\n31.12.2015,A\n", encoding="utf-8")
    bad_time = runner.invoke(app, ["--data", str(path), "--min-count", "1"])
    assert bad_time.exit_code == 1 and "row 2" in bad_time.output
    write_log(path, days=30)
    too_few = runner.invoke(app, ["--data", str(path), "--min-count", "100000"])
    assert too_few.exit_code == 1 and "--min-count" in too_few.output
    bad_level = runner.invoke(app, ["--data", str(path), "--level", "90"])
    assert bad_level.exit_code == 1 and "--level" in bad_level.output
