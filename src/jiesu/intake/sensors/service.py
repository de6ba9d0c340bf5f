"""One sensor message → at most one open work order per sensor, dispatched at once.

``handle_alarm`` stores every message as a ``SensorMessage`` with its outcome:

- ``rejected``: the message is unusable (reason names the field); kept for review;
- ``below_threshold``: a reading that does not trigger the sensor's rule;
- ``opened``: a new order, submitted through ``submit_request`` and dispatched;
- ``repeat``: the sensor already has an open order; the alarm is appended to it as a
  ``sensor_repeat`` event (de-bounce), or it is a redelivery of an alarm already recorded.

Refusals all happen before anything is written, so a refused message never leaves half an
order behind. Errors other than refusals propagate: the caller rolls back and records the
message as rejected in a fresh transaction (see ``listener``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.city.service import CityContext
from jiesu.errors import NotFound
from jiesu.intake.models import Sensor, SensorMessage, SensorRule
from jiesu.intake.schemas import RequestIn
from jiesu.intake.sensors import repository as repo
from jiesu.intake.sensors.message import Alarm, Refused, decode, parse_alarm
from jiesu.intake.sensors.routing import Route, route
from jiesu.intake.service import FUTURE_TOLERANCE, submit_request
from jiesu.logs import get_logger
from jiesu.people.service import Actor
from jiesu.workflow.events import append_event
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

log = get_logger(__name__)

# The gateway acts as the dispatch desk: sensor alarms skip the operator's intake step.
GATEWAY = Actor(None, "sensor-gateway", "dispatcher")
MAX_TOPIC = 200


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def handle_alarm(
    session: Session, topic: str, payload: bytes | str, *, now: datetime, ctx: CityContext
) -> SensorMessage:
    text, refused = decode(payload)
    # PostgreSQL cannot store NUL in text: a message carrying one is kept (and judged) with
    # U+FFFD in its place, so it is still on record, as every message is.
    text, topic = _storable(text), _storable(topic)
    message = SensorMessage(
        received_at=now, topic=topic[:MAX_TOPIC], payload=text, outcome="rejected", reason=""
    )
    session.add(message)
    try:
        if refused is not None:
            raise refused
        _handle(session, message, parse_alarm(text), now, ctx)
    except Refused as exc:
        message.outcome, message.reason = "rejected", _storable(exc.reason)
    session.flush()
    log.info(
        "sensor.message",
        id=message.id,
        topic=message.topic,
        outcome=message.outcome,
        reason=message.reason or None,
    )
    return message


def _handle(
    session: Session, message: SensorMessage, alarm: Alarm, now: datetime, ctx: CityContext
) -> None:
    sensor = repo.sensor_by_code(session, alarm.sensor)
    if sensor is None:
        raise Refused("sensor", f"unknown sensor {alarm.sensor!r}; register it in a sensors file")
    message.sensor_id = sensor.id
    if not sensor.active:
        raise Refused("sensor", f"{sensor.code} is retired (active: false)")
    if alarm.kind != sensor.kind:
        raise Refused("kind", f"{alarm.kind!r} does not match the registered kind {sensor.kind!r}")
    rule = repo.rule_for(session, sensor.kind)
    if rule is None:
        raise Refused("kind", f"no rule for sensor kind {sensor.kind!r}")
    at = alarm.time or now
    if at > now + FUTURE_TOLERANCE:
        raise Refused("time", f"{at.isoformat()} is in the future (now {now.isoformat()})")
    if not triggers(rule, alarm.value):
        message.outcome = "below_threshold"
        return
    key = source_key(sensor, at)
    first = repo.order_by_source_key(session, key)
    if first is not None:
        _duplicate(message, first)
        return
    latest = repo.latest_order(session, sensor)
    if latest is not None and _repeated_before(session, latest, alarm, at):
        _duplicate(message, latest)
        return
    if latest is not None and repo.is_open(latest):
        _repeat(session, message, latest, alarm, at, now)
        return
    area, note = _area(session, sensor, alarm)
    _open(session, message, sensor, rule, area, note, alarm, at, key, now, ctx)


def triggers(rule: SensorRule, value: float) -> bool:
    """Whether a reading sets off the rule; a rule without a threshold takes every message."""
    if rule.threshold is None:
        return True
    return value >= rule.threshold if rule.above else value <= rule.threshold


def source_key(sensor: Sensor, at: datetime) -> str:
    # The alarm's own time in UTC: a redelivered MQTT message carries the same time and so
    # the same key, whatever offset the device wrote it with.
    return f"sensor:{sensor.code}:{at.isoformat()}"


def _repeated_before(session: Session, order: ServiceRequest, alarm: Alarm, at: datetime) -> bool:
    # Without a device time a message has no identity to compare, so it is never a redelivery.
    return alarm.time is not None and at.isoformat() in repo.repeat_times(session, order)


def _duplicate(message: SensorMessage, order: ServiceRequest) -> None:
    message.outcome, message.request_id = "repeat", order.id
    message.reason = f"redelivery of an alarm already recorded on {order.ticket}; not added again"


def _repeat(
    session: Session,
    message: SensorMessage,
    order: ServiceRequest,
    alarm: Alarm,
    at: datetime,
    now: datetime,
) -> None:
    append_event(
        session,
        order,
        kind="sensor_repeat",
        actor=GATEWAY,
        at=now,
        payload={"sensor": alarm.sensor, "value": alarm.value, "time": at.isoformat()},
        from_status=order.status,
        to_status=order.status,
    )
    message.outcome, message.request_id = "repeat", order.id


def _area(session: Session, sensor: Sensor, alarm: Alarm) -> tuple[Area, str]:
    """The area of the order: a grid the device reports inside its registered area, else the
    registered area. A mismatch is noted, never refused: a fire alarm must not wait on a
    registration error."""
    registered = session.get(Area, sensor.area_id)
    assert registered is not None  # a foreign key
    if not alarm.grid or alarm.grid == registered.code:
        return registered, ""
    reported = session.scalar(select(Area).where(Area.code == alarm.grid))
    if reported is not None and reported.active and reported.path.startswith(registered.path):
        return reported, ""
    return registered, (
        f"grid: reported {alarm.grid!r} is not inside the registered area {registered.code}; "
        "used the registered area"
    )


def _open(
    session: Session,
    message: SensorMessage,
    sensor: Sensor,
    rule: SensorRule,
    area: Area,
    note: str,
    alarm: Alarm,
    at: datetime,
    key: str,
    now: datetime,
    ctx: CityContext,
) -> None:
    category = session.get(Category, rule.category_id)
    if category is None or not category.active:
        raise Refused("kind", f"the rule {rule.kind!r} points at an inactive category")
    if not area.active:
        raise Refused("sensor", f"{sensor.code} sits on the inactive area {area.code}")
    target = route(session, sensor, area)
    if target is None:
        raise Refused(
            "sensor",
            f"no street office or district government covers {area.code} {area.name}; "
            "give the sensor a unit",
        )
    place = _place(session, area)
    lat, lon = (alarm.lat, alarm.lon) if alarm.lat is not None else (sensor.lat, sensor.lon)
    order, _ = submit_request(
        session,
        RequestIn(
            channel="sensor",
            title=f"{rule.name}：{sensor.code} {sensor.description}".strip()[:200],
            text=_text(rule, sensor, alarm, at, place, ctx) + _mismatch(alarm, note),
            address=f"{place} {sensor.description}".strip()[:500],
            lat=lat,
            lon=lon,
            area=area.code,
            category=category.code,
            urgency=rule.urgency,
            received_at=at,
            source_key=key,
        ),
        actor=GATEWAY,
        now=now,
        ctx=ctx,
        # The sensor's own routing (its unit, else its grid's street office) decides.
        auto_dispatch=False,
    )
    apply_action(
        session,
        order,
        "dispatch",
        actor=GATEWAY,
        now=now,
        ctx=ctx,
        params=_dispatch_params(target),
    )
    message.outcome, message.request_id, message.reason = "opened", order.id, note


def _dispatch_params(target: Route) -> dict[str, Any]:
    return {
        "unit": target.unit.code,
        "note": f"传感器报警自动派单：{target.why}",
        "routed_by": target.why,
    }


def _place(session: Session, area: Area) -> str:
    """东城区交道口街道交东社区第1网格: names below the city, a name dropped when the next
    one already starts with it (grids are named after their community)."""
    names: list[str] = []
    node: Area | None = area
    while node is not None and node.parent_id is not None:
        names.append(node.name)
        node = node.parent
    names.reverse()
    kept = [n for n, nxt in zip(names, [*names[1:], ""], strict=True) if not nxt.startswith(n)]
    return "".join(kept)


def _text(
    rule: SensorRule, sensor: Sensor, alarm: Alarm, at: datetime, place: str, ctx: CityContext
) -> str:
    local = at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M:%S")
    where = f"（{sensor.description}）" if sensor.description else ""
    limit = ""
    if rule.threshold is not None:
        limit = f"，报警阈值 {'≥' if rule.above else '≤'} {rule.threshold:g}"
    return (
        f"{rule.name}：传感器 {sensor.code}{where}于 {local} 报警，读数 {alarm.value:g}{limit}。"
        f"位置：{place}。由传感网关自动立案并派单，请立即核实处置。"
    )


def _mismatch(alarm: Alarm, note: str) -> str:
    if not note:
        return ""
    return f"注意：设备上报的网格 {alarm.grid} 不在登记区域内，已按登记位置立案，请核对设备登记。"


def mark_reviewed(session: Session, ids: list[int]) -> list[SensorMessage]:
    """Take messages off the review queue once someone has looked at them."""
    found = {m.id: m for m in repo.messages(session, ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(
            f"no sensor message with id {', '.join(map(str, missing))}",
            fields=[{"field": "id", "problem": "not found"}],
        )
    for message in found.values():
        message.reviewed = True
    session.flush()
    return [found[i] for i in ids]
