"""The audit chain catches tampering done straight in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.privacy.audit import event_hash, hash_of, make_digests, verify
from jiesu.privacy.models import AuditDigest
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request, make_world

DAY = timedelta(days=1)


@dataclass
class Chains:
    world: World
    full: ServiceRequest  # received → dispatch → accept → reply → call_back → close
    other: ServiceRequest  # the same loop, a day later
    open: ServiceRequest  # dispatched and accepted, still open

    def events(self, session: Session, req: ServiceRequest) -> list[Event]:
        stmt = select(Event).where(Event.request_id == req.id).order_by(Event.seq)
        return list(session.scalars(stmt))

    def day_of(self, at: datetime) -> date:
        return at.astimezone(self.world.ctx.tz).date()


def act(
    session: Session,
    world: World,
    req: ServiceRequest,
    action: str,
    who: str,
    now: datetime,
    **params: Any,
) -> None:
    apply_action(
        session, req, action, actor=world.actor(who), now=now, ctx=world.ctx, params=params
    )


def full_loop(
    session: Session, world: World, req: ServiceRequest, clock: FixedClock, unit: str, who: str
) -> None:
    act(session, world, req, "dispatch", "disp", clock.now(), unit=unit)
    clock.advance(DAY)
    act(session, world, req, "accept", who, clock.now())
    clock.advance(timedelta(hours=3))
    act(session, world, req, "reply", who, clock.now(), text="已协调施工方停止夜间施工")
    clock.advance(DAY)
    act(session, world, req, "call_back", "op", clock.now(), solved=True, satisfaction="satisfied")
    clock.advance(timedelta(minutes=20))
    act(session, world, req, "close", "op", clock.now())


@pytest.fixture
def chains(session: Session, clock: FixedClock) -> Chains:
    world = make_world(session, clock.now())
    start = clock.now()
    full = make_request(session, world, clock.now())
    other = make_request(session, world, clock.now(), area="110101008")
    opened = make_request(session, world, clock.now(), category="010102")
    full_loop(session, world, full, FixedClock(start), "ST-110101001", "h1")
    full_loop(session, world, other, FixedClock(start + DAY), "ST-110101008", "h2")
    late = FixedClock(start + timedelta(hours=5))
    act(session, world, opened, "dispatch", "disp", late.now(), unit="PS-WATER")
    act(session, world, opened, "accept", "sup", late.advance(DAY))
    session.commit()
    # Digest every day so far: the latest event is on day 3, the digests are made on day 6.
    digests = make_digests(session, now=start + 6 * DAY, tz=world.ctx.tz)
    session.commit()
    assert [d.day for d in digests] == [date(2026, 11, 2) + i * DAY for i in range(4)]
    report = verify(session, tz=world.ctx.tz)
    assert report.ok, [str(b) for b in report.breaks]
    assert (report.requests, report.events, report.digests) == (3, 15, 4)
    return Chains(world, full, other, opened)


def run_sql(session: Session, *statements: Any) -> None:
    """Tamper as someone with database access would: plain SQL, then a fresh look."""
    for stmt in statements:
        session.execute(stmt, execution_options={"synchronize_session": False})
    session.commit()
    session.expire_all()


def test_untouched_chains_verify_and_digests_are_made_once(
    session: Session, chains: Chains
) -> None:
    later = datetime(2026, 11, 20, 2, 0, tzinfo=chains.world.ctx.tz)
    assert make_digests(session, now=later, tz=chains.world.ctx.tz) == []
    assert [e.seq for e in chains.events(session, chains.full)] == [1, 2, 3, 4, 5, 6]
    assert chains.full.status == "closed" and chains.open.status == "accepted"


# Each case tampers with the database and returns (ticket, seq, words of the problem).
Case = Callable[[Session, Chains], tuple[str, int | None, str]]


def edit_payload(session: Session, c: Chains) -> tuple[str, int | None, str]:
    reply = c.events(session, c.full)[3]
    run_sql(
        session,
        update(Event).where(Event.id == reply.id).values(payload={"text": "已妥善解决"}),
    )
    return c.full.ticket, 4, "content does not match"


def edit_status(session: Session, c: Chains) -> tuple[str, int | None, str]:
    accept = c.events(session, c.open)[2]
    run_sql(session, update(Event).where(Event.id == accept.id).values(to_status="closed"))
    return c.open.ticket, 3, "content does not match"


def delete_middle(session: Session, c: Chains) -> tuple[str, int | None, str]:
    accept = c.events(session, c.full)[2]
    run_sql(session, delete(Event).where(Event.id == accept.id))
    return c.full.ticket, 4, "expected event #3 here, found #4"


def insert_forged(session: Session, c: Chains) -> tuple[str, int | None, str]:
    """A well-formed extra event between #2 and #3, with later events renumbered."""
    events = c.events(session, c.full)
    dispatch, accept = events[1], events[2]
    rid = c.full.id
    at = dispatch.at + timedelta(minutes=5)
    body = {"unit": "ST-110101001", "reason": "单位主动退回"}
    forged = event_hash(
        dispatch.hash,
        ticket=c.full.ticket,
        seq=3,
        kind="return",
        from_status="dispatched",
        to_status="returned",
        actor="h1",
        at=at,
        payload=body,
    )
    assert dispatch.at < at < accept.at
    run_sql(
        session,
        update(Event).where(Event.request_id == rid, Event.seq >= 3).values(seq=Event.seq + 100),
        update(Event).where(Event.request_id == rid, Event.seq >= 100).values(seq=Event.seq - 99),
        insert(Event).values(
            request_id=rid,
            seq=3,
            kind="return",
            from_status="dispatched",
            to_status="returned",
            actor_id=None,
            actor="h1",
            at=at,
            payload=body,
            prev_hash=dispatch.hash,
            hash=forged,
        ),
    )
    return c.full.ticket, 4, "previous-hash link broken"


def swap_times(session: Session, c: Chains) -> tuple[str, int | None, str]:
    _, dispatch, accept, *_ = c.events(session, c.other)
    assert dispatch.at != accept.at
    run_sql(
        session,
        update(Event).where(Event.id == dispatch.id).values(at=accept.at),
        update(Event).where(Event.id == accept.id).values(at=dispatch.at),
    )
    return c.other.ticket, 2, "content does not match"


def delete_last(session: Session, c: Chains) -> tuple[str, int | None, str]:
    close = c.events(session, c.full)[-1]
    assert close.seq == 6 and close.kind == "close"
    run_sql(session, delete(Event).where(Event.id == close.id))
    return c.full.ticket, 6, "chain has 5 events but the request records 6"


def edit_digest(session: Session, c: Chains) -> tuple[str, int | None, str]:
    day = date(2026, 11, 3)
    run_sql(session, update(AuditDigest).where(AuditDigest.day == day).values(digest="f" * 64))
    return f"digest {day.isoformat()}", None, "daily digest does not match"


def rewrite_chain(session: Session, c: Chains) -> tuple[str, int | None, str]:
    """Edit the reply and re-hash it and every later event, and the request's head: the chain
    itself is consistent again, only the daily digest of the reply's day can tell."""
    events = c.events(session, c.full)
    reply = events[3]
    prev = reply.prev_hash
    statements: list[Any] = []
    for e in events[3:]:
        payload = {**e.payload, "text": "已妥善解决"} if e.id == reply.id else e.payload
        h = event_hash(
            prev,
            ticket=c.full.ticket,
            seq=e.seq,
            kind=e.kind,
            from_status=e.from_status,
            to_status=e.to_status,
            actor=e.actor,
            at=e.at,
            payload=payload,
        )
        statements.append(
            update(Event).where(Event.id == e.id).values(payload=payload, prev_hash=prev, hash=h)
        )
        prev = h
    statements.append(
        update(ServiceRequest).where(ServiceRequest.id == c.full.id).values(chain_head=prev)
    )
    run_sql(session, *statements)
    # The chain checks pass on their own: every event matches its hash and links up.
    rewritten = c.events(session, c.full)
    assert all(hash_of(e, c.full.ticket) == e.hash for e in rewritten)
    return f"digest {c.day_of(reply.at).isoformat()}", None, "daily digest does not match"


@pytest.mark.parametrize(
    "tamper",
    [
        edit_payload,
        edit_status,
        delete_middle,
        insert_forged,
        swap_times,
        delete_last,
        edit_digest,
        rewrite_chain,
    ],
    ids=lambda f: f.__name__,
)
def test_tampering_is_caught_and_located(session: Session, chains: Chains, tamper: Case) -> None:
    ticket, seq, problem = tamper(session, chains)
    report = verify(session, tz=chains.world.ctx.tz)
    assert not report.ok
    first = report.breaks[0]
    assert (first.ticket, first.seq) == (ticket, seq), [str(b) for b in report.breaks]
    assert problem in first.problem
    if seq is not None and "chain has" not in problem:
        located = session.scalar(select(Event).where(Event.id == first.event_id))
        assert located is not None and located.seq == seq
    # Only the tampered request is reported; the others still verify.
    untouched = {chains.full.ticket, chains.other.ticket, chains.open.ticket} - {ticket}
    assert not any(b.ticket in untouched for b in report.breaks)


def test_rewritten_chain_without_digests_goes_unnoticed(session: Session, chains: Chains) -> None:
    """Why digests matter: without them a consistent rewrite cannot be told apart."""
    run_sql(session, delete(AuditDigest))
    rewrite_chain(session, chains)
    assert verify(session, tz=chains.world.ctx.tz).ok


def test_cli_audit_verify_exit_code(session: Session, chains: Chains) -> None:
    from typer.testing import CliRunner

    from jiesu.cli import app

    url = session.get_bind().url.render_as_string(hide_password=False)
    env = {"JIESU_DATABASE_URL": url}
    runner = CliRunner()
    session.close()  # let the command see the committed rows without waiting on our transaction
    ok = runner.invoke(app, ["audit", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "audit chain intact: 3 requests, 15 events, 4 daily digests" in ok.output

    delete_middle(session, chains)
    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1, broken.output
    assert f"request {chains.full.ticket} event #4" in broken.output
