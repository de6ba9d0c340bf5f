"""Recording a request's past life from another system (bulk import of history).

An imported case already went through dispatch, reply and close elsewhere; replaying it through
apply_action would invent deadlines and actors that never existed. Instead each historical step
becomes an event of kind ``history_<step>`` whose payload says when it really happened
(``occurred_at``), while the event's own time is when it was recorded here — so the audit chain
and its daily digests stay honest. The request's columns carry the historical times, which is
what reports and training read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from jiesu.city.models import HandlingUnit
from jiesu.errors import BadInput
from jiesu.people.service import Actor
from jiesu.workflow.events import append_event
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.transitions import STATUSES


@dataclass
class HistoricalFacts:
    status: str
    unit: HandlingUnit | None = None
    dispatched_at: datetime | None = None
    handling_due: datetime | None = None
    replied_at: datetime | None = None
    reply: str = ""
    closed_at: datetime | None = None
    close_note: str = ""
    extra: dict[str, Any] | None = None


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def record_history(
    session: Session,
    request: ServiceRequest,
    facts: HistoricalFacts,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Bring a just-submitted request to its historical state, one event per known step."""
    if facts.status not in STATUSES:
        raise BadInput(
            "status", f"{facts.status!r} is not a status; use one of {', '.join(STATUSES)}"
        )
    status = request.status
    if facts.unit is not None:
        request.lead_unit = facts.unit
        request.dispatched_at = facts.dispatched_at or request.received_at
        request.handling_due = facts.handling_due
        step = "dispatched" if facts.status != "received" else status
        append_event(
            session,
            request,
            kind="history_dispatch",
            actor=actor,
            at=now,
            from_status=status,
            to_status=step,
            payload={
                "unit": facts.unit.code,
                "unit_name": facts.unit.name,
                "occurred_at": _iso(request.dispatched_at),
                "handling_due": _iso(facts.handling_due),
            },
        )
        status = step
    if facts.replied_at is not None or facts.reply:
        request.replied_at = facts.replied_at
        append_event(
            session,
            request,
            kind="history_reply",
            actor=actor,
            at=now,
            from_status=status,
            to_status="replied",
            payload={"text": facts.reply, "occurred_at": _iso(facts.replied_at)},
        )
        status = "replied"
    if facts.status in ("closed", "invalid", "merged"):
        request.closed_at = facts.closed_at or facts.replied_at or request.received_at
        append_event(
            session,
            request,
            kind="history_close",
            actor=actor,
            at=now,
            from_status=status,
            to_status=facts.status,
            payload={"note": facts.close_note, "occurred_at": _iso(request.closed_at)},
        )
    elif facts.status != status:
        append_event(
            session,
            request,
            kind="history_status",
            actor=actor,
            at=now,
            from_status=status,
            to_status=facts.status,
            payload={},
        )
    if facts.extra:
        append_event(
            session,
            request,
            kind="history_note",
            actor=actor,
            at=now,
            from_status=facts.status,
            to_status=facts.status,
            payload=facts.extra,
        )
    request.status = facts.status
    if request.handling_due is not None:
        # Late by the source system's own deadline: counts in this city's assessments too.
        done = request.replied_at or request.closed_at or now
        request.handling_overdue = done > request.handling_due
