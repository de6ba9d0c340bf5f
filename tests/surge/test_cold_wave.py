"""A declared cold wave gathers heating complaints into one master case, gives them its time
limits and dispatch rule, and one reply reaches every caller; at its end the rules go back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.errors import Forbidden
from jiesu.jobs import run_tick_once
from jiesu.kit.clock import FixedClock
from jiesu.loop.models import CallbackTask
from jiesu.privacy.audit import verify
from jiesu.surge.models import SurgeAttachment
from jiesu.surge.service import bulk_reply, end_event
from jiesu.workflow.models import Event
from jiesu.workflow.service import apply_action
from surgekit import HEAT_CO, HEATING, call, declare_cold_wave, make_surge_world


def _kinds(session: Session, req_id: int) -> list[str]:
    q = select(Event.kind).where(Event.request_id == req_id).order_by(Event.seq)
    return list(session.scalars(q))


def test_a_cold_wave_gathers_heating_callers_into_one_master_case(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    event, warnings = declare_cold_wave(session, world, now)
    assert warnings == []
    (case,) = event.cases
    master = case.request
    assert master.channel == "proactive" and master.area.code == "110101"
    # The master case is the heating company's work order, by the event's rule.
    assert master.status == "dispatched" and master.lead_unit.code == HEAT_CO

    callers = [
        call(session, world, now + timedelta(minutes=5), area="110101001", phone="13800138001"),
        call(session, world, now + timedelta(minutes=9), area="110101008", phone="13800138002"),
        call(
            session,
            world,
            now + timedelta(minutes=12),
            text="小区供暖管道漏水，楼道里全是水",
            area="110101008",
            phone="13800138003",
        ),
    ]
    noise = call(session, world, now, text="楼下饭店夜里施工，噪音很大", category="010101")
    outside = call(session, world, now, area="110102", phone="13800138009")
    session.commit()

    attached = session.scalars(select(SurgeAttachment).order_by(SurgeAttachment.id)).all()
    assert [a.request_id for a in attached] == [r.id for r in callers]
    assert {a.case_id for a in attached} == {case.id}
    for req in callers:
        # Each caller keeps a ticket, deadlines and history of its own.
        assert req.ticket != master.ticket and req.duplicate_of_id is None
        assert _kinds(session, req.id)[:3] == ["received", "surge_attached", "dispatch"]
        assert req.lead_unit.code == HEAT_CO
        assert req.response_due == req.received_at + timedelta(hours=1)
        assert req.handling_due == req.received_at + timedelta(hours=12)
    assert _kinds(session, master.id).count("surge_caller") == 3
    # Not heating, or not in the event's area: the usual rules (the catalogue is empty here,
    # so nothing dispatches at intake, and the category's own 3-day limit would apply).
    for req in (noise, outside):
        assert (
            session.scalar(select(SurgeAttachment).where(SurgeAttachment.request_id == req.id))
            is None
        )
        assert req.status == "received"
    dispatch = outside
    apply_action(
        session, dispatch, "dispatch", actor=world.actor("disp"), now=now, ctx=world.ctx,
        params={"unit": HEAT_CO},
    )  # fmt: skip
    assert dispatch.handling_due - now > timedelta(days=2)

    # One reply reaches every caller, each in its own timeline, through the workflow.
    result = bulk_reply(
        session, event, "热力集团已完成抢修，供暖恢复正常。", actor=world.actor("sup"),
        now=now + timedelta(hours=2), ctx=world.ctx,
    )  # fmt: skip
    session.commit()
    assert sorted(result.replied) == sorted(r.ticket for r in callers)
    assert result.skipped == []
    for req in callers:
        assert req.status == "replied"
        reply = session.scalar(
            select(Event).where(Event.request_id == req.id, Event.kind == "reply")
        )
        assert reply is not None and reply.payload["via"] == {
            "event": event.id,
            "master": master.ticket,
        }
        assert reply.payload["late"] is False
        # Scored once for all: the same text to each caller is not copy-paste.
        assert reply.payload["quality"]["bulk"] is True
        assert "copy of an earlier reply" not in " ".join(reply.payload["quality"]["flags"])
        # Each caller is called back on their own.
        assert session.scalar(select(CallbackTask).where(CallbackTask.request_id == req.id))
    bulk = session.scalar(
        select(Event).where(Event.request_id == master.id, Event.kind == "surge_bulk_reply")
    )
    assert bulk is not None and sorted(bulk.payload["replied"]) == sorted(r.ticket for r in callers)

    # Each caller's own answer at call-back stays theirs.
    for req, satisfaction in zip(callers, ("satisfied", "basically", "unsatisfied"), strict=True):
        apply_action(
            session, req, "call_back", actor=world.actor("op"), now=now + timedelta(hours=3),
            ctx=world.ctx, params={"resolution": "solved", "satisfaction": satisfaction},
        )  # fmt: skip
    assert [r.satisfaction for r in callers] == ["satisfied", "basically", "unsatisfied"]
    session.commit()
    assert verify(session, tz=world.ctx.tz).ok


def test_a_second_bulk_reply_skips_callers_already_answered_and_says_why(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    event, _ = declare_cold_wave(session, world, now)
    first = call(session, world, now)
    sup = world.actor("sup")
    bulk_reply(session, event, "已恢复供暖", actor=sup, now=now, ctx=world.ctx)
    second = call(session, world, now + timedelta(minutes=1), phone="13900139000")
    result = bulk_reply(session, event, "已恢复供暖", actor=sup, now=now, ctx=world.ctx)
    assert result.replied == [second.ticket]
    assert result.skipped == [(first.ticket, "it is replied")]


def test_ending_the_event_puts_the_rules_back_and_keeps_its_report(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    event, _ = declare_cold_wave(session, world, now)
    during = call(session, world, now)
    sup = world.actor("sup")
    end_event(session, event, actor=sup, now=now + timedelta(hours=5), note="降温结束")
    session.commit()
    assert event.ended_at == now + timedelta(hours=5) and event.end_reason == "declared"
    after = call(session, world, now + timedelta(hours=6), phone="13900139000")
    # Not attached, not dispatched by the temporary rule, and the category's own limits.
    assert (
        session.scalar(select(SurgeAttachment).where(SurgeAttachment.request_id == after.id))
        is None
    )
    assert after.status == "received"
    apply_action(
        session, after, "dispatch", actor=world.actor("disp"), now=now + timedelta(hours=6),
        ctx=world.ctx, params={"unit": HEAT_CO},
    )  # fmt: skip
    assert after.category.code == HEATING
    assert after.handling_due - after.received_at > timedelta(days=2)
    # What was given during the event stays: the unit is measured by the deadline it got.
    assert during.handling_due == during.received_at + timedelta(hours=12)
    master = event.cases[0].request
    assert _kinds(session, master.id)[-1] == "surge_ended"
    assert event.report is not None and event.report["callers"] == 1
    assert event.report["times"]["end_reason"] == "declared"
    assert event.report_html is not None and "2026年11月寒潮" in event.report_html


def test_the_tick_ends_an_event_at_its_end_time_under_the_job_lock(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    event, _ = declare_cold_wave(session, world, now)
    call(session, world, now)
    session.commit()
    # Past its end time but before the tick: no new caller is attached any more.
    past = event.ends_at + timedelta(minutes=1)
    late = call(session, world, past, phone="13900139000")
    assert (
        session.scalar(select(SurgeAttachment).where(SurgeAttachment.request_id == late.id)) is None
    )
    session.commit()
    result = run_tick_once(session, now=past)
    assert result is not None and result.events_ended == 1
    session.refresh(event)
    assert event.end_reason == "end_time" and event.ended_by == "system"
    # Its rules stopped at its end time, whenever the tick noticed.
    assert event.ended_at == event.ends_at
    assert event.report is not None and event.report["callers"] == 1
    again = run_tick_once(session, now=past + timedelta(minutes=1))
    assert again is not None and again.events_ended == 0


def test_the_heating_companys_handler_replies_for_its_master_case_only(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    event, _ = declare_cold_wave(session, world, now)
    req = call(session, world, now)
    with pytest.raises(Forbidden):
        bulk_reply(session, event, "已修复", actor=world.actor("h1"), now=now, ctx=world.ctx)
    result = bulk_reply(session, event, "已修复", actor=world.actor("heat"), now=now, ctx=world.ctx)
    assert result.replied == [req.ticket]
    accept = session.scalar(select(Event).where(Event.request_id == req.id, Event.kind == "accept"))
    assert accept is not None and accept.actor == "heat"
