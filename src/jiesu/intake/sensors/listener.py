"""The MQTT consumer: every message in its own transaction; nothing stops it.

``run_listener`` blocks until ``stop_event`` is set (the CLI); ``start_listener_thread`` runs
it beside the server. paho acknowledges a QoS 1 message only after ``on_message`` returns, so an
alarm is acknowledged after its transaction has committed: if the process dies mid-message the
broker delivers it again, and the source key makes the second delivery a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jiesu.city.service import city_context
from jiesu.db.engine import make_engine, make_sessionmaker, session_scope
from jiesu.errors import JiesuError
from jiesu.intake.models import SensorMessage
from jiesu.intake.sensors.broker import (
    DEFAULT_TOPIC,
    KEEPALIVE,
    BrokerAddress,
    make_client,
    parse_broker_url,
)
from jiesu.intake.sensors.message import decode
from jiesu.intake.sensors.service import MAX_TOPIC, handle_alarm
from jiesu.kit.clock import Clock, SystemClock
from jiesu.logs import get_logger
from jiesu.workflow.models import ServiceRequest

log = get_logger(__name__)

DEFAULT_CLIENT_ID = "jiesu-sensors"
# Two writers appending to one order at once collide on the event sequence; the loser retries
# on fresh state, as the API's writes do.
WRITE_ATTEMPTS = 3
MAX_REASON = 2000


@dataclass(frozen=True)
class Handled:
    """What became of one message, for progress lines."""

    message_id: int | None  # None only if even the rejected record could not be written
    topic: str
    outcome: str
    reason: str = ""
    ticket: str | None = None


@dataclass
class ListenerStats:
    handled: int = 0
    opened: int = 0
    repeat: int = 0
    below_threshold: int = 0
    rejected: int = 0
    lost: int = 0  # could not be stored at all (database down); logged with the payload

    def count(self, outcome: str) -> None:
        self.handled += 1
        setattr(self, outcome, getattr(self, outcome) + 1)

    def summary(self) -> str:
        return (
            f"handled {self.handled}: opened {self.opened}, repeats {self.repeat}, "
            f"below threshold {self.below_threshold}, rejected {self.rejected}"
            + (f", LOST {self.lost}" if self.lost else "")
        )


class MessageProcessor:
    """Handle one message and commit; on any failure, store it as rejected instead."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock):
        self.sessions = sessions
        self.clock = clock

    def __call__(self, topic: str, payload: bytes | str) -> Handled:
        now = self.clock.now()
        error: BaseException | None = None
        for _ in range(WRITE_ATTEMPTS):
            try:
                with session_scope(self.sessions) as session:
                    message = handle_alarm(
                        session, topic, payload, now=now, ctx=city_context(session)
                    )
                    return self._handled(session, message)
            except IntegrityError as exc:
                error = exc
                continue
            except Exception as exc:
                error = exc
                break
        log.error("sensor.message.failed", topic=topic, error=_describe(error))
        return self._store_failure(topic, payload, now, _describe(error))

    def _handled(self, session: Session, message: SensorMessage) -> Handled:
        order = session.get(ServiceRequest, message.request_id) if message.request_id else None
        return Handled(
            message.id,
            message.topic,
            message.outcome,
            message.reason,
            order.ticket if order else None,
        )

    def _store_failure(
        self, topic: str, payload: bytes | str, now: datetime, reason: str
    ) -> Handled:
        text, _ = decode(payload)
        reason = f"not handled: {reason}"[:MAX_REASON]
        try:
            with session_scope(self.sessions) as session:
                message = SensorMessage(
                    received_at=now,
                    topic=topic[:MAX_TOPIC],
                    payload=text,
                    outcome="rejected",
                    reason=reason,
                )
                session.add(message)
                session.flush()
                return Handled(message.id, topic, "rejected", reason)
        except Exception:
            # The database itself is failing: the log line is the only record left.
            log.exception("sensor.message.lost", topic=topic, payload=text)
            return Handled(None, topic, "lost", reason)


def _describe(error: BaseException | None) -> str:
    if isinstance(error, JiesuError):
        return error.message
    if error is None:
        return "unknown error"
    return f"{type(error).__name__}: {error}"


def run_listener(
    broker_url: str,
    db_url: str,
    topic: str = DEFAULT_TOPIC,
    *,
    stop_event: threading.Event,
    client_id: str = DEFAULT_CLIENT_ID,
    persistent: bool = True,
    clock: Clock | None = None,
    on_handled: Callable[[Handled, ListenerStats], None] | None = None,
    ready: threading.Event | None = None,
) -> ListenerStats:
    """Consume ``topic`` (QoS 1) until ``stop_event`` is set; reconnects by itself.

    ``ready`` is set once the subscription is acknowledged (tests publish only after that).
    """
    address = parse_broker_url(broker_url)
    engine = make_engine(db_url)
    process = MessageProcessor(make_sessionmaker(engine), clock or SystemClock())
    stats = ListenerStats()
    client = make_client(address, client_id, persistent=persistent)
    # paho re-raises a callback's exception in its network thread, which ends the loop: the
    # processor already catches everything, this keeps even a failing log write from stopping
    # the consumer.
    client.suppress_exceptions = True
    _wire(client, address, topic, process, stats, on_handled, ready)
    # connect_async + loop_start: the first connection is retried like any later one, so the
    # listener may start before the broker does.
    client.connect_async(address.host, address.port, keepalive=KEEPALIVE)
    client.loop_start()
    log.info("sensor.listener.started", broker=str(address), topic=topic, client_id=client_id)
    try:
        stop_event.wait()
    finally:
        client.disconnect()
        client.loop_stop()
        engine.dispose()
        log.info("sensor.listener.stopped", **stats.__dict__)
    return stats


def _wire(
    client: mqtt.Client,
    address: BrokerAddress,
    topic: str,
    process: MessageProcessor,
    stats: ListenerStats,
    on_handled: Callable[[Handled, ListenerStats], None] | None,
    ready: threading.Event | None,
) -> None:
    def on_connect(
        client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        if reason_code.is_failure:
            log.warning("sensor.listener.refused", broker=str(address), reason=str(reason_code))
            return
        # Subscribing on every connect restores the subscription after a reconnect.
        client.subscribe(topic, qos=1)
        log.info("sensor.listener.connected", broker=str(address), topic=topic)

    def on_subscribe(
        _client: mqtt.Client, _userdata: Any, _mid: int, codes: list[Any], _props: Any
    ) -> None:
        if any(code.is_failure for code in codes):
            log.error("sensor.listener.not_subscribed", topic=topic, codes=list(map(str, codes)))
            return
        if ready is not None:
            ready.set()

    def on_disconnect(
        _client: mqtt.Client, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        # A failure code means the connection dropped (paho reconnects); else we stopped it.
        level = log.warning if reason_code.is_failure else log.info
        level("sensor.listener.disconnected", broker=str(address), reason=str(reason_code))

    def on_message(_client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        handled = process(msg.topic, bytes(msg.payload))
        if handled.message_id is None:
            stats.lost += 1
        else:
            stats.count(handled.outcome)
        if on_handled is not None:
            try:
                on_handled(handled, stats)
            except Exception:  # a failing progress printer must not stop the consumer
                log.exception("sensor.listener.progress_failed")

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_disconnect = on_disconnect
    client.on_message = on_message


class ListenerThread:
    """``run_listener`` in a daemon thread, for ``jiesu serve``."""

    def __init__(self, broker_url: str, db_url: str, topic: str, **options: Any):
        parse_broker_url(broker_url)  # a bad URL fails at start-up, not silently in the thread
        self._stop = threading.Event()
        self.stats: ListenerStats | None = None
        self._thread = threading.Thread(
            target=self._run,
            args=(broker_url, db_url, topic),
            kwargs=options,
            name="jiesu-sensors",
            daemon=True,
        )

    def _run(self, broker_url: str, db_url: str, topic: str, **options: Any) -> None:
        try:
            self.stats = run_listener(broker_url, db_url, topic, stop_event=self._stop, **options)
        except Exception:
            log.exception("sensor.listener.crashed")

    def start(self) -> ListenerThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def start_listener_thread(
    broker_url: str, db_url: str, topic: str = DEFAULT_TOPIC, **options: Any
) -> ListenerThread:
    return ListenerThread(broker_url, db_url, topic, **options).start()
