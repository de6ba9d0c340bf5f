"""A generated history for tests that analyse one: the demo city and its synthetic requests,
lived through the real services (jiesu.demo.seed) on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.cli import DEMO_PACK
from jiesu.city.pack import read_pack
from jiesu.city.service import apply_pack, city_context
from jiesu.demo.seed import SeedStats, seed_history
from jiesu.people.models import User
from jiesu.people.service import Actor, create_user

# A Monday in Beijing inside the built-in working-day calendar; history runs the year before.
NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


def seed_demo(session: Session, n: int, *, now: datetime = NOW, seed: int = 12345) -> SeedStats:
    apply_pack(session, read_pack(DEMO_PACK), now=now)
    for role in ("operator", "dispatcher", "supervisor"):
        if session.scalar(select(User).where(User.username == role)) is None:
            create_user(session, username=role, role=role, password=None, now=now)
    session.flush()
    desk = {
        role: Actor.of(session.scalars(select(User).where(User.username == role)).one())
        for role in ("operator", "dispatcher", "supervisor")
    }
    stats = seed_history(session, city_context(session), n=n, now=now, desk=desk, seed=seed)
    session.commit()
    return stats
