"""Dispatch through the workflow: at intake, by a dispatcher following or overruling the
catalogue, returns inside and outside the window, and what each dispatch records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.dispatch.models import Assignment
from jiesu.dispatch.service import decide_for, save_catalogue
from jiesu.errors import BadInput, Conflict
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import Event
from jiesu.workflow.service import apply_action

from factories import make_request, make_world

CATALOGUE: dict[str, Any] = {
    "settings": {"auto_dispatch": True, "return_window": "2h"},
    "rules": [
        {"id": "urban", "match": {"categories": ["01"]}, "lead": {"role": "street_office"}},
        {
            "id": "water",
            "match": {"categories": ["010102"]},
            "lead": "PS-WATER",
            "assisting": [{"role": "street_office"}],
            "deadlines": {"response": "1h", "handling": "12h"},
        },
    ],
}


def last_event(session: Session, request_id: int, kind: str) -> Event:
    return session.scalars(
        select(Event)
        .where(Event.request_id == request_id, Event.kind == kind)
        .order_by(Event.seq.desc())
    ).first()  # type: ignore[return-value]


def assignments(session: Session, request_id: int) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment).where(Assignment.request_id == request_id).order_by(Assignment.id)
        )
    )


def test_a_rule_dispatches_at_intake_and_says_why(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    save_catalogue(session, CATALOGUE, by="admin", source="test", now=clock.now())
    req = make_request(session, world, clock.now(), text="小区停水两天了", category="010102")
    assert req.status == "dispatched" and req.lead_unit is not None
    assert req.lead_unit.code == "PS-WATER"
    assert [u.code for u in req.assisting_units] == ["ST-110101001"]
    event = last_event(session, req.id, "dispatch")
    assert event.actor == "dispatch-catalogue"
    p = event.payload
    assert (p["source"], p["rule"], p["confidence"], p["catalogue_version"]) == (
        "rule",
        "water",
        1.0,
        1,
    )
    assert p["reasons"] and "自来水" in p["reasons"][0]
    # The rule's own limits, not the category's.
    assert (p["response_limit"], p["handling_limit"]) == ("1h", "12h")
    assert req.response_due == clock.now() + timedelta(hours=1)
    [a] = assignments(session, req.id)
    assert (a.source, a.rule, a.confidence, a.assisting) == ("rule", "water", 1.0, ["ST-110101001"])


def test_without_auto_dispatch_the_dispatcher_follows_or_overrules(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    save_catalogue(
        session,
        CATALOGUE | {"settings": {"auto_dispatch": False}},
        by="admin",
        source="t",
        now=clock.now(),
    )
    req = make_request(session, world, clock.now())
    assert req.status == "received"
    suggestion = decide_for(session, req, world.ctx.tz)
    assert (suggestion.unit, suggestion.rule) == ("ST-110101001", "urban")
    # No unit given: the catalogue's choice, recorded as the rule's.
    apply_action(
        session, req, "dispatch", actor=world.actor("disp"), now=clock.now(), ctx=world.ctx
    )
    assert req.lead_unit.code == "ST-110101001"  # type: ignore[union-attr]
    assert last_event(session, req.id, "dispatch").payload["source"] == "rule"
    other = make_request(session, world, clock.now())
    apply_action(
        session,
        other,
        "dispatch",
        actor=world.actor("disp"),
        now=clock.now(),
        ctx=world.ctx,
        params={"unit": "CB-CGW"},
    )
    p = last_event(session, other.id, "dispatch").payload
    assert (p["source"], p["suggested_unit"]) == ("manual", "ST-110101001")
    [a] = assignments(session, other.id)
    assert (a.source, a.suggested_unit, a.rule) == ("manual", "ST-110101001", None)


def test_no_rule_and_no_unit_given_is_refused_with_suggestions(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    with pytest.raises(BadInput) as err:
        apply_action(
            session, req, "dispatch", actor=world.actor("disp"), now=clock.now(), ctx=world.ctx
        )
    assert str(err.value).startswith("unit: ") and "东华门街道办事处" in str(err.value)
    assert req.status == "received"


def test_a_return_goes_back_with_new_suggestions_and_only_inside_the_window(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    save_catalogue(session, CATALOGUE, by="admin", source="test", now=clock.now())
    req = make_request(session, world, clock.now())
    assert req.lead_unit.code == "ST-110101001"  # type: ignore[union-attr]
    h1 = world.actor("h1")
    with pytest.raises(BadInput, match="reason"):
        apply_action(session, req, "return", actor=h1, now=clock.now(), ctx=world.ctx)
    apply_action(
        session,
        req,
        "return",
        actor=h1,
        now=clock.now() + timedelta(hours=1),
        ctx=world.ctx,
        params={"reason": "not our street: the address is in 交道口"},
    )
    assert req.status == "returned"
    [a] = assignments(session, req.id)
    assert a.outcome == "returned" and a.ended_at is not None
    again = decide_for(session, req, world.ctx.tz)
    # The street office that returned it is out; the district owns the place (兜底).
    assert again.unit == "DG-110101" and again.source == "fallback"
    assert "ST-110101001" not in [s.unit for s in again.suggestions]
    apply_action(
        session,
        req,
        "dispatch",
        actor=world.actor("disp"),
        now=clock.now(),
        ctx=world.ctx,
        params={"unit": "ST-110101008"},
    )
    assert [x.outcome for x in assignments(session, req.id)] == ["returned", None]
    late = clock.now() + timedelta(hours=2, minutes=1)
    with pytest.raises(Conflict, match="return window"):
        apply_action(
            session,
            req,
            "return",
            actor=world.actor("h2"),
            now=late,
            ctx=world.ctx,
            params={"reason": "太晚了"},
        )
    assert req.status == "dispatched"


def test_auto_dispatch_does_not_confirm_a_machine_category(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    save_catalogue(session, CATALOGUE, by="admin", source="test", now=clock.now())
    req = make_request(session, world, clock.now(), category=None, text="小区停水了，停水两天")
    if req.category is None:
        pytest.skip("the keyword classifier did not apply a category to this text")
    assert req.status == "dispatched" and not req.category_confirmed


def test_imported_history_is_not_dispatched(session: Session, clock: FixedClock) -> None:
    from jiesu.intake.schemas import RequestIn
    from jiesu.intake.service import submit_request

    world = make_world(session, clock.now())
    save_catalogue(session, CATALOGUE, by="admin", source="test", now=clock.now())
    req, _ = submit_request(
        session,
        RequestIn(text="停水", category="010102", area="110101001", channel="import"),
        actor=world.actor("op"),
        now=clock.now(),
        ctx=world.ctx,
        live=False,
    )
    assert req.status == "received"


def test_saving_the_same_catalogue_twice_keeps_one_version(
    session: Session, clock: FixedClock
) -> None:
    make_world(session, clock.now())
    first = save_catalogue(session, CATALOGUE, by="admin", source="a", now=clock.now())
    again = save_catalogue(session, CATALOGUE, by="admin", source="b", now=clock.now())
    assert first.version == again.version == 1
    changed = save_catalogue(
        session,
        CATALOGUE | {"settings": {"auto_dispatch": False}},
        by="admin",
        source="c",
        now=clock.now(),
    )
    assert changed.version == 2 and changed.active and not first.active


def test_a_sensors_own_routing_is_recorded_as_such(session: Session, clock: FixedClock) -> None:
    from jiesu.people.service import Actor

    world = make_world(session, clock.now())
    save_catalogue(session, CATALOGUE | {"settings": {}}, by="admin", source="t", now=clock.now())
    req = make_request(session, world, clock.now())
    params = {"unit": "ST-110101008", "routed_by": "网格所属街道（乡镇）"}
    with pytest.raises(BadInput, match="routed_by"):
        apply_action(
            session,
            req,
            "dispatch",
            actor=world.actor("disp"),
            now=clock.now(),
            ctx=world.ctx,
            params=params,
        )
    gateway = Actor(None, "sensor-gateway", "dispatcher")
    apply_action(
        session, req, "dispatch", actor=gateway, now=clock.now(), ctx=world.ctx, params=params
    )
    p = last_event(session, req.id, "dispatch").payload
    assert (p["source"], p["reasons"]) == ("sensor", ["网格所属街道（乡镇）"])
    assert p["suggested_unit"] == "ST-110101001"
    [a] = assignments(session, req.id)
    assert (a.source, a.reasons, a.confidence) == ("sensor", ["网格所属街道（乡镇）"], None)
