"""The consumer: each message in its own transaction, failures kept, and end to end over a real
Mosquitto on 127.0.0.1:1883 (skipped, with the reason, only when it is not running and
JIESU_REQUIRE_MQTT is not 1)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from intake.sensors.sensorcity import alarm
from jiesu.db.engine import make_sessionmaker
from jiesu.intake.models import SensorMessage
from jiesu.intake.sensors import listener as listener_module
from jiesu.intake.sensors.broker import parse_broker_url, publish
from jiesu.intake.sensors.listener import (
    Handled,
    ListenerStats,
    MessageProcessor,
    start_listener_thread,
)
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import Event, ServiceRequest

from factories import World

WAIT = 10.0  # seconds: the bound of every wait on the broker


def poll(check: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Call ``check`` until it returns something truthy, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


# ---------------------------------------------------------------- without a broker
def test_processor_commits_each_message(
    session: Session, world: World, clock: FixedClock, db_engine: Engine
) -> None:
    process = MessageProcessor(make_sessionmaker(db_engine), clock)
    handled = process("t/smoke", alarm("SMK-0001", "smoke", 1, clock.now()))
    assert handled.outcome == "opened" and handled.ticket and handled.message_id
    assert process("t/smoke", b"nonsense").outcome == "rejected"
    session.expire_all()
    assert session.scalar(select(ServiceRequest.ticket)) == handled.ticket


def test_processor_stores_a_failing_message_as_rejected(
    session: Session,
    world: World,
    clock: FixedClock,
    db_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*_: Any, **__: Any) -> SensorMessage:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(listener_module, "handle_alarm", explode)
    process = MessageProcessor(make_sessionmaker(db_engine), clock)
    handled = process("t/smoke", alarm("SMK-0001", "smoke", 1, clock.now()))
    assert handled.outcome == "rejected"
    assert handled.reason == "not handled: RuntimeError: disk on fire"
    message = session.get(SensorMessage, handled.message_id)
    assert message is not None and message.reason == handled.reason
    assert '"SMK-0001"' in message.payload and message.reviewed is False


def test_processor_without_a_city_keeps_the_message(
    session: Session, clock: FixedClock, db_engine: Engine
) -> None:
    handled = MessageProcessor(make_sessionmaker(db_engine), clock)("t", "{}")
    assert handled.outcome == "rejected" and "no city is loaded yet" in handled.reason


def test_broker_urls() -> None:
    address = parse_broker_url("mqtts://gate%40way:p%3Ass@broker.example:9883")
    assert (address.host, address.port, address.tls) == ("broker.example", 9883, True)
    assert (address.username, address.password) == ("gate@way", "p:ss")
    assert str(address) == "mqtts://gate@way@broker.example:9883"  # never the password
    assert parse_broker_url("mqtt://localhost").port == 1883
    for bad in ("http://x", "mqtt://", "mqtt://host:port"):
        with pytest.raises(ValueError, match="broker URL"):
            parse_broker_url(bad)


# ---------------------------------------------------------------- end to end
class Seen:
    """What the listener reports, so the test can wait for a number of handled messages."""

    def __init__(self) -> None:
        self.handled: list[Handled] = []
        self.changed = threading.Condition()

    def __call__(self, handled: Handled, _stats: ListenerStats) -> None:
        with self.changed:
            self.handled.append(handled)
            self.changed.notify_all()

    def wait_for(self, n: int) -> list[Handled]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.handled) >= n, timeout=WAIT)
            return list(self.handled)


@pytest.fixture
def running(
    broker: str, prefix: str, world: World, clock: FixedClock, db_url: str
) -> Iterator[Seen]:
    seen, ready = Seen(), threading.Event()
    thread = start_listener_thread(
        broker,
        db_url,
        f"{prefix}/#",
        client_id=f"jiesu-test-{uuid.uuid4().hex[:12]}",
        persistent=False,
        clock=clock,
        on_handled=seen,
        ready=ready,
    )
    try:
        assert ready.wait(WAIT), "the listener did not subscribe within 10 s"
        yield seen
    finally:
        thread.stop()
        assert not thread.alive


def test_end_to_end_alarms_become_one_dispatched_order_per_sensor(
    running: Seen, broker: str, prefix: str, session: Session, clock: FixedClock
) -> None:
    t0 = clock.now() - timedelta(minutes=2)
    first = alarm("SMK-0001", "smoke", 1, t0)
    sent = [
        ("smoke/SMK-0001", first),
        ("smoke/SMK-0001", alarm("SMK-0001", "smoke", 1, t0 + timedelta(minutes=1))),
        ("smoke/SMK-0001", '{"sensor": "SMK-0001", "value": '),  # cut off mid-message
        ("smoke/SMK-0004", alarm("SMK-0004", "smoke", 1, t0)),
        ("smoke/SMK-0001", first),  # a redelivery
        ("gas/GAS-0001", alarm("GAS-0001", "gas", 5, t0)),
    ]
    for suffix, payload in sent:
        publish(broker, f"{prefix}/{suffix}", payload)

    def all_stored() -> list[SensorMessage]:
        session.rollback()  # a fresh snapshot: the listener commits on its own connection
        found = list(session.scalars(select(SensorMessage).order_by(SensorMessage.id)))
        return found if len(found) == len(sent) else []

    messages = poll(all_stored)
    assert [m.outcome for m in messages] == [
        "opened",
        "repeat",
        "rejected",
        "opened",
        "repeat",
        "below_threshold",
    ], [m.reason for m in messages]
    assert messages[2].reason.startswith("payload: not valid JSON")
    assert messages[0].topic == f"{prefix}/smoke/SMK-0001"
    orders = list(session.scalars(select(ServiceRequest).order_by(ServiceRequest.id)))
    assert len(orders) == 2
    assert all(o.status == "dispatched" and o.channel == "sensor" for o in orders)
    assert [o.lead_unit.code for o in orders if o.lead_unit] == ["ST-110101001", "ST-110101001"]
    repeats = session.scalars(
        select(Event).where(Event.request_id == orders[0].id, Event.kind == "sensor_repeat")
    ).all()
    assert len(repeats) == 1
    outcomes = [h.outcome for h in running.wait_for(len(sent))]
    assert outcomes == [m.outcome for m in messages]
    assert running.handled[0].ticket == orders[0].ticket


def test_end_to_end_consumer_survives_a_failing_message(
    running: Seen,
    broker: str,
    prefix: str,
    session: Session,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = listener_module.handle_alarm

    def flaky(session: Session, topic: str, payload: bytes | str, **kw: Any) -> SensorMessage:
        if topic.endswith("/boom"):
            raise RuntimeError("handler bug")
        return real(session, topic, payload, **kw)

    monkeypatch.setattr(listener_module, "handle_alarm", flaky)
    publish(broker, f"{prefix}/smoke/boom", alarm("SMK-0001", "smoke", 1, clock.now()))
    publish(broker, f"{prefix}/smoke/SMK-0002", alarm("SMK-0002", "smoke", 1, clock.now()))
    handled = running.wait_for(2)
    assert [h.outcome for h in handled] == ["rejected", "opened"]
    assert handled[0].reason == "not handled: RuntimeError: handler bug"
    session.rollback()
    (order,) = session.scalars(select(ServiceRequest)).all()
    assert order.lead_unit is not None and order.lead_unit.code == "DG-110101"


def test_listener_receives_from_a_plain_paho_publisher(
    running: Seen, broker: str, prefix: str, clock: FixedClock
) -> None:
    """A device's own client (not our publish helper), QoS 1."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        info = client.publish(
            f"{prefix}/door/DOOR-0001", alarm("DOOR-0001", "door", 30, clock.now()), qos=1
        )
        info.wait_for_publish(timeout=WAIT)
    finally:
        client.disconnect()
        client.loop_stop()
    (handled,) = running.wait_for(1)
    assert handled.outcome == "opened" and handled.ticket
