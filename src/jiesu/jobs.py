"""Scheduled work shared by `jiesu workflow tick` and the schedule inside `jiesu serve`:
overdue marking, declared events ended at their end time, call-back tasks and settling
answered call-backs, audit digests; and the reports of the last day, week and month once they
are due.

Every scheduled run claims its job first (`ops.joblock.claim`), so that with several server
processes on one database one of them runs it and the others skip that round."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiesu.analytics.library import produce_due
from jiesu.city.service import city_context
from jiesu.config import Settings
from jiesu.db.engine import make_engine, make_sessionmaker, session_scope
from jiesu.dispatch.actions import mark_summons_overdue
from jiesu.kb.reminders import remind_owners
from jiesu.kb.service import expire_articles
from jiesu.loop.service import run_loop_tick
from jiesu.notify.delivery import Policy, SendResult, send_due
from jiesu.notify.gateways import gateways_for
from jiesu.notify.triggers import due_soon
from jiesu.ops.joblock import claim
from jiesu.privacy.audit import make_digests
from jiesu.surge.service import end_due
from jiesu.workflow.service import TickResult, mark_overdue


def run_tick(session: Session, *, now: datetime, due_soon_hours: float = 4.0) -> TickResult:
    ctx = city_context(session)
    result = mark_overdue(session, now=now)
    result.summons_overdue = mark_summons_overdue(session, now=now)
    today = now.astimezone(ctx.tz).date()
    expire_articles(session, today)
    result.articles_reminded = remind_owners(session, today=today, now=now)
    loop = run_loop_tick(session, now=now)
    # Events past their end time end here, their rules off and their reports kept.
    result.events_ended = len(end_due(session, now=now))
    result.callbacks_created = loop["callbacks_created"]
    result.closed, result.reopened = loop["closed"], loop["reopened"]
    result.digests = len(make_digests(session, now=now, tz=ctx.tz))
    result.due_soon = due_soon(session, now=now, hours=due_soon_hours)
    return result


TICK_JOB = "workflow.tick"
REPORTS_JOB = "reports.due"
NOTIFY_JOB = "notify.send"


def run_tick_once(
    session: Session, *, now: datetime, due_soon_hours: float = 4.0
) -> TickResult | None:
    """`run_tick` and commit, unless another process is running the tick (then None)."""
    with claim(session, TICK_JOB) as mine:
        if not mine:
            return None
        result = run_tick(session, now=now, due_soon_hours=due_soon_hours)
        session.commit()  # inside the claim: the next runner sees this run's work
    return result


def produce_due_reports(settings: Settings, now: datetime) -> list[str] | None:
    """Produce the due reports missing from the data dir (own connection: runs in a thread);
    None when another process is producing them."""
    engine = make_engine(settings.db_url)
    try:
        with (
            session_scope(make_sessionmaker(engine)) as session,
            claim(session, REPORTS_JOB) as mine,
        ):
            if not mine:
                return None
            made = produce_due(session, settings.data_dir, now=now)
            session.commit()
    finally:
        engine.dispose()
    return [f"{p.kind}/{p.label}" for p in made]


def send_due_notifications(
    session: Session, settings: Settings, *, now: datetime
) -> SendResult | None:
    """Send the messages that are due (each committed as it goes), unless another process is
    sending (then None)."""
    gateways = gateways_for(settings)
    policy = Policy.of(settings)
    with claim(session, NOTIFY_JOB) as mine:
        if not mine:
            return None
        result = send_due(session, gateways, policy, now=now)
        session.commit()  # inside the claim, like the tick
    return result


def deliver_notifications(settings: Settings, now: datetime) -> SendResult | None:
    """`send_due_notifications` on a connection of its own: the server runs it in a thread,
    because an SMTP server that is slow to answer must not stall the event loop."""
    engine = make_engine(settings.db_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            return send_due_notifications(session, settings, now=now)
    finally:
        engine.dispose()
