"""Response and handling deadlines of a request on the city's working-day calendar."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import object_session

from jiesu.city.service import CityContext
from jiesu.errors import ConfigError
from jiesu.kit.calendar import CalendarRangeError
from jiesu.kit.timelimits import TimeLimit, due_at
from jiesu.surge.rules import active_overlay
from jiesu.workflow.models import ServiceRequest


def start_clock(
    request: ServiceRequest,
    ctx: CityContext,
    now: datetime,
    *,
    may_shorten: bool = False,
    overrides: tuple[str | None, str | None] = (None, None),
) -> dict[str, str]:
    """Set both deadlines counted from ``now``; returns them for the event payload.

    Deadlines only move forward — a re-dispatch after a return must not punish the next unit
    with less time than the first had — except on reopen, which starts a fresh cycle.
    """
    response_limit, handling_limit = ctx.limits(request.urgency, request.category)
    # A lasting event's temporary limits replace the usual ones for its own requests.
    session = object_session(request)
    overlay = active_overlay(session, request, now) if session is not None else None
    if overlay is not None:
        if overlay.response_limit:
            response_limit = TimeLimit.parse(overlay.response_limit)
        if overlay.handling_limit:
            handling_limit = TimeLimit.parse(overlay.handling_limit)
    # A dispatch rule may set its own limits (e.g. a shorter one for a company's hotline).
    if overrides[0]:
        response_limit = TimeLimit.parse(overrides[0])
    if overrides[1]:
        handling_limit = TimeLimit.parse(overrides[1])
    try:
        response_due = due_at(now, response_limit, ctx.calendar, ctx.tz)
        handling_due = due_at(now, handling_limit, ctx.calendar, ctx.tz)
    except CalendarRangeError as exc:
        raise ConfigError(str(exc)) from exc
    if not may_shorten:
        if request.response_due is not None:
            response_due = max(response_due, request.response_due)
        if request.handling_due is not None:
            handling_due = max(handling_due, request.handling_due)
    request.response_due, request.handling_due = response_due, handling_due
    request.response_overdue = response_due <= now
    request.handling_overdue = handling_due <= now
    return {
        "response_limit": str(response_limit),
        "handling_limit": str(handling_limit),
        "response_due": response_due.isoformat(),
        "handling_due": handling_due.isoformat(),
    }
