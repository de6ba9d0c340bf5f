"""Random walks through the workflow, on SQLite and PostgreSQL.

Each example files one to three requests and then takes random steps: any action (legal or not,
plus an unknown one) by any user, with parameters that are sometimes right and sometimes
missing or wrong, the clock moving forward by minutes to days, and now and then the overdue
tick. Every step must either follow a row of the transitions table or change nothing at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from jiesu.errors import BadInput, Conflict, Forbidden, IllegalAction
from jiesu.evidence.models import EvidenceFile
from jiesu.kit.clock import FixedClock
from jiesu.notify.models import DeliveryAttempt, Notification
from jiesu.people.service import SYSTEM_ACTOR, Actor
from jiesu.privacy.audit import verify
from jiesu.privacy.models import AuditDigest
from jiesu.workflow.models import Contact, Event, ServiceRequest, request_assisting_units
from jiesu.workflow.service import actions_for, apply_action, mark_overdue
from jiesu.workflow.transitions import STARTS_DEADLINES, STATUSES, TRANSITIONS, target_status

from factories import World, make_request, make_world

PEOPLE = ("op", "disp", "sup", "h1", "h2", "citizen", "analyst", "admin")
UNITS = ("ST-110101001", "ST-110101008", "DG-110101", "PS-WATER", "CB-CGW", "PF-MEITUAN")
CATEGORIES = ("010101", "010102", "010103", "010104")
URGENCIES = ("emergency", "utility", "general", "complex")
RETURN_WINDOW = timedelta(hours=24)
SITUATIONAL = frozenset(
    {"redispatch", "contest", "uphold_dispute", "reject_dispute", "whistle", "report"}
)
ACTIONS = (*TRANSITIONS, "teleport")  # "teleport" is not an action at all
# Early enough that the longest walk plus a 15-working-day limit stays inside 2026.
START = datetime(2026, 1, 2, 1, 30, tzinfo=UTC)
WITH_LEAD_UNIT = frozenset({"dispatched", "accepted", "replied", "called_back", "closed"})
WITHOUT_LEAD_UNIT = frozenset({"received", "returned", "answered"})

TEXT = st.sampled_from(["已协调处理", "  群众反映属实  ", "", "   ", None, 7, "长" * 10_001])
SOME_TEXT = st.sampled_from(["已协调处理", "经核实，已安排整改"])


@pytest.fixture
def actors(session: Session) -> tuple[World, dict[str, Actor]]:
    world = make_world(session, START)
    session.commit()
    people = {name: world.actor(name) for name in PEOPLE}
    return world, people | {"system": SYSTEM_ACTOR}


def fresh_start(session: Session) -> None:
    """Forget the requests of earlier examples (the city and the users stay)."""
    session.rollback()
    session.execute(update(ServiceRequest).values(duplicate_of_id=None))
    for table in (
        DeliveryAttempt.__table__, Notification.__table__, EvidenceFile.__table__,
        Event.__table__, request_assisting_units, Contact.__table__,
    ):  # fmt: skip
        session.execute(delete(table))
    session.execute(delete(ServiceRequest.__table__))
    session.execute(delete(AuditDigest.__table__))
    session.commit()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (ServiceRequest, Event, Contact)):
            session.expunge(obj)


def snapshot(req: ServiceRequest) -> dict[str, Any]:
    """Everything an action may change on the request row."""
    return {
        "status": req.status,
        "event_count": req.event_count,
        "chain_head": req.chain_head,
        "response_due": req.response_due,
        "handling_due": req.handling_due,
        "response_overdue": req.response_overdue,
        "handling_overdue": req.handling_overdue,
        "lead_unit": req.lead_unit.code if req.lead_unit else None,
        "assisting_units": sorted(u.code for u in req.assisting_units),
        "category": req.category.code if req.category else None,
        "category_confirmed": req.category_confirmed,
        "urgency": req.urgency,
        "dispatched_at": req.dispatched_at,
        "accepted_at": req.accepted_at,
        "replied_at": req.replied_at,
        "closed_at": req.closed_at,
        "duplicate_of": req.duplicate_of.ticket if req.duplicate_of else None,
        "return_count": req.return_count,
        "reopen_count": req.reopen_count,
        "solved": req.solved,
        "satisfaction": req.satisfaction,
    }


def expected_refusal(req: ServiceRequest, action: str, actor: Actor) -> type[Exception] | None:
    """What the transitions table says about this action now: None if it is allowed."""
    t = TRANSITIONS.get(action)
    if t is None:
        return BadInput
    # Who may act is checked before the state: a refused role learns nothing of the state.
    if actor.role not in t.roles:
        return Forbidden
    lead = req.lead_unit.id if req.lead_unit else None
    if actor.role == "handler":
        is_lead = actor.unit_id is not None and actor.unit_id == lead
        assisting = any(u.id == actor.unit_id for u in req.assisting_units)
        if (t.lead_unit_only and not is_lead) or not (is_lead or assisting):
            return Forbidden
    if req.status not in t.sources:
        return IllegalAction
    return None


def valid_params(
    data: st.DataObject, action: str, req: ServiceRequest, others: list[ServiceRequest]
) -> tuple[dict[str, Any], bool]:
    """Parameters that should be accepted, and whether success is certain with them."""
    lead = req.lead_unit.code if req.lead_unit else None
    if action == "dispatch":
        unit = data.draw(st.sampled_from(UNITS[:2] * 3 + UNITS))
        params: dict[str, Any] = {"unit": unit}
        extras = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "category": st.sampled_from(CATEGORIES),
                    "urgency": st.sampled_from(URGENCIES),
                    "assisting_units": st.lists(
                        st.sampled_from([u for u in UNITS if u != unit]), max_size=2, unique=True
                    ),
                    "note": SOME_TEXT,
                },
            )
        )
        return params | extras, True
    if action == "transfer":
        unit = data.draw(st.sampled_from([u for u in UNITS if u != lead]))
        return {"unit": unit, "reason": data.draw(SOME_TEXT)}, True
    if action in ("return", "reopen", "mark_invalid", "reject_invalid"):
        return {"reason": data.draw(SOME_TEXT)}, True
    if action in ("reply", "note", "answer"):
        return {"text": data.draw(SOME_TEXT)}, True
    if action == "call_back":
        return {
            "solved": data.draw(st.booleans()),
            "satisfaction": data.draw(st.sampled_from(["satisfied", "basically", "unsatisfied"])),
        }, True
    if action == "merge":
        if not others:
            return {"into": req.ticket}, False
        target = data.draw(st.sampled_from(others))
        return {"into": target.ticket}, target.status not in ("merged", "invalid")
    if action == "categorize":
        return {"category": data.draw(st.sampled_from(CATEGORIES))}, True
    # Dispatch's own actions depend on the case (the lead unit's kind, an open dispute, a
    # summons): valid-looking parameters may still be refused with a Conflict.
    if action == "redispatch":
        return {"unit": data.draw(st.sampled_from(UNITS))}, False
    if action == "contest":
        return {"reason": data.draw(SOME_TEXT)}, False
    if action in ("uphold_dispute", "reject_dispute"):
        return {"note": data.draw(SOME_TEXT), "unit": data.draw(st.sampled_from(UNITS))}, False
    if action == "whistle":
        units = data.draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=2, unique=True))
        return {"units": units, "reason": data.draw(SOME_TEXT)}, False
    if action == "report":
        return {"text": data.draw(SOME_TEXT), "unit": data.draw(st.sampled_from(UNITS))}, False
    if action in ("close", "confirm_invalid"):
        return data.draw(st.sampled_from([{}, {"note": "已办结"}])), True
    return {}, action in TRANSITIONS


def noisy_params(data: st.DataObject, tickets: list[str]) -> dict[str, Any]:
    """Any mix of parameters, often missing, blank, of the wrong type or unknown."""
    return data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "unit": st.sampled_from([*UNITS, "NOPE", "东华门街道办事处", "", 7]),
                "reason": TEXT,
                "text": TEXT,
                "note": TEXT,
                "solved": st.sampled_from([True, False, "yes", None, 1]),
                "satisfaction": st.sampled_from(["satisfied", "unsatisfied", "meh", None]),
                "into": st.sampled_from([*tickets, "20260101-ZZZZZZ", "", None]),
                "category": st.sampled_from([*CATEGORIES, "999999", "噪音扰民", ""]),
                "urgency": st.sampled_from([*URGENCIES, "panic", ""]),
                "assisting_units": st.lists(st.sampled_from([*UNITS, "NOPE"]), max_size=2),
            },
        )
    )


def check_events(session: Session, reqs: list[ServiceRequest]) -> None:
    """Seq is 1..n; each event's statuses follow the table and chain into the next event."""
    rows = session.execute(
        select(Event.request_id, Event.seq, Event.kind, Event.from_status, Event.to_status)
        .where(Event.request_id.in_([r.id for r in reqs]))
        .order_by(Event.request_id, Event.seq)
    ).all()
    for req in reqs:
        events = [r for r in rows if r.request_id == req.id]
        assert [e.seq for e in events] == list(range(1, req.event_count + 1))
        assert (events[0].kind, events[0].from_status, events[0].to_status) == (
            "received",
            None,
            "received",
        )
        for before, after in pairwise(events):
            assert after.from_status == before.to_status, (before, after)
        for e in events[1:]:
            if e.kind == "overdue":
                assert e.from_status == e.to_status and e.to_status in ("dispatched", "accepted")
            else:
                assert e.from_status in TRANSITIONS[e.kind].sources, e
                assert e.to_status == target_status(e.kind, e.from_status), e
        assert events[-1].to_status == req.status


def check_request(req: ServiceRequest) -> None:
    assert req.status in STATUSES
    if req.status in WITH_LEAD_UNIT:
        assert req.lead_unit is not None, req.status
    if req.status in WITHOUT_LEAD_UNIT:
        assert req.lead_unit is None, req.status
    if req.status in ("dispatched", "accepted", "replied", "called_back", "closed"):
        assert req.response_due is not None and req.handling_due is not None


def forward(status: str) -> list[str]:
    near = [a for a, t in TRANSITIONS.items() if status in t.sources]
    sinks = {"merge", "mark_invalid", "note"}
    return [a for a in near if a not in sinks] * 4 + near


def capable(people: dict[str, Actor], req: ServiceRequest, action: str) -> list[str]:
    roles = TRANSITIONS[action].roles
    lead = req.lead_unit.id if req.lead_unit else None
    names = [
        n
        for n, a in sorted(people.items())
        if a.role in roles and (a.role != "handler" or a.unit_id == lead)
    ]
    return names or sorted(people)


def not_earlier(after: datetime | None, before: datetime | None) -> bool:
    return before is None or (after is not None and after >= before)


def take_step(
    session: Session,
    world: World,
    people: dict[str, Actor],
    reqs: list[ServiceRequest],
    now: datetime,
    data: st.DataObject,
) -> None:
    req = data.draw(st.sampled_from(reqs))
    others = [r for r in reqs if r is not req]
    if data.draw(st.integers(0, 2)) > 0:
        # Aimed: an action the table allows from this status, mostly forward along the main
        # path, by someone whose role may take it; half the time with good parameters.
        action = data.draw(st.sampled_from(forward(req.status)))
        name = data.draw(st.sampled_from(capable(people, req, action)))
    else:
        action = data.draw(st.sampled_from(ACTIONS))
        name = data.draw(st.sampled_from(sorted(people)))
    actor = people[name]
    if data.draw(st.integers(0, 3)) > 0:
        params, sure = valid_params(data, action, req, others)
    else:
        params, sure = noisy_params(data, [r.ticket for r in reqs]), False

    refusal = expected_refusal(req, action, actor)
    shown = actions_for(req, actor)
    # The table says whether the action exists for this role and status; the return window
    # (24 hours after dispatch with no catalogue) may still refuse a late return.
    late = req.dispatched_at is not None and now > req.dispatched_at + RETURN_WINDOW
    timed = Conflict if refusal is None and action == "return" and late else None
    assert (action in shown) == (refusal is None), (action, name, req.status, shown)
    assert shown == [a for a in TRANSITIONS if expected_refusal(req, a, actor) is None]

    before = snapshot(req)
    try:
        event = apply_action(
            session, req, action, actor=actor, now=now, ctx=world.ctx, params=params
        )
    except (Conflict, Forbidden, BadInput) as exc:
        # Parameter problems (BadInput) may only show up once the action itself is allowed.
        expected = refusal or ((timed, BadInput) if timed else BadInput)
        if refusal is None and action in SITUATIONAL:
            expected = (Conflict, BadInput)
        assert isinstance(exc, expected), (
            f"{name} {action} {params} on {before['status']}: got {exc!r}, table says {refusal}"
        )
        assert not sure or refusal is not None or timed is not None, (
            f"valid {action} {params} was refused: {exc!r}"
        )
        assert snapshot(req) == before, f"failed {action} {params} changed the request"
        return

    assert refusal is None, f"{name} {action} on {before['status']} should have been refused"
    assert timed is None, f"a return {now - req.dispatched_at} after dispatch was accepted"
    after = snapshot(req)
    assert after["status"] == target_status(action, before["status"])
    assert (event.kind, event.seq) == (action, before["event_count"] + 1)
    assert (event.from_status, event.to_status) == (before["status"], after["status"])
    assert after["event_count"] == before["event_count"] + 1
    for due in ("response_due", "handling_due"):
        if action in STARTS_DEADLINES:
            assert after[due] is not None
        else:
            assert after[due] == before[due], (action, due)
        if action != "reopen":
            assert not_earlier(after[due], before[due]), (action, due, before[due], after[due])


def tick(session: Session, reqs: list[ServiceRequest], now: datetime) -> None:
    before = {r.id: snapshot(r) for r in reqs}
    result = mark_overdue(session, now=now)
    flips = {"response_overdue": 0, "handling_overdue": 0}
    for req in reqs:
        old, new = before[req.id], snapshot(req)
        changed = {k for k in old if old[k] != new[k]}
        assert changed <= {"response_overdue", "handling_overdue", "event_count", "chain_head"}
        for flag, statuses, due in (
            ("response_overdue", ("dispatched",), "response_due"),
            ("handling_overdue", ("dispatched", "accepted"), "handling_due"),
        ):
            if flag in changed:
                assert new[flag] and req.status in statuses and new[due] <= now
                flips[flag] += 1
            elif req.status in statuses and new[due] is not None and new[due] <= now:
                assert new[flag], f"{flag} missed on a {req.status} request"
        assert new["event_count"] == old["event_count"] + len(changed & set(flips))
    assert (result.response_overdue, result.handling_overdue) == (
        flips["response_overdue"],
        flips["handling_overdue"],
    )


# Up to 40 steps of at most two days: with the latest start and a 15-working-day limit, the
# deadlines still fall inside 2026, the last year of the built-in calendar.
MINUTES = st.integers(0, 90) | st.integers(90, 24 * 60) | st.integers(24 * 60, 2 * 24 * 60)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_walks_follow_the_transitions_table(
    session: Session, actors: tuple[World, dict[str, Actor]], data: st.DataObject
) -> None:
    world, people = actors
    fresh_start(session)
    clock = FixedClock(
        START
        + timedelta(days=data.draw(st.integers(0, 200)), minutes=data.draw(st.integers(0, 1439)))
    )
    reqs = [
        make_request(
            session,
            world,
            clock.now(),
            category=data.draw(st.sampled_from(CATEGORIES)),
            urgency=data.draw(st.none() | st.sampled_from(URGENCIES)),
        )
        for _ in range(data.draw(st.integers(1, 3)))
    ]
    for _ in range(data.draw(st.integers(1, 40))):
        clock.advance(timedelta(minutes=data.draw(MINUTES)))
        assert clock.now().year == 2026
        if data.draw(st.integers(0, 5)) == 0:
            tick(session, reqs, clock.now())
        else:
            take_step(session, world, people, reqs, clock.now(), data)
        for req in reqs:
            check_request(req)
        check_events(session, reqs)
    session.commit()
    report = verify(session, tz=world.ctx.tz)
    assert report.ok, [str(b) for b in report.breaks]
    assert report.requests == len(reqs)


# Found by the walk above, kept as plain examples.
PATHS = {
    "received": [],
    "accepted": [("dispatch", "disp", {"unit": "ST-110101001"}), ("accept", "h1", {})],
    "called_back": [
        ("dispatch", "disp", {"unit": "ST-110101001"}),
        ("accept", "h1", {}),
        ("reply", "h1", {"text": "已处理"}),
        ("call_back", "op", {"solved": True, "satisfaction": "satisfied"}),
    ],
    "invalid_pending": [
        ("dispatch", "disp", {"unit": "ST-110101001"}),
        ("mark_invalid", "op", {"reason": "重复来电"}),
    ],
}
REFUSED = [
    ("received", "dispatch", "disp", {"category": "010102", "urgency": "panic", "unit": "X"}),
    ("received", "dispatch", "disp", {"category": "010103", "unit": "NOPE"}),
    ("received", "mark_invalid", "op", {}),
    ("accepted", "reply", "h1", {"text": "  "}),
    ("called_back", "close", "op", {"note": 7}),
    ("invalid_pending", "confirm_invalid", "sup", {"note": ["x"]}),
    ("invalid_pending", "reject_invalid", "sup", {}),
]


@pytest.mark.parametrize("status, action, who, params", REFUSED)
def test_refused_action_changes_nothing(
    session: Session,
    actors: tuple[World, dict[str, Actor]],
    status: str,
    action: str,
    who: str,
    params: dict[str, Any],
) -> None:
    world, people = actors
    req = make_request(session, world, START)
    for step, by, good in PATHS[status]:
        apply_action(session, req, step, actor=people[by], now=START, ctx=world.ctx, params=good)
    assert req.status == status
    before = snapshot(req)
    with pytest.raises(BadInput):
        apply_action(
            session, req, action, actor=people[who], now=START, ctx=world.ctx, params=params
        )
    assert snapshot(req) == before
    session.commit()
    assert verify(session, tz=world.ctx.tz).ok


def test_assisting_unit_named_twice_assists_once(
    session: Session, actors: tuple[World, dict[str, Actor]]
) -> None:
    world, people = actors
    req = make_request(session, world, START)
    event = apply_action(
        session,
        req,
        "dispatch",
        actor=people["disp"],
        now=START,
        ctx=world.ctx,
        params={"unit": "ST-110101001", "assisting_units": ["CB-CGW", "市城市管理委员会"]},
    )
    session.commit()
    assert [u.code for u in req.assisting_units] == ["CB-CGW"]
    assert event.payload["assisting_units"] == ["CB-CGW"]
