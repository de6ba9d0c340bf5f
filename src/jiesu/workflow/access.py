"""Who may see a request: the one rule the API, the desks and the services all ask.

Staff who work across the city see every request; a unit's handlers only those with their unit
(lead or assisting); a citizen signed in with an account only the requests they submitted —
anyone else's ticket is "not found" to them, so tickets cannot be tried one after another.
Contacts are masked separately (``privacy.masking``), by role.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import object_session

from jiesu.errors import Forbidden, NotFound
from jiesu.people.service import Actor
from jiesu.workflow.models import Event, ServiceRequest

STAFF_VIEWERS = ("operator", "dispatcher", "supervisor", "analyst", "admin")


def can_view(actor: Actor, req: ServiceRequest) -> None:
    if actor.role in STAFF_VIEWERS:
        return
    if actor.role == "handler" and actor.unit_id is not None:
        if req.lead_unit_id == actor.unit_id or any(
            u.id == actor.unit_id for u in req.assisting_units
        ):
            return
        raise Forbidden("this request is not with your unit")
    if actor.role == "citizen" and actor.user_id is not None and submitted_by(req, actor):
        return  # their own request: the public timeline, contacts masked
    if actor.role == "citizen":
        raise NotFound(f"no request {req.ticket} of yours")
    raise Forbidden("your role may not view requests")


def submitted_by(req: ServiceRequest, actor: Actor) -> bool:
    session = object_session(req)
    if session is None:
        return False
    found = session.scalar(
        select(Event.id).where(
            Event.request_id == req.id, Event.kind == "received", Event.actor_id == actor.user_id
        )
    )
    return found is not None
