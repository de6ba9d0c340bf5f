"""Bad declarations get a clear error naming the field; nothing is declared."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.errors import BadInput, Conflict, Forbidden, UnknownReference
from jiesu.kit.clock import FixedClock
from jiesu.surge.attach import attachment_of
from jiesu.surge.models import SurgeEvent
from jiesu.surge.schemas import EventIn
from jiesu.surge.service import declare
from surgekit import call, cold_wave, declare_cold_wave, make_surge_world


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"areas": []}, "areas", "at least one area"),
        ({"areas": ["110199"]}, "areas[0]", "unknown value"),
        ({"areas": ["110101", "110101"]}, "areas[1]", "named twice"),
        ({"areas": ["110101", "110101001"]}, "areas[1]", "lies inside"),
        ({"ends_at": "2026-11-01T00:00:00+08:00"}, "ends_at", "is not after starts_at"),
        (
            {"starts_at": "2026-11-04T00:00:00+08:00", "ends_at": "2026-11-03T00:00:00+08:00"},
            "ends_at",
            "is not after starts_at",
        ),
        ({"ends_at": "2027-06-01T00:00:00+08:00"}, "ends_at", "at most 90 days"),
        ({"kind": "volcano"}, "kind", "must be one of"),
        ({"categories": ["0199"]}, "categories[0]", "unknown value"),
        ({"keywords": [], "categories": []}, "keywords", "give keywords or categories"),
        ({"keywords": [" "]}, "keywords[0]", "is empty"),
        ({"response_limit": "soon"}, "response_limit", "invalid time limit"),
        ({"handling_limit": "0h"}, "handling_limit", "out of range"),
        ({"rules": [{"id": "x", "match": {"categories": ["010105"]}}]}, "rules", "lead"),
        (
            {"rules": [{"id": "x", "name": "x", "match": {}, "lead": "NO-SUCH"}]},
            "rules",
            "NO-SUCH",
        ),
    ],
)
def test_a_bad_declaration_names_its_field(
    session: Session, clock: FixedClock, over: dict[str, Any], field: str, words: str
) -> None:
    world = make_surge_world(session, clock.now())
    with pytest.raises(BadInput) as caught:
        declare_cold_wave(session, world, clock.now(), **over)
    assert caught.value.fields[0]["field"] == field, caught.value.message
    assert words in caught.value.message, caught.value.message
    assert session.scalar(select(func.count()).select_from(SurgeEvent)) == 0


def test_unknown_area_gives_hints(session: Session, clock: FixedClock) -> None:
    world = make_surge_world(session, clock.now())
    with pytest.raises(UnknownReference) as caught:
        declare_cold_wave(session, world, clock.now(), areas=["东城"])
    assert caught.value.fields[0]["field"] == "areas[0]"


def test_the_model_refuses_what_is_not_a_declaration() -> None:
    with pytest.raises(ValidationError) as caught:
        EventIn.model_validate(cold_wave(ends_at="2026-11-05T00:00:00"))  # no time zone
    assert caught.value.errors()[0]["loc"] == ("ends_at",)
    with pytest.raises(ValidationError):
        EventIn.model_validate(cold_wave(colour="red"))


def test_the_same_kind_over_the_same_place_at_the_same_time_is_refused(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    first, _ = declare_cold_wave(session, world, now)
    # A street inside the district, later but overlapping: refused, naming the event.
    with pytest.raises(Conflict) as caught:
        declare_cold_wave(
            session, world, now, areas=["110101008"], starts_at="2026-11-03T00:00:00+08:00"
        )
    assert caught.value.extra["event"] == first.id and "areas" in caught.value.message
    # The same kind elsewhere, or after it ends, is fine.
    declare_cold_wave(session, world, now, areas=["110102"])
    declare_cold_wave(
        session,
        world,
        now,
        starts_at="2026-11-05T00:00:00+08:00",
        ends_at="2026-11-06T00:00:00+08:00",
    )


def test_another_kind_over_the_same_place_is_declared_with_a_warning(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    first, _ = declare_cold_wave(session, world, now)
    _, warnings = declare_cold_wave(
        session, world, now, kind="power_outage", keywords=["停电"], categories=[], rules=[]
    )
    assert len(warnings) == 1 and f"event {first.id}" in warnings[0]


def test_only_supervisors_declare_and_a_district_supervisor_only_in_the_district(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    data = EventIn.model_validate(cold_wave())
    with pytest.raises(Forbidden):
        declare(session, data, actor=world.actor("op"), now=now, ctx=world.ctx)
    district = replace(world.actor("sup"), area_path="110000/110102/")
    with pytest.raises(Forbidden) as caught:
        declare(session, data, actor=district, now=now, ctx=world.ctx)
    assert "areas[0]" in caught.value.message


def test_a_scheduled_event_takes_callers_only_from_its_start(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_surge_world(session, now)
    start = now + timedelta(hours=6)
    event, _ = declare_cold_wave(session, world, now, starts_at=start.isoformat())
    early = call(session, world, now + timedelta(hours=1))
    inside = call(session, world, start + timedelta(minutes=1), phone="13900139000")
    assert attachment_of(session, early) is None
    found = attachment_of(session, inside)
    assert found is not None and found.event_id == event.id
