"""Scheduled work shared by `jiesu workflow tick` and the schedule inside `jiesu serve`:
overdue marking, call-back tasks and settling answered call-backs, audit digests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.dispatch.actions import mark_summons_overdue
from jiesu.loop.service import run_loop_tick
from jiesu.privacy.audit import make_digests
from jiesu.workflow.service import TickResult, mark_overdue


def run_tick(session: Session, *, now: datetime) -> TickResult:
    ctx = city_context(session)
    result = mark_overdue(session, now=now)
    result.summons_overdue = mark_summons_overdue(session, now=now)
    loop = run_loop_tick(session, now=now)
    result.callbacks_created = loop["callbacks_created"]
    result.closed, result.reopened = loop["closed"], loop["reopened"]
    result.digests = len(make_digests(session, now=now, tz=ctx.tz))
    return result
