"""handle_alarm on SQLite and PostgreSQL: open and dispatch, de-bounce, thresholds, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.sensors.sensorcity import (
    COMMUNITY_DHM,
    GRID_DHM,
    GRID_DHM_2,
    GRID_JDK,
    alarm,
)
from jiesu.intake.models import Sensor, SensorMessage
from jiesu.intake.sensors.service import handle_alarm, mark_reviewed
from jiesu.kit.clock import FixedClock
from jiesu.privacy.audit import verify
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World

TOPIC = "jiesu/sensors/smoke/SMK-0001"


def send(session: Session, world: World, clock: FixedClock, payload: str | bytes) -> SensorMessage:
    message = handle_alarm(session, TOPIC, payload, now=clock.now(), ctx=world.ctx)
    session.commit()
    return message


def orders(session: Session) -> list[ServiceRequest]:
    return list(session.scalars(select(ServiceRequest).order_by(ServiceRequest.id)))


def events(session: Session, order: ServiceRequest, kind: str) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.request_id == order.id, Event.kind == kind)
            .order_by(Event.seq)
        )
    )


def test_alarm_opens_an_order_dispatched_to_the_street_office_with_emergency_limits(
    session: Session, world: World, clock: FixedClock
) -> None:
    at = clock.now() - timedelta(seconds=30)
    message = send(session, world, clock, alarm("SMK-0001", "smoke", 1, at))

    assert message.outcome == "opened" and message.reason == ""
    (order,) = orders(session)
    assert message.request_id == order.id and message.topic == TOPIC
    assert order.channel == "sensor" and order.status == "dispatched"
    assert order.lead_unit is not None and order.lead_unit.code == "ST-110101001"
    assert order.category is not None and order.category.code == "130809"
    assert order.urgency == "emergency" and order.area is not None
    assert order.area.code == GRID_DHM
    assert (order.lat, order.lon) == (39.916, 116.405)
    assert order.received_at == at and order.dispatched_at == clock.now()
    assert order.source_key == f"sensor:SMK-0001:{at.astimezone(UTC).isoformat()}"
    # 消防安全's own limits: accept within 1h, handle within 12h, counted from dispatch.
    assert order.response_due == clock.now() + timedelta(hours=1)
    assert order.handling_due == clock.now() + timedelta(hours=12)
    assert order.title == "烟感报警：SMK-0001 多福巷12号院"
    assert "烟感报警：传感器 SMK-0001（多福巷12号院）" in order.text
    assert (
        "读数 1，报警阈值 ≥ 1" in order.text and "东城区东华门街道多福巷社区第1网格" in order.text
    )
    kinds = [e.kind for e in session.scalars(select(Event).where(Event.request_id == order.id))]
    assert kinds == ["received", "dispatch"]
    (dispatch,) = events(session, order, "dispatch")
    assert dispatch.actor == "sensor-gateway" and "网格所属街道" in dispatch.payload["note"]


def test_rule_urgency_other_than_the_categorys_takes_the_class_limits(
    session: Session, world: World, clock: FixedClock
) -> None:
    send(session, world, clock, alarm("DOOR-0001", "door", 15, clock.now()))
    (order,) = orders(session)
    assert order.urgency == "emergency" and order.category.code == "010101"  # type: ignore[union-attr]
    assert order.response_due == clock.now() + timedelta(hours=2)
    assert order.handling_due == clock.now() + timedelta(hours=24)


@pytest.mark.parametrize(
    ("sensor", "kind", "unit"),
    [
        ("SMK-0002", "smoke", "DG-110101"),  # no street office on this street: the district
        ("SMK-0004", "smoke", "ST-110101001"),  # on a community: its street office
        ("GAS-0001", "gas", "PS-WATER"),  # the sensor's own unit comes first
    ],
)
def test_routing(
    session: Session, world: World, clock: FixedClock, sensor: str, kind: str, unit: str
) -> None:
    message = send(session, world, clock, alarm(sensor, kind, 50, clock.now()))
    assert message.outcome == "opened", message.reason
    (order,) = orders(session)
    assert order.lead_unit is not None and order.lead_unit.code == unit


def test_area_without_any_responsible_unit_is_refused_and_nothing_is_opened(
    session: Session, world: World, clock: FixedClock
) -> None:
    message = send(session, world, clock, alarm("SMK-0003", "smoke", 1, clock.now()))
    assert message.outcome == "rejected"
    assert message.reason.startswith("sensor: no street office or district government covers")
    assert orders(session) == []


def test_repeat_alarm_is_appended_to_the_open_order(
    session: Session, world: World, clock: FixedClock
) -> None:
    first = send(session, world, clock, alarm("SMK-0001", "smoke", 1, clock.now()))
    clock.advance(timedelta(minutes=3))
    second = send(session, world, clock, alarm("SMK-0001", "smoke", 2, clock.now()))
    clock.advance(timedelta(minutes=3))
    third = send(session, world, clock, alarm("SMK-0001", "smoke", 3, None))

    (order,) = orders(session)
    assert first.outcome == "opened"
    assert second.outcome == third.outcome == "repeat"
    assert second.request_id == third.request_id == order.id
    repeats = events(session, order, "sensor_repeat")
    assert [e.payload["value"] for e in repeats] == [2, 3]
    # A message without a time is taken as arriving now.
    assert repeats[1].payload["time"] == clock.now().isoformat()
    assert repeats[0].from_status == repeats[0].to_status == "dispatched"
    assert order.status == "dispatched"
    assert verify(session, tz=world.ctx.tz).ok


def test_redelivered_messages_change_nothing(
    session: Session, world: World, clock: FixedClock
) -> None:
    start = clock.now()
    opening = alarm("SMK-0001", "smoke", 1, start)
    repeat = alarm("SMK-0001", "smoke", 1, clock.now() + timedelta(minutes=1))
    send(session, world, clock, opening)
    clock.advance(timedelta(minutes=2))
    send(session, world, clock, repeat)
    again = [send(session, world, clock, opening), send(session, world, clock, repeat)]

    (order,) = orders(session)
    assert len(events(session, order, "sensor_repeat")) == 1
    assert [m.outcome for m in again] == ["repeat", "repeat"]
    assert all(m.request_id == order.id and "redelivery" in m.reason for m in again)
    # The same instant written with another offset is the same alarm.
    shifted = json.loads(opening) | {"time": start.astimezone(world.ctx.tz).isoformat()}
    assert shifted["time"].endswith("+08:00")
    assert send(session, world, clock, json.dumps(shifted)).reason.startswith("redelivery")


def test_after_the_order_is_closed_a_new_alarm_opens_a_new_order(
    session: Session, world: World, clock: FixedClock
) -> None:
    send(session, world, clock, alarm("SMK-0001", "smoke", 1, clock.now()))
    (first,) = orders(session)
    for action, who, params in (
        ("accept", "h1", {}),
        ("reply", "h1", {"text": "已到场处置，系炊烟误报"}),
        ("call_back", "op", {"solved": True, "satisfaction": "satisfied"}),
        ("close", "op", {}),
    ):
        clock.advance(timedelta(minutes=20))
        apply_action(
            session,
            first,
            action,
            actor=world.actor(who),
            now=clock.now(),
            ctx=world.ctx,
            params=params,
        )
    session.commit()
    assert first.status == "closed"

    clock.advance(timedelta(hours=1))
    message = send(session, world, clock, alarm("SMK-0001", "smoke", 1, clock.now()))
    assert message.outcome == "opened"
    _, second = orders(session)
    assert second.id != first.id and second.status == "dispatched"
    clock.advance(timedelta(minutes=1))
    repeat = send(session, world, clock, alarm("SMK-0001", "smoke", 1, clock.now()))
    assert repeat.request_id == second.id


def test_de_bounce_is_per_sensor(session: Session, world: World, clock: FixedClock) -> None:
    send(session, world, clock, alarm("SMK-0001", "smoke", 1, clock.now()))
    send(session, world, clock, alarm("SMK-0004", "smoke", 1, clock.now()))
    assert len(orders(session)) == 2


@pytest.mark.parametrize(
    ("sensor", "kind", "value"),
    [("SMK-0001", "smoke", 0), ("SMK-0001", "smoke", 0.99), ("PRS-0001", "pressure", 0.3)],
)
def test_readings_that_do_not_trigger_the_rule(
    session: Session, world: World, clock: FixedClock, sensor: str, kind: str, value: float
) -> None:
    message = send(session, world, clock, alarm(sensor, kind, value, clock.now()))
    assert message.outcome == "below_threshold" and message.request_id is None
    assert message.sensor_id is not None
    assert orders(session) == []


def test_a_rule_with_above_false_alarms_at_or_below_the_threshold(
    session: Session, world: World, clock: FixedClock
) -> None:
    message = send(session, world, clock, alarm("PRS-0001", "pressure", 0.1, clock.now()))
    assert message.outcome == "opened"
    assert "报警阈值 ≤ 0.1" in orders(session)[0].text


def test_reported_grid_inside_the_registered_community_is_used(
    session: Session, world: World, clock: FixedClock
) -> None:
    send(session, world, clock, alarm("SMK-0004", "smoke", 1, clock.now(), grid=GRID_DHM_2))
    (order,) = orders(session)
    assert order.area is not None and order.area.code == GRID_DHM_2


def test_reported_grid_elsewhere_is_noted_not_refused(
    session: Session, world: World, clock: FixedClock
) -> None:
    message = send(session, world, clock, alarm("SMK-0004", "smoke", 1, clock.now(), grid=GRID_JDK))
    assert message.outcome == "opened"
    assert message.reason.startswith(f"grid: reported '{GRID_JDK}' is not inside")
    (order,) = orders(session)
    assert order.area is not None and order.area.code == COMMUNITY_DHM
    assert "不在登记区域内" in order.text


def test_reported_coordinates_win_over_the_registered_ones(
    session: Session, world: World, clock: FixedClock
) -> None:
    send(session, world, clock, alarm("SMK-0001", "smoke", 1, clock.now(), lat=39.9, lon=116.3))
    (order,) = orders(session)
    assert (order.lat, order.lon) == (39.9, 116.3)


REFUSALS: list[tuple[str | bytes, str]] = [
    ("{not json", "payload: not valid JSON"),
    (b"\xff\xfe{}", "payload: not UTF-8 text"),
    ('["SMK-0001", 1]', "payload: must be a JSON object, got list"),
    ('{"kind": "smoke", "value": 1}', "sensor: is missing"),
    ('{"sensor": "", "kind": "smoke", "value": 1}', "sensor: must be a non-empty string"),
    ('{"sensor": "NOPE-1", "kind": "smoke", "value": 1}', "sensor: unknown sensor 'NOPE-1'"),
    ('{"sensor": "SMK-0001", "kind": "gas", "value": 1}', "kind: 'gas' does not match"),
    ('{"sensor": "SMK-0001", "value": 1}', "kind: is missing"),
    ('{"sensor": "SMK-0001", "kind": "smoke"}', "value: is missing"),
    ('{"sensor": "SMK-0001", "kind": "smoke", "value": "high"}', "value: must be a number"),
    ('{"sensor": "SMK-0001", "kind": "smoke", "value": true}', "value: must be a number"),
    ('{"sensor": "SMK-0001", "kind": "smoke", "value": NaN}', "payload: not valid JSON"),
    (
        '{"sensor": "SMK-0001", "kind": "smoke", "value": 1, "time": "2026-11-02T09:30:00"}',
        "time: '2026-11-02T09:30:00' has no time zone",
    ),
    (
        '{"sensor": "SMK-0001", "kind": "smoke", "value": 1, "time": "yesterday"}',
        "time: 'yesterday' is not an ISO 8601 date-time",
    ),
    (
        '{"sensor": "SMK-0001", "kind": "smoke", "value": 1, "time": 1762047000}',
        "time: must be an ISO 8601 string",
    ),
    (
        '{"sensor": "SMK-0001", "kind": "smoke", "value": 1, "time": "2026-11-02T12:00:00Z"}',
        "time: 2026-11-02T12:00:00+00:00 is in the future",
    ),
    ('{"sensor": "SMK-0001", "kind": "smoke", "value": 1, "lat": 39.9}', "lon: give lat"),
    (
        '{"sensor": "SMK-0001", "kind": "smoke", "value": 1, "lat": 99, "lon": 116}',
        "lat: 99.0 is outside -90…90",
    ),
    ("{" + " " * 20_000 + "}", "payload: 20,002 bytes; the limit is 16,384"),
]


@pytest.mark.parametrize(("payload", "reason"), REFUSALS, ids=[r for _, r in REFUSALS])
def test_refused_messages_are_kept_with_the_field_and_the_problem(
    session: Session, world: World, clock: FixedClock, payload: str | bytes, reason: str
) -> None:
    message = send(session, world, clock, payload)
    assert message.outcome == "rejected"
    assert message.reason.startswith(reason), message.reason
    assert message.reviewed is False and message.id is not None
    assert session.scalar(select(func.count(SensorMessage.id))) == 1
    assert orders(session) == []


def test_retired_sensor_is_refused(session: Session, world: World, clock: FixedClock) -> None:
    sensor = session.scalars(select(Sensor).where(Sensor.code == "SMK-0001")).one()
    sensor.active = False
    session.commit()
    message = send(session, world, clock, alarm("SMK-0001", "smoke", 1, clock.now()))
    assert message.reason == "sensor: SMK-0001 is retired (active: false)"
    assert message.sensor_id == sensor.id


def test_review_queue(session: Session, world: World, clock: FixedClock) -> None:
    bad = send(session, world, clock, "garbage")
    send(session, world, clock, alarm("SMK-0001", "smoke", 1, clock.now()))
    assert [m.id for m in mark_reviewed(session, [bad.id])] == [bad.id]
    session.commit()
    assert bad.reviewed is True
    with pytest.raises(Exception, match="no sensor message with id 999"):
        mark_reviewed(session, [999])


def test_message_times_are_stored_as_arrival(
    session: Session, world: World, clock: FixedClock
) -> None:
    message = send(session, world, clock, alarm("SMK-0001", "smoke", 1, None))
    assert message.received_at == clock.now()
    (order,) = orders(session)
    assert order.received_at == clock.now()
    assert clock.now() == datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
