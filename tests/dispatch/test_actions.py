"""Two-level dispatch, disputes and the whistle, through the workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.dispatch.actions import mark_summons_overdue
from jiesu.dispatch.models import Assignment, Dispute, Summons
from jiesu.dispatch.service import active_catalogue, save_catalogue
from jiesu.errors import BadInput, Conflict, Forbidden
from jiesu.kit.clock import FixedClock
from jiesu.people.service import Actor, create_user
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request, make_world

TWO_LEVEL: dict[str, Any] = {
    "settings": {"auto_dispatch": True},
    "rules": [
        {"id": "urban", "match": {"categories": ["01"]}, "lead": {"role": "street_office"}},
        {
            "id": "demolition",
            "match": {"categories": ["010104"]},
            "lead": {"role": "street_office"},
            "mode": "two_level",
        },
    ],
}


def handler(session: Session, world: World, unit: str, now: Any) -> Actor:
    user = create_user(
        session, username=f"h-{unit}", role="handler", password="password-123", unit=unit, now=now
    )
    return Actor.of(user)


def act(
    world: World,
    session: Session,
    req: ServiceRequest,
    action: str,
    who: Actor,
    now: Any,
    **params: Any,
) -> Event:
    return apply_action(session, req, action, actor=who, now=now, ctx=world.ctx, params=params)


def test_two_level_dispatch_goes_to_the_district_which_redispatches_inside_it(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_world(session, now)
    save_catalogue(session, TWO_LEVEL, by="admin", source="t", now=now)
    req = make_request(session, world, now, category="010104", text="拆迁补偿不合理")
    assert req.lead_unit.code == "DG-110101"  # type: ignore[union-attr]
    [first] = session.scalars(select(Assignment).where(Assignment.request_id == req.id)).all()
    assert first.mode == "two_level"
    due = req.handling_due
    district = handler(session, world, "DG-110101", now)
    # Only inside the district, never to another district, never to itself.
    with pytest.raises(BadInput, match="not inside"):
        act(world, session, req, "redispatch", district, now, unit="PS-WATER")
    with pytest.raises(BadInput, match="not to a district"):
        act(world, session, req, "redispatch", district, now, unit="DG-110101")
    act(world, session, req, "redispatch", district, now, unit="ST-110101008")
    assert req.lead_unit.code == "ST-110101008" and req.status == "dispatched"  # type: ignore[union-attr]
    # The city's clock keeps running.
    assert req.handling_due == due
    # The street office is not a district: it cannot pass the case on this way.
    with pytest.raises(Conflict, match="only a district government"):
        act(world, session, req, "redispatch", world.actor("h2"), now, unit="ST-110101001")
    outcomes = [a.outcome for a in session.scalars(select(Assignment).order_by(Assignment.id))]
    assert outcomes == ["redispatched", None]


def test_a_redispatch_may_not_go_round_in_a_circle(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    world = make_world(session, now)
    save_catalogue(session, TWO_LEVEL, by="admin", source="t", now=now)
    req = make_request(session, world, now, category="010104", text="拆迁补偿不合理")
    sup = world.actor("sup")
    act(world, session, req, "redispatch", sup, now, unit="ST-110101008")
    # Suppose the case came back up the chain to the district (a deeper re-dispatch level):
    # the chain district → street → district is still one chain.
    street = session.scalars(select(Assignment).order_by(Assignment.id.desc())).first()
    assert street is not None
    street.outcome, street.ended_at = "redispatched", now
    district = session.scalars(select(Assignment).order_by(Assignment.id)).first()
    assert district is not None
    session.add(
        Assignment(request_id=req.id, unit_id=district.unit_id, started_at=now, source="manual")
    )
    req.lead_unit = district.unit
    session.flush()
    with pytest.raises(BadInput, match="already had this request"):
        act(world, session, req, "redispatch", sup, now, unit="ST-110101008")
    act(world, session, req, "redispatch", sup, now, unit="ST-110101001")
    assert req.lead_unit.code == "ST-110101001"  # type: ignore[union-attr]


def test_a_contested_dispatch_is_decided_by_a_supervisor(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_world(session, now)
    save_catalogue(session, TWO_LEVEL, by="admin", source="t", now=now)
    req = make_request(session, world, now)
    h1 = world.actor("h1")
    assert req.lead_unit.code == "ST-110101001"  # type: ignore[union-attr]
    with pytest.raises(BadInput, match="reason"):
        act(world, session, req, "contest", h1, now)
    with pytest.raises(Conflict, match="no open dispute"):
        act(world, session, req, "reject_dispute", world.actor("sup"), now, note="x")
    act(world, session, req, "contest", h1, now, reason="噪音属城管执法", proposed_unit="CB-CGW")
    with pytest.raises(Conflict, match="already has an open dispute"):
        act(world, session, req, "contest", h1, now, reason="again")
    with pytest.raises(Forbidden):
        act(world, session, req, "uphold_dispute", h1, now, note="self-serving")
    # A bad rule with the decision is refused and nothing changes.
    with pytest.raises(BadInput, match="rule"):
        act(
            world,
            session,
            req,
            "uphold_dispute",
            world.actor("sup"),
            now,
            note="对",
            rule={"id": "noise", "match": {"categories": ["010101"]}, "lead": "NOBODY"},
        )
    assert req.lead_unit.code == "ST-110101001"  # type: ignore[union-attr]
    event = act(
        world,
        session,
        req,
        "uphold_dispute",
        world.actor("sup"),
        now,
        note="属实",
        rule={"id": "noise", "match": {"categories": ["010101"]}, "lead": "CB-CGW"},
    )
    assert req.lead_unit.code == "CB-CGW" and req.status == "dispatched"  # type: ignore[union-attr]
    assert event.payload["catalogue_version"] == 2
    assert active_catalogue(session).rule("noise") is not None
    dispute = session.scalars(select(Dispute)).one()
    assert (dispute.status, dispute.decided_by, dispute.catalogue_version) == ("upheld", "sup", 2)
    outcomes = [a.outcome for a in session.scalars(select(Assignment).order_by(Assignment.id))]
    assert outcomes == ["disputed", None]
    # The next such request follows the amended catalogue.
    assert make_request(session, world, now).lead_unit.code == "CB-CGW"  # type: ignore[union-attr]


def test_a_rejected_dispute_leaves_the_case_with_the_unit(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_world(session, now)
    save_catalogue(session, TWO_LEVEL, by="admin", source="t", now=now)
    req = make_request(session, world, now)
    act(world, session, req, "accept", world.actor("h1"), now)
    act(world, session, req, "contest", world.actor("h1"), now, reason="不归我们管")
    act(
        world,
        session,
        req,
        "reject_dispute",
        world.actor("sup"),
        now,
        note="属地管理，应由街道办理",
    )
    assert req.status == "accepted" and req.lead_unit.code == "ST-110101001"  # type: ignore[union-attr]
    assert session.scalars(select(Dispute.status)).one() == "rejected"


def test_the_whistle_summons_units_that_must_report_in_time(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_world(session, now)
    save_catalogue(session, TWO_LEVEL, by="admin", source="t", now=now)
    req = make_request(session, world, now)
    h1 = world.actor("h1")
    with pytest.raises(BadInput, match="units"):
        act(world, session, req, "whistle", h1, now, reason="需要联合执法", units=[])
    with pytest.raises(BadInput, match="units"):
        act(world, session, req, "whistle", h1, now, reason="x", units=["NO-SUCH-UNIT"])
    with pytest.raises(BadInput, match="limit"):
        act(world, session, req, "whistle", h1, now, reason="x", units=["CB-CGW"], limit="soon")
    act(
        world,
        session,
        req,
        "whistle",
        h1,
        now,
        reason="违建需联合执法",
        units=["CB-CGW", "PS-WATER"],
        limit="2h",
    )
    assert {u.code for u in req.assisting_units} == {"CB-CGW", "PS-WATER"}
    with pytest.raises(BadInput, match="already summoned"):
        act(world, session, req, "whistle", h1, now, reason="x", units=["CB-CGW"])
    cgw = handler(session, world, "CB-CGW", now)
    act(world, session, req, "report", cgw, now + timedelta(hours=1), text="执法队已到场")
    with pytest.raises(Conflict, match="no open summons"):
        act(world, session, req, "report", cgw, now, text="again")
    # The water company never comes: flagged once, after its own deadline.
    assert mark_summons_overdue(session, now=now + timedelta(hours=1)) == 0
    assert mark_summons_overdue(session, now=now + timedelta(hours=3)) == 1
    assert mark_summons_overdue(session, now=now + timedelta(hours=4)) == 0
    rows = {s.unit.code: (s.status, s.overdue) for s in session.scalars(select(Summons))}
    assert rows == {"CB-CGW": ("reported", False), "PS-WATER": ("summoned", True)}
    overdue = session.scalars(select(Event).where(Event.kind == "overdue")).one()
    assert overdue.payload["deadline"] == "summons" and overdue.payload["unit"] == "PS-WATER"


def test_only_a_street_office_blows_the_whistle(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    world = make_world(session, now)
    req = make_request(session, world, now)
    act(world, session, req, "dispatch", world.actor("disp"), now, unit="CB-CGW")
    cgw = handler(session, world, "CB-CGW", now)
    with pytest.raises(Conflict, match="street office"):
        act(world, session, req, "whistle", cgw, now, reason="x", units=["PS-WATER"])
