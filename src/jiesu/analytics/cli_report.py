"""`jiesu report daily|weekly|monthly`: the bulletin, the summary or the analysis as files."""

from __future__ import annotations

from pathlib import Path

import typer

from jiesu.analytics.periods import KINDS, report_period
from jiesu.analytics.report import build_report
from jiesu.analytics.report_files import write_report
from jiesu.analytics.warehouse import Warehouse
from jiesu.city.service import city_context
from jiesu.clikit import console, fail, settings, unit_of_work
from jiesu.errors import JiesuError
from jiesu.kit.clock import utcnow


def report_cmd(
    kind: str = typer.Argument(..., help=f"one of {', '.join(KINDS)}"),
    day: str | None = typer.Option(
        None,
        "--date",
        help="daily: the day; weekly: a day of the week (default: the last full one)",
    ),
    month: str | None = typer.Option(
        None, "--month", help="monthly: YYYY-MM (default: last month)"
    ),
    out: Path = typer.Option(..., "--out", help="folder to write report.html, report.json, CSVs"),
    refresh: bool = typer.Option(
        True, "--refresh/--no-refresh", help="bring the warehouse up to date first"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the report's numbers as JSON"),
) -> None:
    """Write a daily bulletin (日通报), weekly summary (周汇总) or monthly analysis (月分析)."""
    s = settings()
    if kind == "monthly" and day and not month:
        month = day
    elif kind != "monthly" and month:
        fail("--month is for the monthly report; use --date for daily and weekly")
    wh = Warehouse(s.data_dir / "warehouse")
    now = utcnow()
    with unit_of_work(s) as session:
        tz = city_context(session).tz
        try:
            period = report_period(
                kind, month if kind == "monthly" else day, today=now.astimezone(tz).date()
            )
        except JiesuError as exc:
            fail(exc.message)
        if refresh:
            wh.refresh(session, now=now)
        with wh.connect() as con:
            report = build_report(
                session, con, period, tz=tz, now=now, refreshed_at=wh.state().get("refreshed_at")
            )
    written = write_report(report, out)
    if as_json:
        console.print_json((out / "report.json").read_text(encoding="utf-8"))
        return
    console.print(
        f"{report.title_en} {report.label}: {report.total:,} requests "
        f"(previous {report.previous_total:,}); wrote {len(written)} files to {out}"
    )
    console.print(f"open {out / 'report.html'}")
