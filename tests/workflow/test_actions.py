"""The work-order loop through apply_action, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from jiesu.errors import BadInput, ConfigError, Forbidden, IllegalAction, UnknownReference
from jiesu.kit.clock import FixedClock
from jiesu.privacy.audit import verify
from jiesu.workflow.models import Event
from jiesu.workflow.service import actions_for, apply_action, mark_overdue

from factories import make_request, make_world


def run(session, world, req, action, who, clock, **params):
    return apply_action(
        session, req, action, actor=world.actor(who), now=clock.now(), ctx=world.ctx, params=params
    )


def test_full_loop_writes_one_event_per_step(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    run(session, world, req, "dispatch", "disp", clock, unit="ST-110101001")
    assert req.status == "dispatched" and req.lead_unit.code == "ST-110101001"
    clock.advance(timedelta(hours=1))
    run(session, world, req, "accept", "h1", clock)
    clock.advance(timedelta(days=1))
    run(session, world, req, "reply", "h1", clock, text="已协调施工方停止夜间施工")
    run(session, world, req, "call_back", "op", clock, solved=True, satisfaction="satisfied")
    run(session, world, req, "close", "op", clock)
    session.commit()
    assert req.status == "closed"
    kinds = [e.kind for e in session.query(Event).filter_by(request_id=req.id).order_by(Event.seq)]
    assert kinds == ["received", "dispatch", "accept", "reply", "call_back", "close"]
    assert verify(session, tz=world.ctx.tz).ok


def test_illegal_action_lists_allowed_ones(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    with pytest.raises(IllegalAction) as err:
        run(session, world, req, "reply", "sup", clock, text="x")
    assert err.value.status_code == 409
    assert err.value.extra["allowed_actions"] == [
        "dispatch",
        "answer",
        "merge",
        "mark_invalid",
        "categorize",
        "note",
    ]
    assert req.event_count == 1  # nothing written


def test_a_consultation_answered_at_first_contact_closes_without_a_unit(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now(), text="请问办理居住证需要带哪些材料？")
    with pytest.raises(BadInput):
        run(session, world, req, "answer", "op", clock)
    run(session, world, req, "answer", "op", clock, text="带身份证和租房合同到社区服务站办理。")
    assert req.status == "answered" and req.closed_at is not None and req.lead_unit_id is None
    with pytest.raises(Forbidden):
        other = make_request(session, world, clock.now())
        run(session, world, other, "answer", "h1", clock, text="x")


def test_return_needs_reason_and_redispatch_keeps_deadline(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    run(session, world, req, "dispatch", "disp", clock, unit="ST-110101001")
    first_due = req.handling_due
    with pytest.raises(BadInput, match="reason"):
        run(session, world, req, "return", "h1", clock)
    run(session, world, req, "return", "h1", clock, reason="不属于本街道管辖")
    assert req.status == "returned" and req.lead_unit is None and req.return_count == 1
    run(session, world, req, "dispatch", "disp", clock, unit="ST-110101008")
    assert req.handling_due >= first_due


def test_handler_of_another_unit_is_forbidden(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    run(session, world, req, "dispatch", "disp", clock, unit="ST-110101001")
    with pytest.raises(Forbidden):
        run(session, world, req, "accept", "h2", clock)
    assert actions_for(req, world.actor("h2")) == []
    assert "accept" in actions_for(req, world.actor("h1"))


def test_unknown_unit_gets_hints(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    with pytest.raises(UnknownReference) as err:
        run(session, world, req, "dispatch", "disp", clock, unit="东华门街道")
    assert err.value.status_code == 422
    assert any("ST-110101001" in h for h in err.value.extra["hints"])


def test_reopen_goes_back_to_same_unit_with_new_deadline(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    run(session, world, req, "dispatch", "disp", clock, unit="ST-110101001")
    run(session, world, req, "accept", "h1", clock)
    run(session, world, req, "reply", "h1", clock, text="已处理")
    run(session, world, req, "call_back", "op", clock, solved=False, satisfaction="unsatisfied")
    clock.advance(timedelta(days=10))
    run(session, world, req, "reopen", "op", clock, reason="群众反映仍有噪音")
    assert req.status == "dispatched" and req.lead_unit.code == "ST-110101001"
    assert req.reopen_count == 1 and req.handling_due > clock.now()


def test_invalid_needs_supervisor(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    run(session, world, req, "mark_invalid", "op", clock, reason="骚扰电话")
    assert req.status == "invalid_pending"
    with pytest.raises(Forbidden):
        run(session, world, req, "confirm_invalid", "op", clock)
    run(session, world, req, "reject_invalid", "sup", clock, reason="是真实诉求")
    assert req.status == "received"
    run(session, world, req, "mark_invalid", "op", clock, reason="骚扰电话")
    run(session, world, req, "confirm_invalid", "sup", clock)
    assert req.status == "invalid"


def test_merge_into_original(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    original = make_request(session, world, clock.now())
    dup = make_request(session, world, clock.now())
    with pytest.raises(BadInput):
        run(session, world, dup, "merge", "disp", clock, into=dup.ticket)
    run(session, world, dup, "merge", "disp", clock, into=original.ticket)
    assert dup.status == "merged" and dup.duplicate_of_id == original.id


def test_overdue_tick_marks_once(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now(), category="010102")  # utility: 2h / 24h
    run(session, world, req, "dispatch", "disp", clock, unit="PS-WATER")
    clock.advance(timedelta(hours=3))
    result = mark_overdue(session, now=clock.now())
    assert (result.response_overdue, result.handling_overdue) == (1, 0)
    assert mark_overdue(session, now=clock.now()).response_overdue == 0
    clock.advance(timedelta(hours=30))
    assert mark_overdue(session, now=clock.now()).handling_overdue == 1
    assert req.response_overdue and req.handling_overdue
    session.commit()
    assert verify(session, tz=world.ctx.tz).ok


def test_deadline_beyond_calendar_is_a_clear_error(session: Session) -> None:
    clock = FixedClock(datetime(2028, 3, 1, 2, 0, tzinfo=UTC))
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    with pytest.raises(ConfigError, match="2028"):
        run(session, world, req, "dispatch", "disp", clock, unit="ST-110101001")
