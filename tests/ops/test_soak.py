"""`jiesu bench soak`, bounded: the real server on a scratch installation under a low, steady
mixed load for 20 seconds, on SQLite and PostgreSQL.

What is asserted is what must hold on any machine: no error of any kind, every call sent on
schedule, every submission stored with an intact audit chain, the scratch database gone
afterwards, and a verdict worked out from the run's own windows and samples. Whether memory and
latency stayed flat is the benchmark's verdict (docs/reliability.md), not an assertion here: a
20-second run on a shared machine says little about either.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.db.engine import make_engine
from jiesu.ops.soak.load import READS

SECONDS, RATE, WINDOW, WARMUP, HISTORY = 20, 10, 5, 5, 40


def _soak(*extra: str) -> tuple[int, dict[str, Any]]:
    args = ["bench", "soak", "--minutes", str(SECONDS / 60), "--rate", str(RATE),
            "--window", str(WINDOW), "--warmup", str(WARMUP), "--history", str(HISTORY),
            "--read-share", "0.6", "--json", *extra]  # fmt: skip
    # A loop of its own in a thread of its own: the browser tests leave one running in this one.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(CliRunner().invoke, app, args).result()
    assert result.exit_code in (0, 1), result.output[-3000:]
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def _pg_server() -> str:
    url = os.environ.get("JIESU_TEST_PG_URL", "")
    if not url:
        if os.environ.get("JIESU_REQUIRE_PG") == "1":
            pytest.fail("JIESU_REQUIRE_PG=1 but JIESU_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL tests need JIESU_TEST_PG_URL")
    return url


def _scratch_databases() -> set[str]:
    engine = make_engine(_pg_server())
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                {"p": f"jiesu_soak_{os.getpid()}_%"},
            )
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def _check(code: int, r: dict[str, Any]) -> None:
    calls = r["calls"]
    # Open loop: exactly rate × seconds calls were due and sent, none skipped.
    assert calls["total"] == RATE * SECONDS == sum(calls["by_kind"].values())
    assert r["rate"]["sent_per_s"] == RATE
    assert r["errors"] == {"total": 0, "by_kind": {}, "examples": []}, r["errors"]
    assert r["rate"]["answered_per_s"] == RATE
    kinds = set(calls["by_kind"])
    assert {"submit", "list", "detail", "track_page"} <= kinds, kinds
    assert kinds & {"dispatch", "accept", "reply"}, "no desk step was taken"
    reads = sum(n for k, n in calls["by_kind"].items() if k in READS)
    assert r["read_share"]["done"] == round(reads / calls["total"], 3)

    # Every submission answered 201 is in the database, and the chain over all of it holds.
    assert r["audit"]["exit_code"] == 0, r["audit"]
    m = re.search(r"audit chain intact: (\d+) requests", r["audit"]["output"])
    assert m, r["audit"]["output"]
    submitted = calls["by_kind"].get("submit", 0) + calls["by_kind"].get("submit_public", 0)
    assert int(m.group(1)) == r["seeded"]["requests"] + submitted
    assert r["seeded"]["requests"] >= HISTORY
    assert r["server"]["exit_code_after_sigterm"] == 0

    # The windows are the calls, sampled: every call in one window, memory read from the
    # server process every window.
    rows = r["windows"]
    assert [(w["start_s"], w["end_s"]) for w in rows] == [
        (float(s), float(s + WINDOW)) for s in range(0, SECONDS, WINDOW)
    ]
    assert sum(w["calls"] for w in rows) == calls["total"]
    assert all(w["errors"] == 0 and w["p99"] is not None for w in rows)
    assert all(w["p50"] <= w["p95"] <= w["p99"] <= w["max"] for w in rows)
    assert all(w["rss_mb"] > 50 for w in rows)  # a Python server with the city loaded

    # The verdict is worked out from those windows and samples.
    v, rss = r["verdict"], r["rss_mb"]
    steady = [w for w in rows if w["start_s"] >= WARMUP]
    assert v["windows_after_warmup"] == len(steady) == 3
    assert v["p99_first_window_ms"] == steady[0]["p99"]
    assert v["p99_last_window_ms"] == steady[-1]["p99"]
    assert v["p99_ratio"] == round(steady[-1]["p99"] / steady[0]["p99"], 2)
    assert v["p99_last_within_1_5x_first"] == (v["p99_ratio"] <= 1.5)
    assert v["p99_worst_window_ms"] == max(w["p99"] for w in steady)
    assert rss["last"] == rows[-1]["rss_mb"]
    assert rss["max"] >= max(rss["first"], rss["last"], rss["at_warmup"])
    growth = (rss["last"] - rss["at_warmup"]) / rss["at_warmup"] * 100
    assert v["rss_growth_pct"] == pytest.approx(growth, abs=0.1)
    assert v["rss_growth_within_10pct"] == (v["rss_growth_pct"] <= 10)
    assert rss["slope_mb_per_min"] is not None
    # Linux splits the resident memory by kind; the parts add up to the whole.
    parts = rss["parts"]
    assert set(parts) == {"anon", "file", "shmem"}
    assert sum(p["last"] for p in parts.values()) == pytest.approx(rss["last"], abs=0.5)
    assert v["zero_errors"] and v["audit_verified"]
    assert v["passed"] == (v["rss_growth_within_10pct"] and v["p99_last_within_1_5x_first"])
    assert code == (0 if v["passed"] else 1)


def test_soak_on_sqlite_answers_every_call_and_keeps_the_chain() -> None:
    code, r = _soak()
    assert r["database"] == "sqlite"
    _check(code, r)


@pytest.mark.pg
def test_soak_on_postgresql_in_a_scratch_database_of_its_own() -> None:
    before = _scratch_databases()
    code, r = _soak("--db-url", _pg_server())
    assert r["database"] == "postgresql"
    _check(code, r)
    assert r["server"]["database_mb"] > 1
    assert _scratch_databases() == before  # dropped afterwards


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--db-url", "sqlite:///elsewhere.db"], "--db-url"),
        (["--read-share", "1.5"], "--read-share"),
        (["--rate", "0"], "--rate"),
        (["--minutes", "1", "--warmup", "60"], "--warmup"),
    ],
)
def test_bad_options_are_refused_naming_them(args: list[str], named: str) -> None:
    result = CliRunner().invoke(app, ["bench", "soak", *args])
    assert result.exit_code == 1
    assert named in result.output
