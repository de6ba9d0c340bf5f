"""`jiesu demo`: the demo city with a year of synthetic history, then the server."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.analytics.library import produce_due
from jiesu.analytics.warnings import list_warnings
from jiesu.city.cli import DEMO_PACK
from jiesu.city.models import City, HandlingUnit
from jiesu.city.pack import read_pack
from jiesu.city.service import apply_pack, city_context
from jiesu.clikit import console, err_console, settings, unit_of_work
from jiesu.db.migrate import upgrade
from jiesu.deliberation.demo import seed_consultations
from jiesu.demo.seed import seed_history
from jiesu.intake.open311.keys import create_key
from jiesu.intake.sensors.registry import load_sensor_file
from jiesu.jobs import run_tick
from jiesu.kb.cli import CLI_ACTOR
from jiesu.kb.importer import import_files
from jiesu.kb.models import KbArticle
from jiesu.kit.clock import utcnow
from jiesu.people.models import User
from jiesu.people.service import Actor, create_user
from jiesu.workflow.models import ServiceRequest

DEMO_PASSWORD = "jiesu-demo"


def _demo_users(session: Session) -> list[tuple[str, str, str]]:
    """Sign-in accounts for each desk; handlers for a street office, a bureau and a company."""

    def unit_like(name: str, kind: str) -> HandlingUnit | None:
        return session.scalar(
            select(HandlingUnit).where(HandlingUnit.name.contains(name), HandlingUnit.kind == kind)
        ) or session.scalar(select(HandlingUnit).where(HandlingUnit.kind == kind))

    wanted: list[tuple[str, str, HandlingUnit | None]] = [
        ("admin", "admin", None),
        ("operator", "operator", None),
        ("dispatcher", "dispatcher", None),
        ("supervisor", "supervisor", None),
        ("analyst", "analyst", None),
        ("citizen", "citizen", None),
        ("street", "handler", unit_like("交道口", "street_office")),
        ("bureau", "handler", unit_like("城市管理", "city_bureau")),
        ("water", "handler", unit_like("自来水", "public_service_company")),
    ]
    now, out = utcnow(), []
    for username, role, unit in wanted:
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(
                session,
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                now=now,
                unit=unit.code if unit else None,
            )
        out.append((username, role, unit.name if unit else ""))
    return out


def demo(
    data_dir: Path = typer.Option(
        None, help="data folder (default: $JIESU_DATA_DIR or ./jiesu-data)"
    ),
    requests: int = typer.Option(5000, min=0, help="synthetic historical requests to seed"),
    seed: int = typer.Option(12345, help="random seed of the synthetic history"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="start the server afterwards"),
    host: str = typer.Option("127.0.0.1", help="address to serve on"),
    port: int = typer.Option(8000, help="port to serve on"),
) -> None:
    """Create the demo city (Beijing-like) with a year of SYNTHETIC history, then serve it."""
    if data_dir is not None:
        os.environ["JIESU_DATA_DIR"] = str(data_dir)
    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"data: {s.data_dir.resolve()}  database: {s.db_url.split('://')[0]}")
    upgrade(s.db_url)
    with unit_of_work(s) as session:
        if session.scalar(select(City)) is None:
            apply_pack(session, read_pack(DEMO_PACK), now=utcnow())
            console.print("loaded the demo city pack")
        load_sensor_file(session, DEMO_PACK / "sensors.yaml", now=utcnow())
        logins = _demo_users(session)
        # Keys are stored hashed, so each demo run issues a fresh one it can show.
        _, open311_key = create_key(session, f"demo-{utcnow():%Y%m%d%H%M%S%f}", now=utcnow())
    with unit_of_work(s) as session:
        existing = session.scalar(select(func.count(ServiceRequest.id))) or 0
        if existing:
            console.print(f"{existing} requests already here; not seeding again")
        elif requests:
            _seed(session, requests, seed)
        run_tick(session, now=utcnow())
        _knowledge(session)
    with unit_of_work(s) as session:
        # The analysis desks open on data: warehouse, early warnings and the due reports.
        made = produce_due(session, s.data_dir, now=utcnow())
        open_warnings = len(list_warnings(session))
        consultations = seed_consultations(session, now=utcnow(), secret=s.secret_key)
    console.print(
        f"analysis: {open_warnings} open early warning(s); reports written: "
        + (", ".join(f"{p.kind} {p.label}" for p in made) or "none due")
    )
    if consultations:
        console.print(
            "deliberation: consultations "
            + ", ".join(f"#{c.id} {c.title}" for c in consultations)
            + f" at http://{host}:{port}/consult"
        )
    _print_logins(logins, host, port)
    console.print(
        f"Open311 GeoReport v2: http://{host}:{port}/open311/v2/discovery.json  "
        f"api_key={open311_key}"
    )
    if serve:
        from jiesu.cli import run_server

        run_server(s, host, port)


def _knowledge(session: Session) -> None:
    """The demo's policy articles (the pack's knowledge/ folder), imported once."""
    if session.scalar(select(func.count(KbArticle.id))):
        return
    now = utcnow()
    today = now.astimezone(city_context(session).tz).date()
    results = import_files(
        session, [DEMO_PACK / "knowledge"], actor=CLI_ACTOR, now=now, today=today
    )
    ok = sum(r.outcome == "created" for r in results)
    console.print(f"imported {ok} knowledge articles")


def _seed(session: Session, n: int, seed: int) -> None:
    ctx = city_context(session)
    desk = {
        role: Actor.of(session.scalars(select(User).where(User.username == role)).one())
        for role in ("operator", "dispatcher", "supervisor")
    }
    columns = (
        TextColumn("seeding synthetic history"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console) as bar:
        task = bar.add_task("seed", total=n)
        stats = seed_history(
            session,
            ctx,
            n=n,
            now=utcnow(),
            desk=desk,
            seed=seed,
            progress=lambda done: bar.update(task, completed=done),
        )
    by_status = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_status.items()))
    console.print(
        f"seeded {stats.requests} synthetic requests, {stats.events} events ({by_status})"
    )


def _print_logins(logins: list[tuple[str, str, str]], host: str, port: int) -> None:
    from jiesu.web.session import HOME

    base = f"http://{host}:{port}"
    table = Table(title=f"demo sign-ins at {base}/login (password for all: {DEMO_PASSWORD})")
    for col in ("username", "role", "unit", "desk"):
        table.add_column(col)
    for username, role, unit in logins:
        table.add_row(username, role, unit, base + HOME.get(role, "/"))
    console.print(table)
    console.print(
        f"Web: {base}/  (citizens: report, /track, /stats; staff: /login)\n"
        f"API docs: {base}/docs   API: {base}/api/v1\n"
        "All requests, people and phone numbers in the demo are synthetic."
    )
