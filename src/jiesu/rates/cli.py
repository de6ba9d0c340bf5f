"""`jiesu rates`: the three rates and on-time statistics; `ranking`, `export`, `ontime-check`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.clikit import console, fail, settings, unit_of_work
from jiesu.errors import BadInput, JiesuError
from jiesu.intake.importer.mapping import load_mapping
from jiesu.kit.clock import utcnow
from jiesu.rates.check import compare
from jiesu.rates.compute import rates_report
from jiesu.rates.definitions import Definitions, load_definitions
from jiesu.rates.export import check_format, check_what, export, filename
from jiesu.rates.query import Query, build_query, check_kind
from jiesu.rates.rankings import DEFAULT_DRAGS, DEFAULT_FOCUS, DEFAULT_KIND, ranking
from jiesu.rates.schemas import Ranking, RatesReport

app = typer.Typer(
    help="The three rates (响应率/解决率/满意率), composite score, on-time statistics, rankings.",
    invoke_without_command=True,
    no_args_is_help=False,
)

BY = typer.Option("unit", "--by", help="unit | department (= unit) | area | category")
PERIOD = typer.Option(
    None,
    "--period",
    "-p",
    help="2015, 2015-Q1, 2015-03 or 2015-03-01..2015-03-31 (default: last month)",
)
LEVEL = typer.Option(None, "--level", help="area level (default street) or category level 1-3")
KIND = typer.Option(None, "--kind", help="only units of this kind (street_office, city_bureau, …)")
UNIT = typer.Option(None, "--unit", help="only this unit's requests (code or exact name)")
AREA = typer.Option(None, "--area", help="only requests in this area (code or exact name)")
CATEGORY = typer.Option(None, "--category", help="only requests in this category")
AS_OF = typer.Option(None, "--as-of", help="judge open requests at this time (default: now)")
DEFS = typer.Option(
    None, "--definitions", help="rate definitions YAML (default: <data>/rates.yaml)"
)
SYNTHETIC = typer.Option(
    None, "--synthetic/--no-synthetic", help="count demo (synthetic) requests (default: as defined)"
)
JSON = typer.Option(False, "--json", help="print JSON")


def parse_as_of(session: Session, value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput("as_of", f"{value!r} is not a date or time (YYYY-MM-DD[THH:MM])") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=city_context(session).tz)


def _defs(definitions: Path | None, synthetic: bool | None) -> Definitions:
    d = load_definitions(definitions, data_dir=settings().data_dir)
    return d if synthetic is None else replace(d, include_synthetic=synthetic)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def print_report(report: RatesReport) -> None:
    t = Table(title=f"rates by {report.by}, {report.period.label}", show_lines=False)
    for col in (
        "code",
        "name",
        "assessed",
        "response",
        "resolution",
        "satisfaction",
        "score",
        "received",
        "on time",
    ):
        t.add_column(
            col, justify="left" if col in ("code", "name") else "right", no_wrap=col == "code"
        )
    for row in [*report.rows, report.total]:
        ot = row.ontime
        t.add_row(
            row.code,
            row.name,
            str(row.counts["assessed"]),
            _pct(row.rates.response),
            _pct(row.rates.resolution),
            _pct(row.rates.satisfaction),
            _score(row.rates.score),
            str(ot.n) if ot else "",
            _pct(ot.share) if ot else "",
        )
    console.print(t)


def print_ranking(r: Ranking) -> None:
    t = Table(title=f"ranking of {r.kind}, {r.period.label} (previous {r.previous_period.label})")
    for col in (
        "rank",
        "Δ",
        "code",
        "name",
        "score",
        "Δ score",
        "answers",
        "worst drag",
        "signals",
    ):
        t.add_column(col, no_wrap=col in ("code", "name"), overflow="ellipsis")
    ranked = [u for u in r.units if u.rank is not None]
    for u in ranked:
        drag = u.drags[0] if u.drags else None
        t.add_row(
            str(u.rank),
            f"{u.rank_change:+d}" if u.rank_change is not None else "",
            u.code,
            u.name,
            _score(u.rates.score),
            f"{u.score_change:+.1f}" if u.score_change is not None else "",
            str(u.counts["called_back"]),
            f"{drag.name} {drag.points:+.1f}" if drag else "",
            ", ".join(s.code for s in u.signals),
        )
    console.print(t)
    unranked = len(r.units) - len(ranked)
    if unranked:
        console.print(
            f"{unranked} of {len(r.units)} units not ranked: fewer than "
            f"{r.definitions['min_answers']} call-back answers, or no score (--json for why)"
        )
    if r.focus_areas:
        focus = ", ".join(f"{a.name} {_score(a.rates.score)}" for a in r.focus_areas)
        console.print(f"focus areas: {focus}")


def _dump(doc: Any) -> None:
    console.print_json(json.dumps(doc.model_dump(mode="json"), ensure_ascii=False))


def _query(s: Session, **kw: Any) -> Query:
    as_of = parse_as_of(s, kw.pop("as_of"))
    return build_query(s, as_of=as_of, **kw)


@app.callback()
def rates(
    ctx: typer.Context,
    by: str = BY,
    period: str | None = PERIOD,
    level: str | None = LEVEL,
    kind: str | None = KIND,
    unit: str | None = UNIT,
    area: str | None = AREA,
    category: str | None = CATEGORY,
    as_of: str | None = AS_OF,
    definitions: Path | None = DEFS,
    synthetic: bool | None = SYNTHETIC,
    as_json: bool = JSON,
) -> None:
    """Rates and on-time statistics per unit, department, area or category for a period."""
    if ctx.invoked_subcommand is not None:
        return
    with unit_of_work() as s:
        q = _query(
            s,
            period=period,
            by=by,
            level=level,
            kind=kind,
            unit=unit,
            area=area,
            category=category,
            as_of=as_of,
            defs=_defs(definitions, synthetic),
        )
        report = rates_report(s, q)
    if as_json:
        _dump(report)
    else:
        print_report(report)


@app.command("ranking")
def ranking_cmd(
    kind: str = typer.Option(DEFAULT_KIND, "--kind", help="which units to rank"),
    period: str | None = PERIOD,
    focus: int = typer.Option(DEFAULT_FOCUS, "--focus", min=0, help="worst N areas to list"),
    drags: int = typer.Option(DEFAULT_DRAGS, "--drags", min=0, help="categories per unit"),
    as_of: str | None = AS_OF,
    definitions: Path | None = DEFS,
    synthetic: bool | None = SYNTHETIC,
    as_json: bool = JSON,
) -> None:
    """Rank units of one kind: score, change, dragging categories, focus areas, signals."""
    with unit_of_work() as s:
        q = _query(
            s, period=period, kind=check_kind(kind), as_of=as_of, defs=_defs(definitions, synthetic)
        )
        result = ranking(s, q, kind=kind, focus=focus, drag_count=drags)
    if as_json:
        _dump(result)
    else:
        print_ranking(result)


@app.command("export")
def export_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="file to write (.csv or .xlsx)"),
    what: str = typer.Option("rates", "--what", help="rates | ontime | ranking"),
    by: str = BY,
    period: str | None = PERIOD,
    level: str | None = LEVEL,
    kind: str | None = KIND,
    unit: str | None = UNIT,
    area: str | None = AREA,
    category: str | None = CATEGORY,
    as_of: str | None = AS_OF,
    definitions: Path | None = DEFS,
    synthetic: bool | None = SYNTHETIC,
) -> None:
    """Write rates, on-time statistics or a ranking as CSV or XLSX (by the file's suffix)."""
    try:
        fmt = check_format(out.suffix.lstrip(".").lower())
        check_what(what)
    except JiesuError as exc:
        fail(exc.message)
    with unit_of_work() as s:
        defs = _defs(definitions, synthetic)
        doc: RatesReport | Ranking
        if what == "ranking":
            q = _query(
                s, period=period, kind=check_kind(kind or DEFAULT_KIND), as_of=as_of, defs=defs
            )
            doc = ranking(s, q, kind=kind or DEFAULT_KIND)
        else:
            q = _query(
                s,
                period=period,
                by=by,
                level=level,
                kind=kind,
                unit=unit,
                area=area,
                category=category,
                as_of=as_of,
                defs=defs,
            )
            doc = rates_report(s, q, with_ontime=True)
    out.write_bytes(export(doc, what, fmt))
    console.print(f"wrote {out} ({filename(what, doc.period.label, fmt)})")


@app.command("ontime-check")
def ontime_check(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="the source export"),
    mapping: str = typer.Option(..., "--mapping", "-m", help="the mapping it was imported with"),
    column: str = typer.Option("OnTime_Status", "--label-col", help="the file's on-time column"),
    on_time: str = typer.Option("ONTIME", "--on-time", help="value meaning on time"),
    late: str = typer.Option("OVERDUE", "--late", help="value meaning overdue"),
    period: str | None = PERIOD,
    as_of: str | None = AS_OF,
    tolerance: float = typer.Option(0.5, "--tolerance", help="percentage points allowed"),
    as_json: bool = JSON,
) -> None:
    """Compare Jiesu's on-time share per unit with the file's own labels (exit 1 if off)."""
    try:
        m = load_mapping(mapping)
    except JiesuError as exc:
        fail(exc.message)
    with unit_of_work() as s:
        q = _query(s, period=period, by="unit", as_of=as_of, defs=_defs(None, None))
        result = compare(
            s, file, m, q, column=column, on_time=on_time, late=late, tolerance_pp=tolerance
        )
    if as_json:
        _dump(result)
    else:
        t = Table(title=f"on-time share: file vs Jiesu, {result.period}")
        for col in ("unit", "code", "file n", "file", "Jiesu n", "Jiesu", "Δ pp"):
            t.add_column(col)
        for r in result.rows:
            t.add_row(
                r.source_unit,
                r.code or "—",
                str(r.file_labelled),
                _pct(r.file_share),
                str(r.jiesu_n),
                _pct(r.jiesu_share),
                "" if r.difference_pp is None else f"{r.difference_pp:+.2f}",
            )
        console.print(t)
        console.print(f"max |Δ| = {result.max_abs_difference_pp} pp (tolerance {tolerance})")
    if not result.within_tolerance:
        raise typer.Exit(1)
