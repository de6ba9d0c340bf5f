"""The temporary rules of the event a request belongs to, while the event lasts.

Dispatch asks for them (``dispatch.service.decide_for``) and so do deadlines
(``workflow.deadlines.start_clock``): only the event's own requests — its callers and its master
cases — get them, and only until the event ends (by a person, or at its end time even before
the schedule has marked it ended). Requests dispatched during the event keep the deadlines they
were given: a deadline once set is what the unit is measured by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from jiesu.surge.models import SurgeAttachment, SurgeCase, SurgeEvent
from jiesu.workflow.models import ServiceRequest


@dataclass(frozen=True)
class Overlay:
    event_id: int
    name: str
    rules: tuple[dict[str, Any], ...]
    auto_dispatch: bool
    response_limit: str | None
    handling_limit: str | None

    @property
    def limits(self) -> tuple[str | None, str | None]:
        return self.response_limit, self.handling_limit


def event_of(session: Session, request: ServiceRequest) -> SurgeEvent | None:
    """The event a request belongs to, as a caller or as a master case, if any: one query,
    since every dispatch decision and every deadline of every request asks."""
    if request.id is None:
        return None
    mine = union(
        select(SurgeAttachment.event_id).where(SurgeAttachment.request_id == request.id),
        select(SurgeCase.event_id).where(SurgeCase.request_id == request.id),
    ).scalar_subquery()
    return session.scalar(select(SurgeEvent).where(SurgeEvent.id.in_(mine)).limit(1))


def lasts(event: SurgeEvent, now: datetime | None) -> bool:
    if event.ended_at is not None:
        return False
    return now is None or event.starts_at <= now < event.ends_at


def active_overlay(
    session: Session, request: ServiceRequest, now: datetime | None = None
) -> Overlay | None:
    """The temporary rules for this request now; None outside any lasting event.
    Without ``now`` (a desk showing a decision) an event lasts until it is marked ended."""
    event = event_of(session, request)
    if event is None or not lasts(event, now):
        return None
    return Overlay(
        event_id=event.id,
        name=event.name,
        rules=tuple(event.rules or ()),
        auto_dispatch=event.auto_dispatch,
        response_limit=event.response_limit,
        handling_limit=event.handling_limit,
    )
