"""The learned router from the city's own answered requests: retrain, versions, and its use
when no catalogue rule decides."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from jiesu.city.models import HandlingUnit
from jiesu.city.service import find_unit
from jiesu.dispatch.learning import (
    active_router,
    answered_history,
    deactivate_router,
    relabelling,
    retrain,
    router_versions,
)
from jiesu.dispatch.service import decide_for, save_catalogue
from jiesu.errors import BadInput
from jiesu.kit.clock import FixedClock

from factories import World, make_request, make_world

# Water complaints were answered by the water company, noise by the street office.
WATER = ["家里停水了，自来水一直没有来", "自来水水压很低，停水好几天", "水管爆裂停水，没有水用"]
NOISE = ["楼下饭店夜里噪音很大", "工地夜间施工噪音扰民", "广场舞音响噪音太吵"]


def history(session: Session, clock: FixedClock, n: int) -> World:
    world = make_world(session, clock.now())
    water, street = find_unit(session, "PS-WATER"), find_unit(session, "ST-110101001")
    for i in range(n):
        text = (WATER if i % 2 else NOISE)[i % 3] + f"（第{i}次反映）"
        req = make_request(session, world, clock.now(), text=text, category="010101")
        req.lead_unit = water if i % 2 else street
        req.replied_at = clock.now()
    session.flush()
    return world


def test_too_little_history_is_refused(session: Session, clock: FixedClock, tmp_path: Path) -> None:
    history(session, clock, 10)
    with pytest.raises(BadInput, match="only 10 answered requests"):
        retrain(session, data_dir=tmp_path, now=clock.now())


def test_a_router_learns_units_and_decides_when_no_rule_does(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    world = history(session, clock, 60)
    result = retrain(session, data_dir=tmp_path, now=clock.now(), min_history=40)
    assert result["activated"] and result["n"] == 60
    assert result["holdout"]["top1_accuracy"] >= 0.9
    assert (tmp_path / "models" / "unit" / result["version"]).is_dir()
    assert [v.version for v in router_versions(session)] == [result["version"]]
    assert active_router(session) is not None
    req = make_request(
        session, world, clock.now(), text="小区停水了，自来水没有水", category="010101"
    )
    decision = decide_for(session, req, world.ctx.tz)
    assert decision.unit == "PS-WATER" and decision.source == "model"
    assert decision.confidence is not None and decision.confidence >= 0.6
    # A catalogue rule decides first; the router's confident disagreement is flagged.
    save_catalogue(
        session,
        {"rules": [{"id": "all", "match": {"categories": ["01"]}, "lead": "CB-CGW"}]},
        by="t",
        source="t",
        now=clock.now(),
    )
    ruled = decide_for(session, req, world.ctx.tz)
    assert ruled.unit == "CB-CGW" and ruled.source == "rule"
    assert ruled.disagreement is not None and ruled.disagreement["unit"] == "PS-WATER"
    assert deactivate_router(session) == 1 and active_router(session) is None


def test_history_under_a_former_unit_name_counts_for_todays_unit(
    session: Session, clock: FixedClock
) -> None:
    world = history(session, clock, 4)
    old = HandlingUnit(
        code="IMP-abc", name="市市政管委", kind="city_bureau", updated_at=clock.now()
    )
    session.add(old)
    cgw = find_unit(session, "CB-CGW")
    cgw.aliases = ["市市政管委"]
    req = make_request(session, world, clock.now(), text="路灯不亮")
    req.lead_unit, req.replied_at = old, clock.now()
    session.flush()
    assert relabelling(session) == {"IMP-abc": "CB-CGW"}
    hist = answered_history(session)
    assert hist.units.count("CB-CGW") == 1 and "IMP-abc" not in hist.units
