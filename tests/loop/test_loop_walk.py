"""Requests walked through reply → call-back → (reopen →) close, and every rate checked by hand.

November 2026, unit A (ST-110101001), default definitions (0.2/0.4/0.4, partly = 0.5,
basically = 0.8), default loop policy (unsolved or unsatisfied reopens; 3 attempts):

L1 accepted in time; solved, satisfied → closed. M1 was merged into L1: its caller gets a task.
L2 accepted in time; partly solved, basically satisfied → closed. An exclusion was asked for
   and refused: it still counts.
L3 accepted in time; unsolved, unsatisfied → reopened to A with new deadlines; accepted in time
   again; solved, satisfied → closed.
L4 accepted late (30 h > 24 h); three calls, nobody answered → unreachable, closed.
L5 accepted late; solved, satisfied → closed; exclusion approved → out of every rate.

    response     = L1, L2, L3 in time; L4 late          = 3 / 4                = 0.75
    resolution   = (1 + 0.5 + 1) / 3 answers (L4 apart)  = 2.5 / 3
    satisfaction = (1 + 0.8 + 1) / 3                     = 2.8 / 3
    score        = 100 × (0.2 × 0.75 + 0.4 × 2.5/3 + 0.4 × 2.8/3) = 85.666…
    assessed 4 (L1–L4), unreachable 1, excluded 1, reopened 1 → reopen rate 1/4
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.loop.callbacks import UNREACHABLE_EVENT, current_task, queue, record_attempt
from jiesu.loop.exclusions import decide_exclusion, request_exclusion
from jiesu.loop.models import CallbackTask
from jiesu.loop.service import answer
from jiesu.privacy.audit import verify
from jiesu.rates.compute import rates_report
from jiesu.rates.query import build_query
from jiesu.workflow.models import Event, ServiceRequest
from loopkit import A, replied, run

from factories import World, make_request

AS_OF = datetime(2026, 12, 5, tzinfo=UTC)


def call(
    session: Session, world: World, clock: FixedClock, req: ServiceRequest, res: str, sat: str
) -> None:
    task = current_task(session, req)
    assert task is not None and task.status == "open"
    answer(
        session,
        task,
        resolution=res,
        satisfaction=sat,
        note=None,
        actor=world.actor("op"),
        now=clock.now(),
        ctx=world.ctx,
    )


def kinds(session: Session, req: ServiceRequest) -> list[str]:
    return list(
        session.scalars(select(Event.kind).where(Event.request_id == req.id).order_by(Event.seq))
    )


def test_walk_checks_every_rate_by_hand(session: Session, world: World, clock: FixedClock) -> None:
    op, h1, sup = world.actor("op"), world.actor("h1"), world.actor("sup")
    l1 = replied(session, world, clock, text="东华门大街夜间施工噪音扰民")
    m1 = make_request(session, world, clock.now(), text="东华门大街晚上施工太吵")
    run(session, world, m1, "merge", "disp", clock, into=l1.ticket)
    l2 = replied(session, world, clock, text="胡同里商户音响声音太大")
    l3 = replied(session, world, clock, text="小区门口工地凌晨施工")
    l4 = replied(session, world, clock, accept_after=timedelta(hours=30), text="广场舞音响扰民")
    l5 = replied(session, world, clock, accept_after=timedelta(hours=30), text="邻居装修噪音")
    clock.advance(timedelta(hours=1))

    call(session, world, clock, l1, "solved", "satisfied")
    assert l1.status == "closed" and (l1.solved, l1.resolution) == (True, "solved")
    merged_task = current_task(session, m1)
    assert merged_task is not None and merged_task.priority_reasons[0] == "merged_caller"

    x2 = request_exclusion(
        session,
        l2,
        reason="诉求人要求超出政策范围",
        actor=h1,
        now=clock.now(),
        evidence=[{"note": "政策文件第3条"}],
    )
    decide_exclusion(session, x2, approve=False, note="属于正常诉求", actor=sup, now=clock.now())
    call(session, world, clock, l2, "partly", "basically")
    assert l2.status == "closed" and l2.solved is False

    call(session, world, clock, l3, "unsolved", "unsatisfied")
    assert l3.status == "dispatched" and l3.reopen_count == 1 and l3.lead_unit.code == A
    assert l3.resolution is None and current_task(session, l3) is None
    clock.advance(timedelta(hours=2))
    run(session, world, l3, "accept", "h1", clock)
    run(session, world, l3, "reply", "h1", clock, text="已协调工地调整作业时间")
    task3 = current_task(session, l3)
    assert task3 is not None and task3.cycle == 1 and "reopened" in task3.priority_reasons
    # The reopened case comes first in the operators' queue.
    assert queue(session)[0].id == task3.id
    call(session, world, clock, l3, "solved", "satisfied")
    assert l3.status == "closed"

    task4 = current_task(session, l4)
    assert task4 is not None
    for _ in range(3):
        record_attempt(session, task4, reached=False, actor=op, now=clock.now(), note="无人接听")
        clock.advance(timedelta(hours=3))
    assert task4.status == "unreachable" and l4.status == "closed" and l4.solved is None
    assert kinds(session, l4)[-1] == UNREACHABLE_EVENT

    call(session, world, clock, l5, "solved", "satisfied")
    x5 = request_exclusion(
        session, l5, reason="同一人反复投诉已办结事项", actor=h1, now=clock.now()
    )
    decide_exclusion(session, x5, approve=True, note="核实属实", actor=sup, now=clock.now())
    assert kinds(session, l5)[-2:] == ["exclusion_requested", "exclusion_approved"]
    session.commit()
    assert clock.now() < datetime(2026, 11, 30, tzinfo=UTC)

    q = build_query(session, as_of=AS_OF, period="2026-11", by="unit")
    a = next(r for r in rates_report(session, q).rows if r.code == A)
    c = a.counts
    assert (c["response_due"], c["responded_in_time"], c["response_late"]) == (4, 3, 1)
    assert (c["assessed"], c["excluded"], c["unreachable"], c["called_back"]) == (4, 1, 1, 3)
    assert (c["solved"], c["partly"], c["unsolved"]) == (2, 1, 0)
    assert (c["satisfied"], c["basically"], c["unsatisfied"]) == (2, 1, 0)
    assert c["reopened"] == 1 and c["heat"] == 2 + 1 + 1 + 1
    assert a.rates.response == 0.75
    assert a.rates.resolution == pytest.approx(2.5 / 3)
    assert a.rates.satisfaction == pytest.approx(2.8 / 3)
    assert a.rates.score == pytest.approx(100 * (0.15 + 0.4 * 2.5 / 3 + 0.4 * 2.8 / 3), abs=0.01)
    assert a.rates.reopen_rate == 0.25
    # Every step left the audit chain intact.
    assert verify(session, tz=world.ctx.tz).ok


def test_bad_input_is_refused_and_nothing_counts_twice(
    session: Session, world: World, clock: FixedClock
) -> None:
    from jiesu.errors import BadInput, Conflict, IllegalAction

    fresh = make_request(session, world, clock.now())
    with pytest.raises(IllegalAction):  # never replied to
        run(
            session,
            world,
            fresh,
            "call_back",
            "op",
            clock,
            resolution="solved",
            satisfaction="satisfied",
        )
    req = replied(session, world, clock)
    with pytest.raises(BadInput, match="satisfaction"):
        run(session, world, req, "call_back", "op", clock, resolution="solved", satisfaction="very")
    with pytest.raises(BadInput, match="resolution"):
        run(
            session,
            world,
            req,
            "call_back",
            "op",
            clock,
            resolution="mostly",
            satisfaction="satisfied",
        )
    with pytest.raises(BadInput, match="solved"):
        run(
            session,
            world,
            req,
            "call_back",
            "op",
            clock,
            solved=True,
            resolution="partly",
            satisfaction="satisfied",
        )
    # The older yes/no form still works.
    run(session, world, req, "call_back", "op", clock, solved=False, satisfaction="basically")
    assert (req.resolution, req.solved) == ("unsolved", False)
    with pytest.raises(IllegalAction):  # a duplicate call-back in the same cycle
        run(
            session,
            world,
            req,
            "call_back",
            "op",
            clock,
            resolution="solved",
            satisfaction="satisfied",
        )
    tasks = session.scalars(select(CallbackTask).where(CallbackTask.request_id == req.id)).all()
    assert [(t.status, t.answer_channel) for t in tasks] == [("done", "phone")]
    assert kinds(session, req).count("call_back") == 1
    with pytest.raises(BadInput, match="reason"):
        request_exclusion(session, req, reason="  ", actor=world.actor("h1"), now=clock.now())
    with pytest.raises(BadInput, match="evidence"):
        request_exclusion(
            session,
            req,
            reason="x",
            evidence=[{"url": "ftp://x"}],
            actor=world.actor("h1"),
            now=clock.now(),
        )
    x = request_exclusion(session, req, reason="恶意重复", actor=world.actor("h1"), now=clock.now())
    with pytest.raises(Conflict):  # one open request at a time
        request_exclusion(session, req, reason="again", actor=world.actor("h1"), now=clock.now())
    decide_exclusion(session, x, approve=True, note="ok", actor=world.actor("sup"), now=clock.now())
    with pytest.raises(Conflict):  # decided once
        decide_exclusion(
            session, x, approve=False, note="no", actor=world.actor("sup"), now=clock.now()
        )


def test_priority_reasons(session: Session, world: World, clock: FixedClock) -> None:
    from jiesu.loop.callbacks import priority_of

    plain = replied(session, world, clock)
    p0, r0 = priority_of(session, plain)
    assert (p0, r0) == (10, [])
    plain.sentiment, plain.heat, plain.handling_overdue = -0.6, 3, True
    p1, r1 = priority_of(session, plain)
    assert r1 == ["angry", "heat", "overdue"] and p1 == 10 + 20 + 10 + 10


def test_overdue_without_reply_gets_a_task_and_the_reply_restarts_it(
    session: Session, world: World, clock: FixedClock
) -> None:
    from jiesu.loop.callbacks import create_due_callbacks

    req = make_request(session, world, clock.now())
    run(session, world, req, "dispatch", "disp", clock, unit=A)
    assert create_due_callbacks(session, clock.now()) == {"created": 0}
    clock.advance(timedelta(days=15))
    assert create_due_callbacks(session, clock.now()) == {"created": 1}
    assert create_due_callbacks(session, clock.now()) == {"created": 0}  # once
    task = current_task(session, req)
    assert task is not None and task.priority_reasons[0] == "overdue"
    # Nobody picks up while the unit is late: the request stays with the unit.
    for _ in range(3):
        record_attempt(session, task, reached=False, actor=world.actor("op"), now=clock.now())
    assert req.status == "dispatched" and task.status == "open"
    run(session, world, req, "accept", "h1", clock)
    run(session, world, req, "reply", "h1", clock, text="已处理")
    assert task.status == "open" and task.attempts == 0 and "replied" in task.priority_reasons


def test_vulnerable_callers_come_first(session: Session, world: World, clock: FixedClock) -> None:
    from jiesu.loop.callbacks import priority_of

    req = replied(session, world, clock, text="楼道电线裸露冒火花，家里有卧床老人和小孩，很危险")
    assert "vulnerable" in priority_of(session, req)[1]


def test_tick_settles_answers_and_caps_reopening(
    session: Session, world: World, clock: FixedClock
) -> None:
    from jiesu.loop.policy import LoopPolicy
    from jiesu.loop.service import run_loop_tick

    happy, unhappy = replied(session, world, clock), replied(session, world, clock)
    run(
        session,
        world,
        happy,
        "call_back",
        "op",
        clock,
        resolution="solved",
        satisfaction="satisfied",
    )
    run(
        session,
        world,
        unhappy,
        "call_back",
        "op",
        clock,
        resolution="partly",
        satisfaction="unsatisfied",
    )
    counts = run_loop_tick(session, now=clock.now())
    assert counts == {"callbacks_created": 0, "closed": 1, "reopened": 1}
    assert (happy.status, unhappy.status, unhappy.reopen_count) == ("closed", "dispatched", 1)
    # A second unsatisfied answer with max_reopens=1 closes: a supervisor decides from there.
    run(session, world, unhappy, "accept", "h1", clock)
    run(session, world, unhappy, "reply", "h1", clock, text="再次处理")
    run(
        session,
        world,
        unhappy,
        "call_back",
        "op",
        clock,
        resolution="unsolved",
        satisfaction="unsatisfied",
    )
    counts = run_loop_tick(session, now=clock.now(), policy=LoopPolicy(max_reopens=1))
    assert counts["closed"] == 1 and unhappy.status == "closed"
    # Automatic reopening can be switched off altogether.
    assert not LoopPolicy(auto_reopen=False).reopens("unsolved", "unsatisfied", 0)


def test_merged_callers_answer_is_heard_but_not_scored(
    session: Session, world: World, clock: FixedClock
) -> None:
    original = replied(session, world, clock)
    dup = make_request(session, world, clock.now(), text="同一工地夜间施工")
    run(session, world, dup, "merge", "disp", clock, into=original.ticket)
    assert current_task(session, dup) is None  # asked when the original is answered
    call(session, world, clock, original, "solved", "satisfied")
    task = current_task(session, dup)
    assert task is not None and task.status == "open"
    record_attempt(
        session, task, reached=True, actor=world.actor("op"), now=clock.now(), note="来电人表示满意"
    )
    assert task.status == "done" and dup.status == "merged"


def test_a_supervisor_may_reopen_to_another_unit(
    session: Session, world: World, clock: FixedClock
) -> None:
    from jiesu.errors import Forbidden

    req = replied(session, world, clock)
    run(
        session,
        world,
        req,
        "call_back",
        "op",
        clock,
        resolution="unsolved",
        satisfaction="unsatisfied",
    )
    with pytest.raises(Forbidden):
        run(session, world, req, "reopen", "op", clock, reason="换单位", unit="ST-110101008")
    run(session, world, req, "reopen", "sup", clock, reason="属交道口街道", unit="ST-110101008")
    assert (req.status, req.lead_unit.code, req.reopen_count) == ("dispatched", "ST-110101008", 1)
    run(session, world, req, "accept", "h2", clock)
    run(session, world, req, "reply", "h2", clock, text="已处理")
    task = current_task(session, req)
    assert task is not None and task.cycle == 1 and task.status == "open"
