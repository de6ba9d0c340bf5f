"""`jiesu city …` and `jiesu calendar …`: load the city and its working-day calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from jiesu.city.pack import CityPackError, read_pack
from jiesu.city.service import apply_pack, city_context, counts, save_year
from jiesu.clikit import console, fail, unit_of_work
from jiesu.kit.calendar import CalendarFileError, CalendarRangeError, load_year_file
from jiesu.kit.clock import utcnow

DEMO_PACK = Path(__file__).parent / "packs" / "demo"

app = typer.Typer(help="The city: areas, handling units, categories.", no_args_is_help=True)
calendar_app = typer.Typer(help="The working-day calendar.", no_args_is_help=True)


@app.command("load")
def load(
    folder: Path = typer.Argument(..., help="city pack folder (see docs/city-pack.md)"),
) -> None:
    """Validate a city pack and load it; re-loading updates by code and keeps history."""
    try:
        pack = read_pack(folder)
    except CityPackError as exc:
        fail(exc.message)
    with unit_of_work() as session:
        loaded = apply_pack(session, pack, now=utcnow())
    console.print(
        f"loaded {pack.city['name']}: {loaded['areas']} areas, {loaded['categories']} categories, "
        f"{loaded['units']} units, {loaded['calendar_years']} calendar years "
        f"({loaded['deactivated']} rows no longer in the pack marked inactive)"
    )


@app.command("show")
def show() -> None:
    """Show the loaded city and its counts."""
    with unit_of_work() as session:
        ctx = city_context(session)
        n = counts(session)
    console.print(f"{ctx.name} ({ctx.code}), time zone {ctx.tz.key}")
    for name, value in n.items():
        console.print(f"  {name}: {value}")
    lo, hi = ctx.calendar.known_years()
    console.print(f"  working-day calendar: {lo}–{hi}")


@calendar_app.command("load")
def calendar_load(
    file: Path = typer.Argument(..., help="YAML file of one year's schedule"),
) -> None:
    """Load (or replace) one year of holidays and make-up working days."""
    try:
        spec = load_year_file(file)
    except CalendarFileError as exc:
        fail(str(exc))
    with unit_of_work() as session:
        save_year(session, spec, source=str(file), now=utcnow())
    note = " (provisional)" if spec.provisional else ""
    console.print(
        f"loaded {spec.year}{note}: {len(spec.holidays)} holidays, "
        f"{len(spec.workdays)} make-up working days"
    )


@calendar_app.command("show")
def calendar_show(year: int = typer.Argument(..., help="year to show")) -> None:
    """List the holidays and make-up working days of a year."""
    with unit_of_work() as session:
        cal = city_context(session).calendar
    try:
        spec = cal.year_spec(year)
    except CalendarRangeError as exc:
        fail(str(exc))
    table = Table(title=f"{year}{' (provisional)' if spec.provisional else ''}")
    table.add_column("date")
    table.add_column("kind")
    table.add_column("name")
    days: list[tuple[date, str, str]] = [(d, "holiday", n) for d, n in spec.holidays.items()]
    days += [(d, "make-up working day", n) for d, n in spec.workdays.items()]
    for d, kind, name in sorted(days):
        table.add_row(d.isoformat(), kind, name)
    console.print(table)
