"""Small factories that build a test city and people in code (no fixture files)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from jiesu.city.pack import AreaRow, CategoryRow, CityPack, UnitRow
from jiesu.city.service import CityContext, apply_pack, city_context
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.people.models import User
from jiesu.people.service import Actor, create_user
from jiesu.workflow.models import ServiceRequest

URGENCY = {
    "emergency": {"name": "紧急", "response": "2h", "handling": "24h"},
    "utility": {"name": "水电气热", "response": "2h", "handling": "24h"},
    "general": {"name": "一般", "response": "24h", "handling": "7wd"},
    "complex": {"name": "复杂", "response": "24h", "handling": "15wd"},
}


def city_pack(**city: Any) -> CityPack:
    areas = [
        AreaRow("110000", None, "city", "北京市", [], 39.9, 116.4),
        AreaRow("110101", "110000", "district", "东城区", ["东城"], 39.93, 116.42),
        AreaRow("110101001", "110101", "street", "东华门街道", ["东华门"], 39.92, 116.40),
        AreaRow("110101008", "110101", "street", "交道口街道", ["交道口"], 39.94, 116.40),
        AreaRow("110102", "110000", "district", "西城区", ["西城"], 39.91, 116.37),
    ]
    categories = [
        CategoryRow("01", None, 1, "城乡建设", "general", "24h", "7wd", []),
        CategoryRow("0101", "01", 2, "市政管理", "general", "24h", "7wd", []),
        CategoryRow("010101", "0101", 3, "噪音扰民", "general", "24h", "7wd", ["噪音"]),
        CategoryRow("010102", "0101", 3, "停水", "utility", "2h", "24h", ["停水"]),
        CategoryRow("010103", "0101", 3, "燃气泄漏", "emergency", "2h", "24h", ["燃气"]),
        CategoryRow("010104", "0101", 3, "拆迁纠纷", "complex", "24h", "15wd", ["拆迁"]),
    ]
    units = [
        UnitRow("DG-110101", "东城区人民政府", "district_government", ["110101"], ["*"], "", None),
        UnitRow(
            "ST-110101001",
            "东华门街道办事处",
            "street_office",
            ["110101001"],
            ["*"],
            "",
            "DG-110101",
        ),
        UnitRow(
            "ST-110101008",
            "交道口街道办事处",
            "street_office",
            ["110101008"],
            ["*"],
            "",
            "DG-110101",
        ),
        UnitRow(
            "PS-WATER",
            "北京市自来水集团",
            "public_service_company",
            ["110000"],
            ["010102"],
            "",
            None,
        ),
        UnitRow("PF-MEITUAN", "美团", "platform_company", ["110000"], ["01"], "", None),
        UnitRow("CB-CGW", "市城市管理委员会", "city_bureau", ["110000"], ["01"], "", None),
    ]
    info = {
        "code": "110000",
        "name": "北京市",
        "timezone": "Asia/Shanghai",
        "jurisdiction_id": "test.jiesu.city",
        "urgency_classes": URGENCY,
    } | city
    return CityPack("factory", "0" * 64, info, areas, categories, units, [])


@dataclass
class World:
    ctx: CityContext
    users: dict[str, User]

    def actor(self, name: str) -> Actor:
        return Actor.of(self.users[name])


def make_world(session: Session, now: datetime) -> World:
    apply_pack(session, city_pack(), now=now)
    users = {}
    for name, role, unit in (
        ("op", "operator", None),
        ("disp", "dispatcher", None),
        ("sup", "supervisor", None),
        ("h1", "handler", "ST-110101001"),
        ("h2", "handler", "ST-110101008"),
        ("citizen", "citizen", None),
        ("analyst", "analyst", None),
        ("admin", "admin", None),
    ):
        users[name] = create_user(
            session, username=name, role=role, password="password-123", unit=unit, now=now
        )
    return World(city_context(session), users)


def make_request(session: Session, world: World, now: datetime, **fields: Any) -> ServiceRequest:
    data = {"text": "楼下饭店每天夜里施工，噪音很大", "category": "010101", "area": "110101001"}
    data.update(fields)
    req, _ = submit_request(
        session, RequestIn(**data), actor=world.actor("op"), now=now, ctx=world.ctx
    )
    return req
