"""`jiesu event`: declare, list, reply to and end events (surge mode), and print a report."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.clikit import console, fail, settings, unit_of_work
from jiesu.kit.clock import utcnow
from jiesu.people.models import User
from jiesu.people.service import Actor
from jiesu.surge.dashboard import dashboard
from jiesu.surge.models import EVENT_KINDS
from jiesu.surge.schemas import EventIn
from jiesu.surge.service import bulk_reply, declare, end_event, get_event, list_events, status_of

app = typer.Typer(help="Events (突发事件, surge mode): declare, list, reply to every caller, end.")
BY = typer.Option(..., "--by", help="the supervisor or administrator who does it (username)")


def _actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        fail(f"--by: no active user {username!r}")
    return Actor.of(user)


def _when(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not an ISO 8601 date and time, e.g. 2026-11-05T08:00")
    return (at if at.tzinfo else at.replace(tzinfo=settings().tz)).isoformat()


def _rules(path: Path | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        fail(f"--rules: cannot read {path}: {exc}")
    if isinstance(data, dict):
        data = data.get("rules", [])
    if not isinstance(data, list):
        fail("--rules: the file must hold a list of rules (or a mapping with rules:)")
    return data


def _split(values: list[str]) -> list[str]:
    return [w.strip() for v in values for w in v.replace("，", ",").split(",") if w.strip()]


@app.command("declare")
def declare_cmd(
    name: str = typer.Option(..., "--name", help="e.g. 2026年11月寒潮"),
    kind: str = typer.Option(..., "--kind", help=", ".join(EVENT_KINDS)),
    area: list[str] = typer.Option([], "--area", help="area code or name (repeat or a,b)"),
    ends: str = typer.Option(..., "--ends", help="ISO 8601; without a zone, city time"),
    starts: str | None = typer.Option(None, "--starts", help="ISO 8601 (default: now)"),
    keyword: list[str] = typer.Option([], "--keyword", help="repeat or a,b"),
    category: list[str] = typer.Option([], "--category", help="code or name (repeat or a,b)"),
    script: str = typer.Option("", "--script", help="what operators tell callers"),
    response_limit: str | None = typer.Option(None, "--response-limit", help="e.g. 2h"),
    handling_limit: str | None = typer.Option(None, "--handling-limit", help="e.g. 24h"),
    rules: Path | None = typer.Option(None, "--rules", help="YAML file of temporary rules"),
    auto_dispatch: bool = typer.Option(True, "--auto-dispatch/--no-auto-dispatch"),
    by: str = BY,
) -> None:
    """Declare an event: a master case per area; matching new requests attach to it."""
    raw = {
        "name": name,
        "kind": kind,
        "areas": _split(area),
        "starts_at": _when(starts, "--starts"),
        "ends_at": _when(ends, "--ends"),
        "keywords": _split(keyword),
        "categories": _split(category),
        "script": script,
        "response_limit": response_limit,
        "handling_limit": handling_limit,
        "rules": _rules(rules),
        "auto_dispatch": auto_dispatch,
    }
    try:
        data = EventIn.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        fail(problems)
    with unit_of_work() as session:
        actor = _actor(session, by)
        event, warnings = declare(
            session, data, actor=actor, now=utcnow(), ctx=city_context(session)
        )
        cases = [(c.area.name, c.request.ticket) for c in event.cases]
        event_id = event.id
    console.print(f"event {event_id} declared: {name}")
    for area_name, ticket in cases:
        console.print(f"  master case {ticket} for {area_name}")
    for w in warnings:
        console.print(f"[yellow]warning:[/] {w}")


@app.command("list")
def list_cmd(
    status: str = typer.Option("all", "--status", help="scheduled | active | ended | all"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Declared events, the latest start first, with their callers so far."""
    if status not in ("scheduled", "active", "ended", "all"):
        fail("--status must be scheduled, active, ended or all")
    now = utcnow()
    with unit_of_work() as session:
        tz = city_context(session).tz
        rows = []
        for e in list_events(session, status=None if status == "all" else status, now=now):
            n = dashboard(session, e, now=now, tz=tz)
            rows.append(
                {
                    "id": e.id,
                    "name": e.name,
                    "kind": e.kind,
                    "status": status_of(e, now),
                    "starts_at": e.starts_at.isoformat(),
                    "ends_at": e.ends_at.isoformat(),
                    "areas": [c.area.code for c in e.cases],
                    "callers": n["callers"],
                    "open": n["open"],
                }
            )
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "name", "kind", "status", "starts", "ends", "areas", "callers", "open")
    tz = settings().tz
    for r in rows:
        span = [datetime.fromisoformat(r[k]).astimezone(tz).strftime("%m-%d %H:%M")
                for k in ("starts_at", "ends_at")]  # fmt: skip
        table.add_row(str(r["id"]), r["name"], r["kind"], r["status"], *span,
                      ",".join(r["areas"]), str(r["callers"]), str(r["open"]))  # fmt: skip
    console.print(table)


@app.command("reply")
def reply_cmd(
    event_id: int = typer.Argument(..., min=1),
    text: str = typer.Option(..., "--text", help="the reply every waiting caller gets"),
    area: str | None = typer.Option(None, "--area", help="only this declared area's callers"),
    by: str = BY,
) -> None:
    """One reply to every caller of the event who still waits for one."""
    with unit_of_work() as session:
        actor = _actor(session, by)
        result = bulk_reply(
            session, get_event(session, event_id), text, actor=actor, now=utcnow(),
            ctx=city_context(session), area=area,
        )  # fmt: skip
    console.print(f"replied to {len(result.replied)} caller(s)")
    for ticket, why in result.skipped:
        console.print(f"  not {ticket}: {why}")


@app.command("end")
def end_cmd(
    event_id: int = typer.Argument(..., min=1),
    note: str = typer.Option("", "--note"),
    by: str = BY,
) -> None:
    """End an event now: the usual rules are back and its report is kept."""
    with unit_of_work() as session:
        actor = _actor(session, by)
        event = end_event(
            session, get_event(session, event_id), actor=actor, now=utcnow(), note=note
        )
        callers = (event.report or {}).get("callers", 0)
    console.print(f"event {event_id} ended; report kept ({callers} caller(s))")


@app.command("report")
def report_cmd(
    event_id: int = typer.Argument(..., min=1),
    html: Path | None = typer.Option(None, "--html", help="also write the HTML report here"),
) -> None:
    """Print the kept report of an ended event as JSON (and write its HTML page)."""
    with unit_of_work() as session:
        event = get_event(session, event_id)
        if event.report is None:
            fail(f"event {event_id} has not ended; its report comes when it ends")
        report, page = event.report, event.report_html or ""
    if html is not None:
        html.write_text(page, encoding="utf-8")
    console.print_json(json.dumps(report, ensure_ascii=False))
