"""Queries over the event log for the public views: latest step per request, updates feed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from jiesu.intake.open311.params import Paging
from jiesu.intake.open311.public import PUBLIC_KINDS, PublicStep, public_step
from jiesu.workflow.models import Event, ServiceRequest


def _solved_before(session: Session, closes: Sequence[Event]) -> dict[int, bool | None]:
    """For each ``close`` event, what the call-back before it found (FIXED vs CLOSED)."""
    if not closes:
        return {}
    rows = session.execute(
        select(Event.request_id, Event.seq, Event.payload).where(
            Event.request_id.in_({e.request_id for e in closes}), Event.kind == "call_back"
        )
    ).all()
    out: dict[int, bool | None] = {}
    for close in closes:
        earlier = [r for r in rows if r.request_id == close.request_id and r.seq < close.seq]
        last = max(earlier, key=lambda r: r.seq, default=None)
        out[close.id] = bool(last.payload.get("solved")) if last is not None else None
    return out


def public_steps(session: Session, events: Sequence[Event]) -> dict[int, PublicStep]:
    """Event id → how it reads to the public; internal events are left out."""
    solved = _solved_before(session, [e for e in events if e.kind == "close"])
    out: dict[int, PublicStep] = {}
    for e in events:
        step = public_step(e.kind, e.payload or {}, solved=solved.get(e.id))
        if step is not None:
            out[e.id] = step
    return out


def latest_steps(session: Session, request_ids: Iterable[int]) -> dict[int, PublicStep]:
    """Request id → its latest public step (what ``status_notes`` says)."""
    ids = set(request_ids)
    if not ids:
        return {}
    last = (
        select(Event.request_id, func.max(Event.seq).label("seq"))
        .where(Event.request_id.in_(ids), Event.kind.in_(PUBLIC_KINDS))
        .group_by(Event.request_id)
        .subquery()
    )
    events = session.scalars(
        select(Event).join(
            last, and_(Event.request_id == last.c.request_id, Event.seq == last.c.seq)
        )
    ).all()
    steps = public_steps(session, events)
    return {e.request_id: steps[e.id] for e in events if e.id in steps}


def updates_between(
    session: Session, start: datetime, end: datetime, paging: Paging
) -> list[tuple[Event, str]]:
    """Public events in [start, end], oldest first (clients replay them in order)."""
    rows = session.execute(
        select(Event, ServiceRequest.ticket)
        .join(ServiceRequest, ServiceRequest.id == Event.request_id)
        .where(Event.at >= start, Event.at <= end, Event.kind.in_(PUBLIC_KINDS))
        .order_by(Event.at, Event.id)
        .offset((paging.page - 1) * paging.page_size)
        .limit(paging.page_size)
    ).all()
    return [(e, ticket) for e, ticket in rows]
