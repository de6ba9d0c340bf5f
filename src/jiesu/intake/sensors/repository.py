"""Queries of the sensor channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.intake.models import Sensor, SensorMessage, SensorRule
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES


def sensor_by_code(session: Session, code: str) -> Sensor | None:
    return session.scalar(select(Sensor).where(Sensor.code == code))


def rule_for(session: Session, kind: str) -> SensorRule | None:
    return session.get(SensorRule, kind)


def order_by_source_key(session: Session, key: str) -> ServiceRequest | None:
    return session.scalar(select(ServiceRequest).where(ServiceRequest.source_key == key))


def latest_order(session: Session, sensor: Sensor) -> ServiceRequest | None:
    """The last order this sensor opened, whatever its status.

    Orders are found through the messages that opened them; ``outcome`` is indexed and
    openings are rare next to repeats, so this stays cheap as the message log grows.
    """
    return session.scalar(
        select(ServiceRequest)
        .join(SensorMessage, SensorMessage.request_id == ServiceRequest.id)
        .where(SensorMessage.outcome == "opened", SensorMessage.sensor_id == sensor.id)
        .order_by(ServiceRequest.id.desc())
        .limit(1)
    )


def is_open(order: ServiceRequest) -> bool:
    return order.status in OPEN_STATUSES


def repeat_times(session: Session, order: ServiceRequest) -> set[str]:
    """Alarm times already appended to an order as repeats (to recognise a redelivery)."""
    payloads: Sequence[dict[str, Any]] = session.scalars(
        select(Event.payload).where(Event.request_id == order.id, Event.kind == "sensor_repeat")
    ).all()
    return {str(p.get("time")) for p in payloads}


def pending_review(session: Session, limit: int = 100) -> Sequence[SensorMessage]:
    return session.scalars(
        select(SensorMessage)
        .where(SensorMessage.outcome == "rejected", SensorMessage.reviewed.is_(False))
        .order_by(SensorMessage.id)
        .limit(limit)
    ).all()


def messages(session: Session, ids: Sequence[int]) -> Sequence[SensorMessage]:
    return session.scalars(select(SensorMessage).where(SensorMessage.id.in_(ids))).all()
