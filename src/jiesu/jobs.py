"""Scheduled work shared by `jiesu workflow tick` and the schedule inside `jiesu serve`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.privacy.audit import make_digests
from jiesu.workflow.service import TickResult, mark_overdue


def run_tick(session: Session, *, now: datetime) -> TickResult:
    ctx = city_context(session)
    result = mark_overdue(session, now=now)
    result.digests = len(make_digests(session, now=now, tz=ctx.tz))
    return result
