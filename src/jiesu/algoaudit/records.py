"""What the audit reads: each request once, with what the machine decided at intake (from the
``received`` event) and what people finally recorded — the latest MAX_ROWS requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.workflow.models import Event, ServiceRequest

MAX_ROWS = 20_000
ONLINE = frozenset({"web", "app", "wechat", "open311", "email"})
CHUNK = 2_000


def channel_family(channel: str) -> str:
    """Phone against online against the rest: the contrast an audit of access asks for."""
    if channel == "phone":
        return "phone"
    return "online" if channel in ONLINE else "other"


@dataclass(slots=True)
class Row:
    id: int
    received_at: datetime
    title: str
    text: str
    address: str
    channel: str
    lat: float | None
    lon: float | None
    area: str | None
    district: str | None
    category: str | None  # code
    category_path: str | None
    top_category: str | None  # first-level code of the category
    confirmed: bool
    auto_category: bool  # applied by the classifier at intake (with its confidence)
    urgency: str
    lead_unit: str | None
    replied: bool
    intake: dict[str, Any]  # the received event's payload


@dataclass
class Names:
    areas: dict[str, str]  # code → name
    categories: dict[str, str]
    units: dict[str, str]
    category_paths: dict[str, str]  # code → path
    area_paths: dict[str, str]
    district_of: dict[str, str]  # area code → its district's code


def city_names(session: Session) -> Names:
    areas = session.execute(select(Area.code, Area.name, Area.level, Area.path)).all()
    level = {code: lv for code, _, lv, _ in areas}
    district_of: dict[str, str] = {}
    for code, _, _, path in areas:
        for part in (p for p in (path or "").split("/") if p):
            if level.get(part) == "district":
                district_of[code] = part
                break
    cats = session.execute(select(Category.code, Category.name, Category.path)).all()
    units = session.execute(select(HandlingUnit.code, HandlingUnit.name)).all()
    return Names(
        areas={c: n for c, n, _, _ in areas},
        categories={c: n for c, n, _ in cats},
        units={c: n for c, n in units},
        category_paths={c: p for c, _, p in cats},
        area_paths={c: p for c, _, _, p in areas},
        district_of=district_of,
    )


def load_rows(session: Session, names: Names, *, limit: int = MAX_ROWS) -> list[Row]:
    r = ServiceRequest
    area, cat, unit = aliased(Area), aliased(Category), aliased(HandlingUnit)
    ids = list(
        session.scalars(
            select(r.id)
            .where(r.status.not_in(("merged", "invalid")), r.purged_at.is_(None))
            .order_by(r.received_at.desc(), r.id.desc())
            .limit(limit)
        )
    )
    out: list[Row] = []
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        intake = {
            rid: payload or {}
            for rid, payload in session.execute(
                select(Event.request_id, Event.payload).where(
                    Event.request_id.in_(part), Event.kind == "received"
                )
            )
        }
        rows = session.execute(
            select(
                r.id,
                r.received_at,
                r.title,
                r.text,
                r.address,
                r.channel,
                r.lat,
                r.lon,
                area.code,
                cat.code,
                cat.path,
                r.category_confirmed,
                r.category_confidence,
                r.urgency,
                unit.code,
                r.replied_at,
            )
            .outerjoin(area, area.id == r.area_id)
            .outerjoin(cat, cat.id == r.category_id)
            .outerjoin(unit, unit.id == r.lead_unit_id)
            .where(r.id.in_(part))
        ).all()
        for (
            rid,
            at,
            title,
            text,
            address,
            channel,
            lat,
            lon,
            acode,
            ccode,
            cpath,
            confirmed,
            conf,
            urgency,
            ucode,
            replied,
        ) in rows:
            top = cpath.split("/")[0] if cpath else None
            out.append(
                Row(
                    rid,
                    at,
                    title or "",
                    text or "",
                    address or "",
                    channel,
                    lat,
                    lon,
                    acode,
                    names.district_of.get(acode or ""),
                    ccode,
                    cpath,
                    top,
                    bool(confirmed),
                    conf is not None,
                    urgency,
                    ucode,
                    replied is not None,
                    intake.get(rid, {}),
                )
            )
    out.sort(key=lambda x: (x.received_at, x.id))
    return out
