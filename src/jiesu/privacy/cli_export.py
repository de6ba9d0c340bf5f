"""`jiesu export …`: data for publication (docs/open-data.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jiesu.analytics.warehouse import Warehouse
from jiesu.city.service import city_context
from jiesu.clikit import console, err_console, fail, settings, unit_of_work
from jiesu.config import DEV_SECRET
from jiesu.errors import JiesuError
from jiesu.kit.clock import utcnow
from jiesu.privacy.open_data import (
    DEFAULT_MIN_CELL,
    build_open_data,
    check_options,
    make_spec,
    parse_day,
)
from jiesu.privacy.open_files import write_open_data
from jiesu.privacy.open_records import write_records
from jiesu.rates.definitions import load_definitions

app = typer.Typer(help="Data for publication: open data.", no_args_is_help=True)


@app.command("open-data")
def open_data_cmd(
    out: Path = typer.Option(..., "--out", help="folder to write the files into"),
    first: str | None = typer.Option(
        None, "--from", help="first day YYYY-MM-DD (default: the first day with requests)"
    ),
    last: str | None = typer.Option(None, "--to", help="last day YYYY-MM-DD (default: yesterday)"),
    min_cell: int = typer.Option(
        DEFAULT_MIN_CELL, "--min-cell", help="fewest requests a published row may count"
    ),
    level: str = typer.Option("district", "--level", help="place level: district | street"),
    period: str = typer.Option("month", "--period", help="period of a row: month | day"),
    category_level: int = typer.Option(1, "--category-level", help="category level 1, 2 or 3"),
    records: bool = typer.Option(
        False, "--records", help="also write anonymised request records (records.csv)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the metadata as JSON"),
) -> None:
    """Aggregated, anonymised open data: counts, rates and median handling time per period,
    place, category and channel, small cells suppressed; CSV files and metadata.json.

    Refreshes the warehouse first. See docs/open-data.md for what is guaranteed."""
    try:
        check_options(period=period, level=level, category_level=category_level, min_cell=min_cell)
        first_day, last_day = parse_day("from", first), parse_day("to", last)
    except JiesuError as exc:
        fail(exc.message)
    s = settings()
    wh = Warehouse(s.data_dir / "warehouse")
    now = utcnow()
    with unit_of_work(s) as session:
        wh.refresh(session, now=now)
        ctx = city_context(session)
        defs = load_definitions(None, data_dir=s.data_dir)
        with wh.connect() as con:
            spec = make_spec(
                con,
                first=first_day,
                last=last_day,
                today=now.astimezone(ctx.tz).date(),
                period=period,
                level=level,
                category_level=category_level,
                min_cell=min_cell,
            )
            data = build_open_data(con, session, spec, as_of=now, defs=defs)
            out.mkdir(parents=True, exist_ok=True)
            summary = None
            if records:
                summary = write_records(
                    out / "records.csv", con, session, data, secret=s.secret_key, tz=ctx.tz
                )
            meta = write_open_data(
                out, data, city=ctx.name, timezone=str(ctx.tz), generated_at=now, records=summary
            )
    if as_json:
        console.print_json(json.dumps(meta, ensure_ascii=False))
    else:
        sup = meta["suppression"]
        cells = sup["by_table"]["requests"]
        console.print(
            f"open data {spec.first}..{spec.last} by {spec.period}, {spec.level}, category "
            f"level {spec.category_level} → {out}: requests.csv has {cells['rows']} rows, "
            f"{cells['suppressed']} suppressed; in all tables {sup['primary']} rows hidden "
            f"under {spec.min_cell} requests and {sup['complementary']} more so that none "
            "can be worked out from the totals"
        )
        if summary is not None:
            console.print(
                f"records.csv: {summary['rows']} records ({summary['held_back']} held back "
                "with their suppressed cells)"
            )
    for month in spec.partial_periods():
        err_console.print(
            f"note: {month} is covered only in part; published beside a whole {month} it can "
            "be subtracted (use whole months)"
        )
    if data.unaudited_periods:
        err_console.print(
            f"note: {len(data.unaudited_periods)} period(s) hide too many rows for the "
            "whole-number audit (metadata: suppression.unaudited_periods); the other "
            "guarantees hold"
        )
    if data.synthetic:
        err_console.print(f"note: {data.synthetic} of these requests are synthetic (demo) data")
    if records and s.secret_key == DEV_SECRET:
        err_console.print(
            "note: record ids are keyed with the development secret; set JIESU_SECRET_KEY "
            "before publishing records"
        )
