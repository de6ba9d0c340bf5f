"""`jiesu bench analytics`: a synthetic warehouse of N requests, and the time the reports'
queries take over it.

The warehouse is generated in a child process, so the peak memory reported is what the
queries needed, not what generating the data did. The rates section of a report runs on the
operational database and is not part of this measure (see docs/benchmarks.md).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer

from jiesu.analytics.periods import ReportPeriod, report_period
from jiesu.analytics.report import warehouse_sections
from jiesu.analytics.synth import write_synthetic
from jiesu.analytics.warehouse import Warehouse
from jiesu.clikit import console, err_console, fail

TZ = ZoneInfo("Asia/Shanghai")
LAST_MONTH = date(2026, 11, 1)


def _generate(root: str, rows: int, months: int, seed: int) -> None:
    def tick(done: int, total: int) -> None:
        err_console.print(f"generating: {done:,}/{total:,} requests", end="\r")

    write_synthetic(Warehouse(Path(root)), rows, last_month=LAST_MONTH, months=months, seed=seed,
                    progress=tick)  # fmt: skip
    err_console.print()


def _timed(wh: Warehouse, period: ReportPeriod) -> tuple[float, int]:
    started = time.perf_counter()
    with wh.connect() as con:
        con.execute("SET threads = ?", [os.cpu_count() or 1])
        data = warehouse_sections(con, period, TZ)
    return time.perf_counter() - started, int(data["total"])


def _heat_year(wh: Warehouse) -> float:
    """The heat map's heaviest question: a year of counts per street × first-level category."""
    started = time.perf_counter()
    with wh.connect() as con:
        con.execute(
            "SELECT street_id, cat1_id, date_trunc('month', day) m, count(*) FROM requests "
            "WHERE day >= DATE '2025-12-01' GROUP BY ALL"
        ).fetchall()
    return time.perf_counter() - started


def bench_analytics(
    rows: int = typer.Option(1_000_000, "--rows", min=1_000, help="synthetic requests"),
    months: int = typer.Option(48, "--months", min=2, max=240, help="months they span"),
    seed: int = typer.Option(12345, "--seed"),
    keep: Path | None = typer.Option(None, "--keep", help="write the warehouse here and keep it"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Time the monthly, weekly and daily reports' queries over N synthetic requests."""
    if keep is not None and keep.exists() and any(keep.iterdir()):
        fail(f"--keep: {keep} is not empty; give an empty or new folder")
    root = keep or Path(tempfile.mkdtemp(prefix="jiesu-bench-wh-"))
    try:
        started = time.perf_counter()
        child = multiprocessing.get_context("fork").Process(
            target=_generate, args=(str(root), rows, months, seed)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            fail(f"generating the synthetic warehouse failed (exit {child.exitcode})")
        generate_s = time.perf_counter() - started
        wh = Warehouse(root)
        today = date(2026, 12, 2)
        monthly = report_period("monthly", "2026-11", today=today)
        weekly = report_period("weekly", "2026-11-25", today=today)
        daily = report_period("daily", "2026-11-25", today=today)
        _timed(wh, monthly)  # the first query reads file footers: measured apart
        monthly_s, monthly_n = _timed(wh, monthly)
        weekly_s, _ = _timed(wh, weekly)
        daily_s, _ = _timed(wh, daily)
        result: dict[str, Any] = {
            "bench": "analytics",
            "rows": rows,
            "months": months,
            "generate_s": round(generate_s, 2),
            "disk_mb": round(sum(f.stat().st_size for f in root.rglob("*.parquet")) / 2**20, 1),
            "monthly_report_s": round(monthly_s, 3),
            "monthly_rows": monthly_n,
            "weekly_report_s": round(weekly_s, 3),
            "daily_report_s": round(daily_s, 3),
            "heat_year_s": round(_heat_year(wh), 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        }
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        if key != "machine":
            console.print(f"{key:18} {value}")
