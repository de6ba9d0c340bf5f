"""Owners are reminded of their articles running out: a message on the owner unit's desk
when an article enters the last ``EXPIRING_DAYS`` of its validity, and another once it has run
out (it is hidden from that day). Each is sent once per article and last day, so moving the
date on starts the reminders again."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from jiesu.kb.service import EXPIRING_DAYS, expiring
from jiesu.notify.triggers import remind_unit


def remind_owners(session: Session, *, today: date, now: datetime) -> int:
    """Messages written for owners (run by the tick); how many were new."""
    made = 0
    for e in expiring(session, today, days=EXPIRING_DAYS):
        if e.unit == "-":
            continue  # no owner unit: the knowledge desk's list is the only reminder
        phase = "expired" if e.days_left < 0 else "expiring"
        made += remind_unit(
            session,
            key=f"kb:{e.article_id}:{phase}:{e.valid_until.isoformat()}",
            kind="article_expiring",
            unit=e.unit,
            now=now,
            context={
                "title": e.title,
                "unit_name": e.unit_name,
                "valid_until": e.valid_until.isoformat(),
                "days_left": e.days_left,
                "article_id": e.article_id,
            },
        )
    if made:
        session.flush()
    return made
