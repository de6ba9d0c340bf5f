"""Helpers to walk requests through reply and call-back (tests/loop)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request

A, B = "ST-110101001", "ST-110101008"


def run(
    session: Session,
    world: World,
    req: ServiceRequest,
    action: str,
    who: str,
    clock: FixedClock,
    **params: Any,
) -> None:
    apply_action(
        session, req, action, actor=world.actor(who), now=clock.now(), ctx=world.ctx, params=params
    )


def replied(
    session: Session,
    world: World,
    clock: FixedClock,
    *,
    accept_after: timedelta = timedelta(hours=1),
    unit: str = A,
    **fields: Any,
) -> ServiceRequest:
    """A new request dispatched to ``unit``, accepted after ``accept_after``, and replied."""
    req = make_request(session, world, clock.now(), **fields)
    run(session, world, req, "dispatch", "disp", clock, unit=unit)
    clock.advance(accept_after)
    handler = "h1" if unit == A else "h2"
    run(session, world, req, "accept", handler, clock)
    clock.advance(timedelta(hours=2))
    run(session, world, req, "reply", handler, clock, text="已到现场处理，施工方承诺夜间停工")
    return req
