"""Appending to a request's event log: the only code that writes Event rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from jiesu.people.service import Actor
from jiesu.privacy.audit import GENESIS, event_hash
from jiesu.workflow.models import Event, ServiceRequest


def append_event(
    session: Session,
    request: ServiceRequest,
    *,
    kind: str,
    actor: Actor,
    at: datetime,
    payload: dict[str, Any] | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
) -> Event:
    seq = request.event_count + 1
    prev = request.chain_head or GENESIS
    body = payload or {}
    h = event_hash(
        prev,
        ticket=request.ticket,
        seq=seq,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor.name,
        at=at,
        payload=body,
    )
    event = Event(
        request_id=request.id,
        seq=seq,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor.user_id,
        actor=actor.name,
        at=at,
        payload=body,
        prev_hash=prev,
        hash=h,
    )
    session.add(event)
    request.event_count = seq
    request.chain_head = h
    request.updated_at = at
    return event
