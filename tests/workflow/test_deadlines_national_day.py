"""Deadlines set by dispatch across the 2026 National Day holiday, in Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.workflow.service import apply_action

from factories import make_request, make_world

BEIJING = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("dispatched_local", "category", "response_due", "handling_due"),
    [
        # Wed 30 Sep, 10:00: 7 working days skip 1–7 Oct, count Thu 8, Fri 9, Sat 10 (make-up
        # working day), Mon 12 … → end of Thu 15 Oct.
        (
            datetime(2026, 9, 30, 10, 0),
            "010101",
            datetime(2026, 10, 1, 10, 0),
            datetime(2026, 10, 15, 23, 59, 59),
        ),
        # On the make-up Saturday itself: the day of dispatch never counts → Mon 12 … Tue 20.
        (
            datetime(2026, 10, 10, 9, 0),
            "010101",
            datetime(2026, 10, 11, 9, 0),
            datetime(2026, 10, 20, 23, 59, 59),
        ),
        # An ordinary Friday: the weekend is skipped → Mon 16 Nov … Tue 24 Nov.
        (
            datetime(2026, 11, 13, 16, 0),
            "010101",
            datetime(2026, 11, 14, 16, 0),
            datetime(2026, 11, 24, 23, 59, 59),
        ),
        # A water outage on 1 Oct: 2 h / 24 h on the wall clock, holiday or not.
        (
            datetime(2026, 10, 1, 20, 0),
            "010102",
            datetime(2026, 10, 1, 22, 0),
            datetime(2026, 10, 2, 20, 0),
        ),
        # 01:30 on Fri 9 Oct in Beijing is still 8 Oct in UTC: the city's date counts, so the
        # 7 days are Sat 10 (make-up), 12–16, 19 — not 9, 10, 12–16.
        (
            datetime(2026, 10, 9, 1, 30),
            "010101",
            datetime(2026, 10, 10, 1, 30),
            datetime(2026, 10, 19, 23, 59, 59),
        ),
    ],
)
def test_dispatch_deadlines(
    session: Session,
    dispatched_local: datetime,
    category: str,
    response_due: datetime,
    handling_due: datetime,
) -> None:
    clock = FixedClock(dispatched_local.replace(tzinfo=BEIJING).astimezone(UTC))
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now(), category=category)
    apply_action(
        session,
        req,
        "dispatch",
        actor=world.actor("disp"),
        now=clock.now(),
        ctx=world.ctx,
        params={"unit": "ST-110101001"},
    )
    session.commit()
    assert req.response_due == response_due.replace(tzinfo=BEIJING)
    assert req.handling_due == handling_due.replace(tzinfo=BEIJING)
