"""`jiesu analytics`: the warehouse (refresh, status) and the analyses built on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import typer
from duckdb import DuckDBPyConnection
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from jiesu.analytics.cli_forecast import backtest_cmd
from jiesu.analytics.cli_hotspots import hotspots_cmd
from jiesu.analytics.health import INDICATORS, health_check
from jiesu.analytics.periods import report_period
from jiesu.analytics.topics import candidates
from jiesu.analytics.warehouse import Warehouse
from jiesu.analytics.warnings import list_warnings, scan
from jiesu.city.service import city_context
from jiesu.clikit import console, err_console, fail, settings, unit_of_work
from jiesu.errors import JiesuError
from jiesu.kit.clock import utcnow

T = TypeVar("T")

app = typer.Typer(
    help="The warehouse (Parquet + DuckDB) and the analyses over it.", no_args_is_help=True
)
app.command("backtest")(backtest_cmd)
app.command("hotspots")(hotspots_cmd)


def warehouse_of_settings() -> Warehouse:
    return Warehouse(settings().data_dir / "warehouse")


@app.command("refresh")
def refresh(
    full: bool = typer.Option(False, "--full", help="rebuild every month, not only changes"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Copy requests and events changed since the last refresh into the warehouse.

    Safe to interrupt and run again; a missing or damaged month is rebuilt."""
    s = settings()
    wh = Warehouse(s.data_dir / "warehouse")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} rows"),
        TimeElapsedColumn(),
    )
    with (
        unit_of_work(s) as session,
        Progress(*columns, console=err_console, disable=as_json) as bar,
    ):
        tasks: dict[str, TaskID] = {}

        def tick(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(f"copying {table}", total=total)
            bar.update(tasks[table], completed=done, total=total)

        result = wh.refresh(session, now=utcnow(), full=full, progress=tick)
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
        return
    how = "full rebuild" if result.full else "incremental"
    console.print(
        f"warehouse {wh.root}: {how}, {result.requests:,} requests and {result.events:,} "
        f"events copied into {len(result.months)} month file(s) in {result.elapsed_s:.1f} s"
    )
    if result.rebuilt:
        console.print(
            f"rebuilt from the database (missing or unreadable): {', '.join(result.rebuilt)}"
        )


@app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """When the warehouse was last refreshed and how many rows each month holds."""
    wh = warehouse_of_settings()
    state = wh.state()
    out = {
        "root": str(wh.root),
        "refreshed_at": state.get("refreshed_at"),
        "rows": state.get("rows", {}),
    }
    if as_json:
        console.print_json(json.dumps(out))
        return
    if not state:
        console.print(f"warehouse {wh.root}: never refreshed; run `jiesu analytics refresh`")
        return
    console.print(f"warehouse {wh.root}: refreshed {out['refreshed_at']}")
    for table, months in out["rows"].items():
        total = sum(v for v in months.values() if v > 0)
        console.print(f"  {table}: {total:,} rows in {len(months)} month(s)")


@app.command("warnings")
def warnings_cmd(
    scan_now: bool = typer.Option(True, "--scan/--no-scan", help="look for new warnings first"),
    floor: int = typer.Option(5, "--floor", min=1, help="fewest requests that may raise an alert"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Early warnings (未诉先办): surges and recurring problems, open ones listed."""
    s = settings()
    wh = Warehouse(s.data_dir / "warehouse")
    now = utcnow()
    with unit_of_work(s) as session:
        summary = None
        if scan_now:
            wh.refresh(session, now=now)
            with wh.connect() as con:
                summary = scan(session, con, now=now, floor=floor).as_dict()
        rows = [
            {
                "id": w.id,
                "kind": w.kind,
                "category": w.category.name if w.category else None,
                "area": w.area.name if w.area else "全市",
                "first_day": w.first_day.isoformat(),
                "last_day": w.last_day.isoformat(),
                "observed": w.observed,
                "expected": w.expected,
                "reason": w.reason_en,
            }
            for w in list_warnings(session)
        ]
    if as_json:
        console.print_json(json.dumps({"scan": summary, "open": rows}, ensure_ascii=False))
        return
    if summary:
        console.print(
            f"judged {summary['judged_day']}: {summary['series_forecast']} series forecast, "
            f"{summary['created']} new warning(s), {summary['updated']} updated"
        )
    for r in rows:
        console.print(f"#{r['id']} {r['kind']:19} {r['area']} · {r['category']}: {r['reason']}")
    if not rows:
        console.print("no open early warning")


def _ask_month(month: str | None, ask: Callable[[DuckDBPyConnection, str], T]) -> tuple[str, T]:
    """Refresh the warehouse, then ask it about ``month`` (default: the last complete one, as
    the monthly report takes it); a refused question is a clear message and exit code 1."""
    s = settings()
    wh = Warehouse(s.data_dir / "warehouse")
    now = utcnow()
    with unit_of_work(s) as session:
        wh.refresh(session, now=now)
        today = now.astimezone(city_context(session).tz).date()
        chosen = month or report_period("monthly", None, today=today).label
        try:
            with wh.connect() as con:
                return chosen, ask(con, chosen)
        except JiesuError as exc:
            fail(exc.message)


@app.command("topics")
def topics_cmd(
    month: str | None = typer.Option(None, "--month", help="YYYY-MM (default: last month)"),
    top: int = typer.Option(10, "--top", min=1, max=100),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Monthly topic (每月一题) candidates with the parts of their score."""
    chosen, found = _ask_month(month, lambda con, m: candidates(con, m, top))
    if as_json:
        doc = {"month": chosen, "candidates": [c.as_dict() for c in found]}
        console.print_json(json.dumps(doc, ensure_ascii=False))
        return
    console.print(f"monthly topic candidates for {chosen}:")
    for i, c in enumerate(found, 1):
        parts = ", ".join(f"{k} {v:.2f}" for k, v in c.components.items())
        console.print(f"{i:2}. {c.score:5.1f}  {c.name}  ({c.n} requests; {parts})")
    if not found:
        console.print("not enough requests that month to form a candidate")


@app.command("health")
def health_cmd(
    month: str | None = typer.Option(None, "--month", help="YYYY-MM (default: last month)"),
    level: str = typer.Option("district", "--level", help="district | street | community | grid"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """City health check (城市体检): indicators per area with change and rank (1 = worst)."""
    chosen, areas = _ask_month(month, lambda con, m: health_check(con, m, level=level))
    if as_json:
        doc = {"month": chosen, "level": level, "areas": [a.as_dict() for a in areas]}
        console.print_json(json.dumps(doc, ensure_ascii=False))
        return
    console.print(f"city health check {chosen}, by {level} (rank 1 = worst):")
    for a in areas:
        parts = ", ".join(
            f"{k} {a.values[k]:.3g} (#{a.ranks[k]})" for k in INDICATORS if a.values[k] is not None
        )
        console.print(f"  {a.name}: {parts}")
    if not areas:
        console.print("no request that month")
