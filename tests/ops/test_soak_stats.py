"""The soak's figures and verdict on made-up runs whose answers are known."""

from __future__ import annotations

from jiesu.ops.soak.stats import (
    MB,
    Call,
    Sample,
    error_summary,
    percentile,
    rss_trend,
    verdict,
    windows,
)


def _calls(ms_by_window: list[list[float]], window: float = 10) -> list[Call]:
    out = []
    for w, values in enumerate(ms_by_window):
        for i, ms in enumerate(values):
            out.append(Call("list", w * window + i * window / len(values), ms, 200, None))
    return out


def _samples(mb: list[float], window: float = 10) -> list[Sample]:
    return [
        Sample(i * window, int(v * MB), i * 2.0, {"anon": int(v * MB) - 50 * MB, "file": 50 * MB})
        for i, v in enumerate(mb)
    ]


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7
    assert percentile([], 0.5) is None


def test_windows_hold_their_calls_and_the_sample_at_their_end() -> None:
    calls = _calls([[10, 20, 30, 40], [50, 60]])
    calls.append(Call("submit", 15, 5000, None, "ReadTimeout"))
    rows = windows(calls, _samples([300, 310, 320]), window=10, duration=20)
    assert [(r["calls"], r["errors"]) for r in rows] == [(4, 0), (3, 1)]
    assert (rows[0]["p50"], rows[0]["max"]) == (20, 40)
    assert rows[1]["max"] == 60  # the failed call's time is not a latency
    assert [r["rss_mb"] for r in rows] == [310, 320]
    assert rows[0]["server_cpu"] == 0.2  # 2 s of CPU in 10 s
    assert error_summary(calls)["by_kind"] == {"submit": 1}


def test_memory_growth_and_slope_are_taken_after_the_warm_up() -> None:
    # 200 MB at start, 300 MB once warm, then 1 MB a window (6 MB a minute).
    rss = rss_trend(_samples([200, 300, 301, 302, 303]), warmup=10)
    assert (rss["first"], rss["at_warmup"], rss["last"], rss["max"]) == (200, 300, 303, 303)
    assert rss["growth_pct"] == 1.0
    assert rss["slope_mb_per_min"] == 6.0
    assert rss["parts"] == {
        "anon": {"at_warmup": 250, "last": 253},
        "file": {"at_warmup": 50, "last": 50},
    }


def test_a_clean_steady_run_passes() -> None:
    calls = _calls([[900] * 10, [100] * 10, [110] * 10, [120] * 10])
    rows = windows(calls, _samples([200, 300, 301, 302, 303]), window=10, duration=40)
    rss = rss_trend(_samples([200, 300, 301, 302, 303]), warmup=10)
    v = verdict(0, rows, rss, warmup=10)
    assert v["passed"], v["reasons"]
    assert (v["p99_first_window_ms"], v["p99_last_window_ms"], v["p99_ratio"]) == (100, 120, 1.2)
    assert v["windows_after_warmup"] == 3  # the slow first window is the warm-up
    assert (v["p99_worst_window_ms"], v["worst_window_start_s"]) == (120, 30)


def test_each_criterion_fails_on_its_own() -> None:
    steady = windows(_calls([[100] * 10] * 4), [], window=10, duration=40)
    flat = rss_trend(_samples([300, 300, 300, 300, 300]), warmup=10)
    growing = rss_trend(_samples([300, 300, 310, 320, 340]), warmup=10)
    slower = windows(_calls([[100] * 10] * 3 + [[160] * 10]), [], window=10, duration=40)

    v = verdict(3, steady, flat, warmup=10)
    assert not v["passed"] and not v["zero_errors"] and v["reasons"] == ["3 error(s)"]
    v = verdict(0, steady, growing, warmup=10)
    assert not v["rss_growth_within_10pct"] and v["rss_growth_pct"] == 13.33
    v = verdict(0, slower, flat, warmup=10)
    assert not v["p99_last_within_1_5x_first"] and v["p99_ratio"] == 1.6
    # Too short to judge: one window after the warm-up is not a trend.
    short = windows(_calls([[100] * 10] * 2), [], window=10, duration=20)
    v = verdict(0, short, flat, warmup=10)
    assert not v["passed"] and "fewer than two windows" in v["reasons"][0]
