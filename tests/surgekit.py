"""A test city with heating (供暖) and its company, and a cold wave to declare (tests/surge)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from jiesu.city.pack import CategoryRow, UnitRow
from jiesu.city.service import apply_pack, city_context
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.people.service import create_user
from jiesu.surge.models import SurgeEvent
from jiesu.surge.schemas import EventIn
from jiesu.surge.service import declare
from jiesu.workflow.models import ServiceRequest

from factories import World, city_pack

HEATING = "010105"
HEAT_CO = "PS-HEAT"
HEAT_TEXT = "家里暖气不热，室温只有十二度，老人受不了"


def make_surge_world(session: Session, now: datetime) -> World:
    pack = city_pack()
    pack.categories.append(
        CategoryRow(HEATING, "0101", 3, "冬季供暖", "utility", "2h", "3d", ["暖气", "供暖"])
    )
    pack.units.append(
        UnitRow(
            HEAT_CO, "北京市热力集团", "public_service_company", ["110000"], [HEATING], "", None
        )
    )
    apply_pack(session, pack, now=now)
    users = {}
    for name, role, unit in (
        ("op", "operator", None),
        ("disp", "dispatcher", None),
        ("sup", "supervisor", None),
        ("h1", "handler", "ST-110101001"),
        ("heat", "handler", HEAT_CO),
        ("analyst", "analyst", None),
        ("admin", "admin", None),
    ):
        users[name] = create_user(
            session, username=name, role=role, password="password-123", unit=unit, now=now
        )
    return World(city_context(session), users)


def cold_wave(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "2026年11月寒潮",
        "kind": "cold_wave",
        "areas": ["110101"],
        "ends_at": "2026-11-05T00:00:00+08:00",
        "keywords": ["暖气", "供暖"],
        "categories": [HEATING],
        "script": "寒潮期间热力集团已加派抢修人员，24小时内上门。",
        "response_limit": "1h",
        "handling_limit": "12h",
        "rules": [
            {
                "id": "heat",
                "name": "寒潮供暖抢修",
                "match": {"categories": [HEATING]},
                "lead": HEAT_CO,
            }
        ],
    }
    body.update(over)
    return body


def declare_cold_wave(
    session: Session, world: World, now: datetime, **over: Any
) -> tuple[SurgeEvent, list[str]]:
    data = EventIn.model_validate(cold_wave(**over))
    return declare(session, data, actor=world.actor("sup"), now=now, ctx=world.ctx)


def call(
    session: Session,
    world: World,
    now: datetime,
    text: str = HEAT_TEXT,
    area: str = "110101001",
    phone: str = "13800138000",
    **fields: Any,
) -> ServiceRequest:
    data = {"text": text, "area": area, "contact": {"name": "张三", "phone": phone}} | fields
    req, _ = submit_request(
        session, RequestIn(**data), actor=world.actor("op"), now=now, ctx=world.ctx
    )
    return req


def later(now: datetime, **kw: float) -> datetime:
    return now + timedelta(**kw)
