"""Small helpers for the knowledge-base tests: articles written in code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from jiesu.kb.models import KbArticle
from jiesu.kb.service import ArticleFields, create_article
from jiesu.people.service import Actor

TODAY = date(2026, 11, 2)

HEATING = (
    "# 供暖期暖气不热怎么办\n\n本市集中供暖期为每年11月15日至次年3月15日。"
    "室温低于18℃时，居民可拨打供热单位热线报修，供热单位应在24小时内上门检测。"
)
PARKING = (
    "# 居住区停车收费标准\n\n居住区内地面停车位按月收取停车费，每月150元；"
    "新能源车辆同样收费。临时停车首小时免费。"
)
WATER = (
    "# 停水通知的查询方式\n\n计划停水将提前24小时在小区公告栏张贴通知，也可拨打自来水集团热线查询。"
)


def article(session: Session, actor: Actor, now: datetime, body: str, **fields: Any) -> KbArticle:
    title = body.splitlines()[0].lstrip("# ").strip()
    f = ArticleFields(title=title, body=body, status="published")
    for k, v in fields.items():
        setattr(f, k, v)
    return create_article(session, f, actor=actor, now=now, today=TODAY)
