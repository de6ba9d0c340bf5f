"""Dispatch at intake (智能派单): when the active catalogue says so and a rule (or a confident
learned router) decides, the request goes straight to its unit; otherwise it waits in the
dispatcher's queue with the suggestions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiesu.city.service import CityContext
from jiesu.dispatch.service import active_catalogue, decide_for
from jiesu.people.service import Actor
from jiesu.surge.rules import active_overlay
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

# The catalogue acts as the dispatch desk; its events name it, not a person.
ENGINE = Actor(None, "dispatch-catalogue", "dispatcher")


def dispatch_at_intake(
    session: Session, request: ServiceRequest, *, now: datetime, ctx: CityContext
) -> bool:
    """Dispatch a just-received request if the catalogue decides it; True when dispatched."""
    catalogue = active_catalogue(session)
    # A lasting event says for its own requests whether they go straight to a unit.
    overlay = active_overlay(session, request, now)
    auto = overlay.auto_dispatch if overlay is not None else catalogue.settings.get("auto_dispatch")
    if not auto or request.category is None:
        return False
    decision = decide_for(session, request, ctx.tz, catalogue=catalogue, now=now)
    if decision.unit is None:
        return False
    apply_action(session, request, "dispatch", actor=ENGINE, now=now, ctx=ctx, params={})
    return True
