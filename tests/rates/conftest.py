"""A small month of requests walked through the real workflow, for the rates tests.

Unit A (东华门街道, ST-110101001) and unit B (交道口街道, ST-110101008) each get a few requests
in November 2026 (Beijing time). Every step goes through apply_action with a FixedClock, so the
rates are computed from exactly what the workflow records. The expected numbers are worked
out by hand in test_walk.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request, make_world

# Monday 2 November 2026, 09:30 in Beijing. Response limit of category 010101: 24 hours.
T0 = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
AS_OF = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
A, B = "ST-110101001", "ST-110101008"
HANDLER = {A: "h1", B: "h2"}
NOISE, DEMOLITION = "010101", "010104"


@dataclass
class Walk:
    # Test modules cannot import conftest: the constants travel with the fixture.
    T0 = T0
    AS_OF = AS_OF
    A = A
    B = B

    session: Session
    world: World
    clock: FixedClock
    tickets: dict[str, str] = field(default_factory=dict)

    def act(self, req: ServiceRequest, action: str, who: str, **params: Any) -> None:
        apply_action(
            self.session,
            req,
            action,
            actor=self.world.actor(who),
            now=self.clock.now(),
            ctx=self.world.ctx,
            params=params,
        )

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    def new(
        self,
        name: str,
        unit: str,
        *,
        category: str = NOISE,
        area: str | None = None,
        at: datetime = T0,
        text: str = "楼下饭店每天夜里施工，噪音很大",
    ) -> ServiceRequest:
        """Received and dispatched to ``unit`` at ``at``."""
        self.at(at)
        area = area or ("110101001" if unit == A else "110101008")
        req = make_request(
            self.session, self.world, at, category=category, area=area, text=f"{name}: {text}"
        )
        self.act(req, "dispatch", "disp", unit=unit)
        self.tickets[name] = req.ticket
        return req

    def handle(
        self,
        req: ServiceRequest,
        *,
        accept_after: timedelta,
        solved: bool | None,
        satisfaction: str | None = None,
        close: bool = True,
        reply: str = "已协调施工方停止夜间施工，并安排城管夜间巡查",
        start: datetime = T0,
    ) -> None:
        """Accept after ``accept_after``, reply a day later, call back, close."""
        unit = req.lead_unit.code if req.lead_unit else A
        who = HANDLER[unit]
        self.at(start + accept_after)
        self.act(req, "accept", who)
        self.clock.advance(timedelta(days=1))
        self.act(req, "reply", who, text=reply)
        if solved is None:
            return
        self.clock.advance(timedelta(hours=2))
        self.act(req, "call_back", "op", solved=solved, satisfaction=satisfaction)
        if close:
            self.clock.advance(timedelta(minutes=5))
            self.act(req, "close", "op")


def november(session: Session, clock: FixedClock) -> Walk:
    """The November walk (see test_walk.py for the arithmetic)."""
    w = Walk(session, make_world(session, T0), clock)
    ok, late = timedelta(hours=1), timedelta(hours=30)
    # Unit A
    r1 = w.new("R1", A)
    w.handle(r1, accept_after=ok, solved=True, satisfaction="satisfied")
    r2 = w.new("R2", A)
    w.handle(r2, accept_after=late, solved=True, satisfaction="basically")
    r3 = w.new("R3", A, category=DEMOLITION)
    w.handle(r3, accept_after=ok, solved=False, satisfaction="unsatisfied", close=False)
    # Unsatisfied: reopened to the same unit with fresh deadlines, then answered again.
    reopened = T0 + timedelta(days=3)
    w.at(reopened)
    w.act(r3, "reopen", "op", reason="群众反映仍有噪音")
    w.handle(r3, accept_after=ok, solved=False, satisfaction="unsatisfied", start=reopened)
    r4 = w.new("R4", A)
    w.handle(r4, accept_after=ok, solved=True, satisfaction="satisfied", close=False)
    # A duplicate of R1, merged into it: counted once, as R1, whose heat becomes 2.
    r8 = make_request(session, w.world, T0)
    w.act(r8, "merge", "disp", into=r1.ticket)
    # Spam, confirmed invalid: never scored.
    r9 = make_request(session, w.world, T0)
    w.act(r9, "mark_invalid", "op", reason="骚扰电话")
    w.act(r9, "confirm_invalid", "sup")
    # Unit B
    r5 = w.new("R5", B)
    w.handle(r5, accept_after=ok, solved=True, satisfaction="satisfied")
    r5.synthetic = True  # a demo request: counts unless synthetic requests are left out
    w.new("R6", B)  # never accepted: late once its response deadline has passed
    r7 = w.new("R7", B, category=DEMOLITION)
    w.handle(r7, accept_after=late, solved=False, satisfaction="basically")
    session.commit()
    w.at(AS_OF)
    return w


@pytest.fixture
def walk(session: Session, clock: FixedClock) -> Walk:
    return november(session, clock)
