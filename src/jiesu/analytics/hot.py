"""Hot issues (热点问题) of the city's own requests: the grouping of hotspots.py over a recent
span of the operational database, each request placed at its street (the finest level every
request shares) and each caller counted once.

Text is needed, and the warehouse holds none, so this reads the operational database; the span
is kept short (a week by default) and the number of requests capped, newest first, so that a
megacity's busiest week stays within memory.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.analytics.hotspots import HotInput, HotSettings, find_hot_issues
from jiesu.city.models import Area
from jiesu.workflow.access import placed_within
from jiesu.workflow.models import Contact, ServiceRequest

DAYS = 7
MAX_REQUESTS = 50_000
R = ServiceRequest


def _streets(session: Session) -> dict[int, tuple[str, str]]:
    """Each area's street (or the area itself above street level): code and name."""
    areas = session.execute(select(Area.id, Area.code, Area.name, Area.level, Area.path)).all()
    by_code = {code: (code, name, level) for _, code, name, level, _ in areas}
    out: dict[int, tuple[str, str]] = {}
    for aid, code, name, _, path in areas:
        street = next(
            (
                by_code[c]
                for c in path.strip("/").split("/")
                if c in by_code and by_code[c][2] == "street"
            ),
            None,
        )
        out[aid] = (street[0], street[1]) if street else (code, name)
    return out


def _caller(phone_hash: str | None) -> str | None:
    # Only compared for equality: the blind index (a keyed hash) keeps the number itself, and
    # its decryption, out of the computation.
    return phone_hash[:16] if phone_hash else None


def hot_issues(
    session: Session,
    *,
    end: datetime,
    days: int = DAYS,
    top: int = 10,
    settings: HotSettings | None = None,
    area_path: str | None = None,
) -> dict[str, Any]:
    """The hottest groups among requests received in the ``days`` before ``end`` (placed in
    ``area_path`` when given: a district's own hot issues)."""
    start = end - timedelta(days=days)
    rows = session.execute(
        select(
            R.ticket, R.title, R.text, R.received_at, R.area_id, R.urgency_score, Contact.phone_hash
        )
        .outerjoin(Contact, Contact.request_id == R.id)
        .where(R.received_at >= start, R.received_at < end, R.status != "invalid")
        .where(*placed_within(area_path))
        .order_by(R.received_at.desc())
        .limit(MAX_REQUESTS)
    ).all()
    streets = _streets(session)
    records = [
        HotInput(
            id=ticket,
            text=f"{title}\n{text}",
            time=received,
            place_key=streets[area][0] if area in streets else None,
            place_name=streets[area][1] if area in streets else None,
            urgency=(score / 100) if score is not None else None,
            caller=_caller(phone_hash),
        )
        for ticket, title, text, received, area, score, phone_hash in rows
    ]
    result = find_hot_issues(records, settings)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "requests": len(records),
        "capped": len(records) >= MAX_REQUESTS,
        "groups": [g.as_dict() for g in result.groups[:top]],
        "n_groups": len(result.groups),
    }
