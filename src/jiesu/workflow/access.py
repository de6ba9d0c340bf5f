"""Who may see a request: the one rule the API, the desks and the services all ask.

Staff who work across the city see every request; a unit's handlers only those with their unit
(lead or assisting); a citizen signed in with an account only the requests they submitted —
anyone else's ticket is "not found" to them, so tickets cannot be tried one after another.
A supervisor or analyst kept to a district (``users.area_id``) sees only requests placed in it,
in lists and one by one. Contacts are masked separately (``privacy.masking``), by role.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import object_session

from jiesu.city.models import Area
from jiesu.errors import Forbidden, NotFound
from jiesu.people.service import Actor
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.repository import RequestFilter

STAFF_VIEWERS = ("operator", "dispatcher", "supervisor", "analyst", "admin")


def can_view(actor: Actor, req: ServiceRequest) -> None:
    if actor.role in STAFF_VIEWERS:
        in_area(actor, req)
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


def in_area(actor: Actor, req: ServiceRequest) -> None:
    """A district supervisor or analyst reaches only requests placed in their area; a request
    not yet placed belongs to the city's desks, not to a district's."""
    if actor.area_path is None:
        return
    if req.area is None or not req.area.path.startswith(actor.area_path):
        raise Forbidden(f"request {req.ticket} is outside your area")


def scope_filter(actor: Actor, f: RequestFilter) -> None:
    """Narrow a list to what the actor may see, whatever was asked: a unit's own requests for
    its handlers, the area's subtree for district staff (asking for another area is refused)."""
    if actor.role == "handler":
        if f.unit_id is not None and f.unit_id != actor.unit_id:
            raise Forbidden("handlers see only their own unit's requests")
        f.unit_id = actor.unit_id
    if actor.area_path is not None:
        if f.area_path is not None and not f.area_path.startswith(actor.area_path):
            raise Forbidden("that area is outside yours")
        f.area_path = f.area_path or actor.area_path


def area_ids_within(area_path: str) -> Select[int]:
    """The ids of the area at ``area_path`` and every area below it."""
    return select(Area.id).where(Area.path.startswith(area_path, autoescape=True))


def placed_within(area_path: str | None) -> list[ColumnElement[bool]]:
    """The clause that keeps requests placed in the area (none when the scope is the city).
    Every count on a district's desks goes through it, so a figure and its list agree."""
    if area_path is None:
        return []
    return [ServiceRequest.area_id.in_(area_ids_within(area_path))]


def city_wide(actor: Actor, what: str) -> None:
    """Refuse a page or figure that only exists for the whole city (a monthly report, the
    city's monthly topic) to an account kept to one area, rather than show it city-wide."""
    if actor.area_path is not None:
        raise Forbidden(f"{what} is city-wide; your account is kept to one area")


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
