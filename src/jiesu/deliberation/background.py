"""The background of a consultation, computed from the requests when it opens — never typed
in: requests per week over the last 13 weeks, the three rates of the place and category (from
the rates module, so a rate means the same here as on the assessment desk), and a few recent
request texts with personal data masked. A hot issue, a monthly topic or an early warning adds
its own evidence (the group's requests, the topic's score, the warning's reason)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.city.service import city_context
from jiesu.privacy.pii import mask_cut_text
from jiesu.rates.compute import rates_report
from jiesu.rates.query import build_query
from jiesu.workflow.access import area_ids_within
from jiesu.workflow.models import ServiceRequest as R

WEEKS = 13
SAMPLES = 5
SAMPLE_CHARS = 160


def _filters(area: Area, category: Category | None) -> list[Any]:
    out: list[Any] = [R.area_id.in_(area_ids_within(area.path)), R.status != "invalid"]
    if category is not None:
        cats = select(Category.id).where(Category.path.startswith(category.path, autoescape=True))
        out.append(R.category_id.in_(cats))
    return out


def _sample(text: str) -> str:
    cut = text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + "…"
    return mask_cut_text(cut)


def compute_background(
    session: Session,
    *,
    area: Area,
    category: Category | None,
    now: datetime,
    tickets: list[str] | None = None,
    evidence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What people read before they take part. ``tickets`` (a hot issue's group) picks the
    sample texts; otherwise the newest requests of the place and category are shown."""
    tz = city_context(session).tz
    start = now - timedelta(weeks=WEEKS)
    where = _filters(area, category)
    times = session.scalars(
        select(R.received_at).where(R.received_at >= start, R.received_at < now, *where)
    )
    weeks = [0] * WEEKS
    for at in times:
        i = int((at - start).total_seconds() // (7 * 86400))
        weeks[min(max(i, 0), WEEKS - 1)] += 1
    q = select(R.ticket, R.text, R.received_at).where(
        R.received_at >= start, R.received_at < now, *where
    )
    if tickets:
        q = select(R.ticket, R.text, R.received_at).where(R.ticket.in_(tickets[:200]))
    rows = session.execute(q.order_by(R.received_at.desc()).limit(SAMPLES)).all()
    first = start.astimezone(tz).date()
    last = (now - timedelta(seconds=1)).astimezone(tz).date()
    query = build_query(
        session,
        as_of=now,
        period=f"{first.isoformat()}..{last.isoformat()}",
        area=area.code if area.parent_id is not None else None,
        category=category.code if category is not None else None,
    )
    total = rates_report(session, query, with_ontime=False).total
    return {
        "computed_at": now.isoformat(),
        "from": first.isoformat(),
        "to": last.isoformat(),
        "area": {"code": area.code, "name": area.name, "level": area.level},
        "category": {"code": category.code, "name": category.name} if category else None,
        "requests": sum(weeks),
        "per_week": weeks,
        "week_starts": [
            (start + timedelta(weeks=i)).astimezone(tz).date().isoformat() for i in range(WEEKS)
        ],
        "rates": {
            "response": total.rates.response,
            "resolution": total.rates.resolution,
            "satisfaction": total.rates.satisfaction,
            "counts": total.counts,
        },
        "samples": [
            {"received": at.astimezone(tz).date().isoformat(), "text": _sample(text)}
            for _, text, at in rows
        ],
        "evidence": evidence or {},
    }
