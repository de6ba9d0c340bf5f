"""`jiesu report daily|weekly|monthly|due`: the bulletin, the summary or the analysis as files."""

from __future__ import annotations

from pathlib import Path

import typer

from jiesu.analytics.library import folder, produce, produce_due
from jiesu.analytics.periods import KINDS, report_period
from jiesu.analytics.report_files import write_report
from jiesu.city.service import city_context
from jiesu.clikit import console, fail, settings, unit_of_work
from jiesu.errors import JiesuError
from jiesu.kit.clock import utcnow


def report_cmd(
    kind: str = typer.Argument(
        ..., help=f"one of {', '.join(KINDS)}, or due (every due report not yet written)"
    ),
    day: str | None = typer.Option(
        None, "--date", help="daily: the day; weekly: a day of the week (default: last full one)"
    ),
    month: str | None = typer.Option(None, "--month", help="monthly: YYYY-MM (default: last)"),
    out: Path | None = typer.Option(
        None, "--out", help="folder for report.html/.json and CSVs (default: <data>/reports/…)"
    ),
    refresh: bool = typer.Option(
        True, "--refresh/--no-refresh", help="bring the warehouse up to date first"
    ),
    area: str | None = typer.Option(
        None, "--area", help="a district's or street's own report (code or name); default: city"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the report's numbers as JSON"),
) -> None:
    """Write a daily bulletin (日通报), weekly summary (周汇总) or monthly analysis (月分析)."""
    s = settings()
    now = utcnow()
    if kind == "due":
        if area is not None:
            fail("--area: the due reports are the city's; name a kind for an area's report")
        with unit_of_work(s) as session:
            made = produce_due(session, s.data_dir, now=now)
        for p in made:
            console.print(f"wrote {p.kind} {p.label}: {folder(s.data_dir, p)}")
        if not made:
            console.print("every due report is already written")
        return
    if kind == "monthly" and day and not month:
        month = day
    elif kind != "monthly" and month:
        fail("--month is for the monthly report; use --date for daily and weekly")
    with unit_of_work(s) as session:
        tz = city_context(session).tz
        try:
            value = month if kind == "monthly" else day
            period = report_period(kind, value, today=now.astimezone(tz).date())
        except JiesuError as exc:
            fail(exc.message)
        try:
            report = produce(session, s.data_dir, period, now=now, refresh=refresh, area=area)
        except JiesuError as exc:
            fail(exc.message)
    target = folder(s.data_dir, period, report.area["code"] if report.area else None)
    if out is not None:
        write_report(report, out)
        target = out
    if as_json:
        console.print_json((target / "report.json").read_text(encoding="utf-8"))
        return
    where = f" for {report.area['name']}" if report.area else ""
    console.print(
        f"{report.title_en}{where} {report.label}: {report.total:,} requests "
        f"(previous {report.previous_total:,}); written to {target}"
    )
    console.print(f"open {target / 'report.html'}")
