"""Helpers for tests/analytics: two months of requests in the factory city, walked through
the real workflow, for the warehouse and report tests (October and November 2026, Beijing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from jiesu.analytics.warehouse import Warehouse
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request, make_world

OCT = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # Monday 5 October, 10:00 in Beijing
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


@dataclass
class History:
    session: Session
    world: World
    clock: FixedClock
    wh: Warehouse
    requests: list[ServiceRequest] = field(default_factory=list)

    def act(self, req: ServiceRequest, action: str, who: str, **params: object) -> None:
        apply_action(
            self.session,
            req,
            action,
            actor=self.world.actor(who),
            now=self.clock.now(),
            ctx=self.world.ctx,
            params=params,
        )


def build_history(session: Session, tmp_path: Path) -> History:
    clock = FixedClock(OCT)
    world = make_world(session, clock.now())
    h = History(session, world, clock, Warehouse(tmp_path / "warehouse"))
    # October: 6 requests; November: 9, more noise, one gas emergency, one returned.
    plan = [
        (0, "phone", "010101", "110101001", "楼下饭店夜里施工，噪音很大"),
        (1, "web", "010101", "110101008", "工地夜间施工噪音扰民"),
        (2, "phone", "010102", "110101001", "小区停水一整天了"),
        (9, "app", "010104", "110101008", "拆迁补偿纠纷"),
        (16, "phone", "010101", "110102", "广场舞音响噪音"),
        (26, "phone", "010101", "110101001", "夜里装修噪音"),  # 31 Oct
        (28, "phone", "010101", "110101001", "施工噪音又来了"),  # 2 Nov
        (29, "web", "010101", "110101008", "噪音扰民严重"),
        (30, "phone", "010103", "110101001", "楼道里有燃气味"),
        (33, "wechat", "010101", "110101001", "酒吧噪音"),
        (37, "phone", "010102", "110101008", "停水没有通知"),
        (40, "phone", "010101", "110102", "夜间施工噪音"),
        (44, "app", "010101", "110101001", "装修噪音"),
        (50, "phone", "010104", "110101001", "拆迁纠纷"),
        (56, "phone", "010101", "110101008", "商铺音响噪音"),
    ]
    for days, channel, category, area, text in plan:
        clock.set(OCT + timedelta(days=days))
        req = make_request(
            session, world, clock.now(), text=text, channel=channel, category=category, area=area
        )
        h.requests.append(req)
    # The first November request is dispatched, then returned by its unit.
    nov = h.requests[6]
    clock.set(OCT + timedelta(days=28, hours=1))
    if nov.status == "received":
        h.act(nov, "dispatch", "disp", unit="ST-110101001")
    clock.advance(timedelta(hours=1))
    h.act(nov, "return", "h1", reason="不属于本街道管辖")
    session.commit()
    clock.set(NOW)
    return h
