"""`jiesu sensors …`: load rules and sensors, listen to the broker, review refused messages."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.clikit import console, fail, settings, unit_of_work
from jiesu.config import Settings
from jiesu.intake.models import Sensor, SensorRule
from jiesu.intake.sensors import repository as repo
from jiesu.intake.sensors.broker import (
    DEFAULT_BROKER_URL,
    DEFAULT_TOPIC,
    alarm_topic,
    parse_broker_url,
    publish,
)
from jiesu.intake.sensors.listener import (
    DEFAULT_CLIENT_ID,
    Handled,
    ListenerStats,
    run_listener,
)
from jiesu.intake.sensors.registry import SensorFileError, load_sensor_file
from jiesu.intake.sensors.routing import route
from jiesu.intake.sensors.service import mark_reviewed
from jiesu.kit.clock import utcnow

app = typer.Typer(
    help="Sensor alarms (网格化管理): rules, sensors, the MQTT listener, the review queue.",
    no_args_is_help=True,
)

URL_HELP = "broker URL, mqtt://[user:password@]host[:port] (default: JIESU_MQTT_URL or local)"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STYLE = {"opened": "bold red", "repeat": "yellow", "below_threshold": "dim", "rejected": "magenta"}


def _setting(s: Settings, name: str, default: str) -> str:
    # JIESU_MQTT_URL / JIESU_MQTT_TOPIC where the settings define them, else the local defaults.
    return str(getattr(s, name, default))


@app.command("load")
def load(file: Path = typer.Argument(..., help="YAML file with `rules:` and `sensors:`")) -> None:
    """Validate a sensors file and load it; loading again updates rules by kind, sensors by code."""
    try:
        with unit_of_work() as session:
            result = load_sensor_file(session, file, now=utcnow())
    except SensorFileError as exc:
        fail(exc.message)
    console.print(
        f"rules: {result.rules_added} added, {result.rules_updated} updated; "
        f"sensors: {result.sensors_added} added, {result.sensors_updated} updated"
    )


@app.command("list")
def list_sensors() -> None:
    """List the rules and the sensors with the unit each one's alarms go to."""
    with unit_of_work() as session:
        rules = session.scalars(select(SensorRule).order_by(SensorRule.kind)).all()
        sensors = session.scalars(select(Sensor).order_by(Sensor.kind, Sensor.code)).all()
        rule_table = Table(title=f"{len(rules)} rules")
        for col in ("kind", "name", "category", "alarm when", "urgency"):
            rule_table.add_column(col)
        for r in rules:
            category = session.get(Category, r.category_id)
            rule_table.add_row(
                r.kind,
                r.name,
                f"{category.code} {category.name}" if category else "?",
                _when(r),
                r.urgency,
            )
        sensor_table = Table(title=f"{len(sensors)} sensors")
        for col in ("code", "kind", "area", "goes to", "open order", "description"):
            sensor_table.add_column(col)
        for s in sensors:
            sensor_table.add_row(*_sensor_row(session, s))
    console.print(rule_table)
    console.print(sensor_table)


def _when(rule: SensorRule) -> str:
    if rule.threshold is None:
        return "any reading"
    return f"reading {'≥' if rule.above else '≤'} {rule.threshold:g}"


def _sensor_row(session: Session, sensor: Sensor) -> list[str]:
    area = session.get(Area, sensor.area_id)
    assert area is not None  # a foreign key
    target = route(session, sensor, area)
    latest = repo.latest_order(session, sensor)
    order = f"{latest.ticket} ({latest.status})" if latest and repo.is_open(latest) else ""
    goes_to = target.unit.name if target else "[red]nobody — give it a unit[/]"
    code = sensor.code if sensor.active else f"{sensor.code} (retired)"
    return [code, sensor.kind, f"{area.code} {area.name}", goes_to, order, sensor.description]


@app.command("listen")
def listen(
    url: str = typer.Option(None, "--url", help=URL_HELP),
    topic: str = typer.Option(
        None, help="topic filter to subscribe to (default: JIESU_MQTT_TOPIC or jiesu/sensors/#)"
    ),
    client_id: str = typer.Option(
        DEFAULT_CLIENT_ID, help="MQTT client id; the broker keeps this id's missed alarms"
    ),
    persistent: bool = typer.Option(
        True,
        "--persistent/--clean-session",
        help="keep the session on the broker, so alarms sent while stopped arrive later",
    ),
) -> None:
    """Consume alarms from the broker until Ctrl+C; prints a line per message."""
    s = settings()
    broker = url or _setting(s, "mqtt_url", DEFAULT_BROKER_URL)
    topic = topic or _setting(s, "mqtt_topic", DEFAULT_TOPIC)
    try:
        address = parse_broker_url(broker)
    except ValueError as exc:
        fail(str(exc))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    console.print(f"listening on {address} to {topic}  (Ctrl+C to stop)")
    try:
        stats = run_listener(
            broker,
            s.db_url,
            topic,
            stop_event=stop,
            client_id=client_id,
            persistent=persistent,
            on_handled=lambda handled, stats: _progress(handled, stats, s.tz),
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print(f"stopped; {stats.summary()}")


def _progress(handled: Handled, stats: ListenerStats, tz: ZoneInfo) -> None:
    style = STYLE.get(handled.outcome, "bold")
    detail = handled.ticket or ""
    if handled.reason:
        detail = f"{detail} {handled.reason}".strip()
    console.print(
        f"{utcnow().astimezone(tz):%H:%M:%S} #{handled.message_id} [{style}]{handled.outcome}[/] "
        f"{handled.topic} {detail}  |  {stats.summary()}",
        highlight=False,
    )


@app.command("review")
def review(
    done: list[int] = typer.Option(None, "--done", help="mark this message id reviewed"),
    limit: int = typer.Option(100, min=1, help="show at most this many"),
) -> None:
    """List refused messages not yet reviewed, or mark some reviewed with --done ID."""
    s = settings()
    with unit_of_work(s) as session:
        if done:
            marked = mark_reviewed(session, list(done))
            console.print(f"marked reviewed: {', '.join(str(m.id) for m in marked)}")
            return
        pending = repo.pending_review(session, limit)
        table = Table(title=f"{len(pending)} refused messages to review")
        for col in ("id", "received", "topic", "reason", "payload"):
            table.add_column(col)
        for m in pending:
            table.add_row(
                str(m.id),
                f"{m.received_at.astimezone(s.tz):%Y-%m-%d %H:%M:%S}",
                m.topic,
                m.reason,
                m.payload[:80],
            )
    if not pending:
        console.print("no refused messages waiting for review")
        return
    console.print(table)


def _number(value: float) -> int | float:
    # 1 rather than 1.0, as a device reporting a switch would send it.
    return int(value) if value.is_integer() else value


@app.command("simulate")
def simulate(
    sensor: str = typer.Option(..., "--sensor", help="sensor code, e.g. SMK-0001"),
    value: float = typer.Option(..., "--value", help="the reading to report"),
    kind: str = typer.Option(None, help="sensor kind (default: the registered kind)"),
    at: str = typer.Option(None, "--time", help="alarm time, ISO 8601 with a zone (default: now)"),
    url: str = typer.Option(None, "--url", help=URL_HELP),
    topic: str = typer.Option(None, help="topic (default: jiesu/sensors/KIND/SENSOR)"),
) -> None:
    """Publish a test alarm to the broker, as a device would (handy for demos)."""
    s = settings()
    if kind is None:
        with unit_of_work(s) as session:
            registered = repo.sensor_by_code(session, sensor)
            if registered is None:
                fail(f"unknown sensor {sensor!r}; give --kind to send it anyway")
            kind = registered.kind
    # Sent as given, even without a zone: simulating a misconfigured device is part of a demo.
    body = {"sensor": sensor, "kind": kind, "value": _number(value)}
    payload = json.dumps(body | {"time": at or utcnow().isoformat()}, ensure_ascii=False)
    target = topic or alarm_topic(kind, sensor)
    try:
        publish(url or _setting(s, "mqtt_url", DEFAULT_BROKER_URL), target, payload)
    except (OSError, TimeoutError, ValueError) as exc:
        fail(f"could not publish: {exc}")
    console.print(f"published to {target}: {payload}", highlight=False)
