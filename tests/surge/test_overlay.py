"""The event's rules laid over the active catalogue: they decide first for the event's requests
only; the event's limits replace the usual ones, also when a person overrules the rule or the
request is transferred."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jiesu.dispatch.service import save_catalogue
from jiesu.kit.clock import FixedClock
from jiesu.workflow.service import apply_action
from surgekit import HEAT_CO, HEATING, call, declare_cold_wave, make_surge_world

STREET = "ST-110101001"
CATALOGUE = {
    "settings": {"auto_dispatch": True},
    "rules": [
        {
            "id": "heat-street",
            "name": "供暖归街道",
            "match": {"categories": [HEATING]},
            "lead": STREET,
            "deadlines": {"handling": "5d"},
        }
    ],
}


def test_event_rules_decide_first_and_only_for_the_events_requests(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    save_catalogue(session, CATALOGUE, by="admin", source="test", now=now)
    declare_cold_wave(session, world, now)
    inside = call(session, world, now)
    outside = call(session, world, now, area="110102", phone="13900139000")
    assert inside.lead_unit.code == HEAT_CO  # the temporary rule
    assert outside.lead_unit.code == STREET  # the catalogue, with its own 5-day limit
    assert outside.handling_due - now > timedelta(days=4)
    assert inside.handling_due == now + timedelta(hours=12)


def test_without_a_temporary_rule_the_catalogue_decides_with_the_events_limits(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    save_catalogue(session, CATALOGUE, by="admin", source="test", now=now)
    declare_cold_wave(session, world, now, rules=[])
    req = call(session, world, now)
    assert req.lead_unit.code == STREET
    # The event's 12 h, not the rule's 5 days: the event's limits are its supervisor's decision.
    assert req.handling_due == now + timedelta(hours=12)
    assert req.response_due == now + timedelta(hours=1)


def test_overruling_or_transferring_keeps_the_events_limits(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    declare_cold_wave(session, world, now, auto_dispatch=False)
    req = call(session, world, now)
    assert req.status == "received"  # the event said: a dispatcher decides
    disp = world.actor("disp")
    apply_action(session, req, "dispatch", actor=disp, now=now, ctx=world.ctx,
                 params={"unit": STREET})  # fmt: skip
    assert req.handling_due == now + timedelta(hours=12)
    later = now + timedelta(hours=3)
    apply_action(session, req, "transfer", actor=disp, now=later, ctx=world.ctx,
                 params={"unit": HEAT_CO, "reason": "供热企业负责"})  # fmt: skip
    assert req.handling_due == later + timedelta(hours=12)
