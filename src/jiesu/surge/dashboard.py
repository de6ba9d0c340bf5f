"""The live numbers of an event, computed from its requests whenever they are asked for:
volume over time, areas, open and closed, on time, outcomes. The report at the end is these
numbers frozen with the event's definition and times."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.surge.models import SurgeAttachment, SurgeEvent
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES

# Hourly buckets for events up to three days long, daily ones beyond.
HOURLY_UP_TO = timedelta(days=3)
CLOSED = ("closed", "answered")


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _rows(session: Session, event: SurgeEvent) -> list[Any]:
    r = ServiceRequest
    q = (
        select(
            SurgeAttachment.case_id,
            r.ticket,
            r.received_at,
            r.status,
            Area.code.label("area_code"),
            Area.name.label("area_name"),
            Category.name.label("category_name"),
            r.accepted_at,
            r.response_due,
            r.replied_at,
            r.handling_due,
            r.resolution,
            r.satisfaction,
        )
        .join(r, r.id == SurgeAttachment.request_id)
        .outerjoin(Area, Area.id == r.area_id)
        .outerjoin(Category, Category.id == r.category_id)
        .where(SurgeAttachment.event_id == event.id)
        .order_by(r.received_at)
    )
    return list(session.execute(q).all())


def _on_time(pairs: list[tuple[datetime | None, datetime | None]], now: datetime) -> dict[str, Any]:
    """(done at, due) → how many were due, how many on time; not yet due ones are not counted."""
    due = on_time = 0
    for done, limit in pairs:
        done, limit = _utc(done), _utc(limit)
        if limit is None or (done is None and limit > now):
            continue
        due += 1
        on_time += done is not None and done <= limit
    return {"due": due, "on_time": on_time, "rate": round(on_time / due, 3) if due else None}


def _volume(times: list[datetime], start: datetime, end: datetime, tz: ZoneInfo) -> dict[str, Any]:
    hourly = end - start <= HOURLY_UP_TO
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    fmt = "%m-%d %H:00" if hourly else "%Y-%m-%d"

    def bucket(at: datetime) -> datetime:
        local = at.astimezone(tz)
        if hourly:
            return local.replace(minute=0, second=0, microsecond=0)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    counts = Counter(bucket(t) for t in times)
    labels: list[str] = []
    values: list[int] = []
    at = bucket(start)
    while at <= bucket(end) and len(labels) < 24 * 92:
        labels.append(at.strftime(fmt))
        values.append(counts.get(at, 0))
        at = (at + step).astimezone(tz)
    return {"bucket": "hour" if hourly else "day", "labels": labels, "values": values}


def _bulk(session: Session, event: SurgeEvent) -> dict[str, int]:
    masters = [c.request_id for c in event.cases]
    payloads = session.scalars(
        select(Event.payload).where(Event.request_id.in_(masters), Event.kind == "surge_bulk_reply")
    ).all()
    return {"sent": len(payloads), "reached": sum(len(p.get("replied", [])) for p in payloads)}


def dashboard(
    session: Session, event: SurgeEvent, *, now: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    rows = _rows(session, event)
    statuses = Counter(row.status for row in rows)
    open_n = sum(n for s, n in statuses.items() if s in OPEN_STATUSES)
    closed_n = sum(statuses.get(s, 0) for s in CLOSED)
    end = _utc(event.ended_at) or min(now, event.ends_at)
    received = [t for t in (_utc(row.received_at) for row in rows) if t is not None]
    by_case: dict[int, Counter[str]] = {c.id: Counter() for c in event.cases}
    for row in rows:
        c = by_case.setdefault(row.case_id, Counter())
        c["callers"] += 1
        c[
            "open" if row.status in OPEN_STATUSES else "closed" if row.status in CLOSED else "other"
        ] += 1
    areas = [
        {
            "area": case.area.code,
            "name": case.area.name,
            "master": case.request.ticket,
            "master_status": case.request.status,
            "callers": by_case[case.id]["callers"],
            "open": by_case[case.id]["open"],
            "closed": by_case[case.id]["closed"],
        }
        for case in event.cases
    ]
    waits = [
        (_utc(row.replied_at) - _utc(row.received_at)).total_seconds() / 3600  # type: ignore[operator]
        for row in rows
        if row.replied_at is not None
    ]
    return {
        "event": event.id,
        "as_of": now.isoformat(),
        "callers": len(rows),
        "open": open_n,
        "closed": closed_n,
        "replied": sum(row.replied_at is not None for row in rows),
        "statuses": dict(sorted(statuses.items())),
        "areas": areas,
        "places": [
            {"area": code, "name": name, "callers": n}
            for (code, name), n in Counter(
                (row.area_code, row.area_name) for row in rows
            ).most_common(20)
        ],
        "categories": [
            {"name": name or "—", "callers": n}
            for name, n in Counter(row.category_name for row in rows).most_common(20)
        ],
        "volume": _volume(received, event.starts_at, max(end, event.starts_at), tz),
        "on_time": {
            "response": _on_time([(row.accepted_at, row.response_due) for row in rows], now),
            "handling": _on_time([(row.replied_at, row.handling_due) for row in rows], now),
        },
        "outcomes": {
            "resolution": dict(Counter(row.resolution for row in rows if row.resolution)),
            "satisfaction": dict(Counter(row.satisfaction for row in rows if row.satisfaction)),
        },
        "median_hours_to_reply": round(median(waits), 2) if waits else None,
        "bulk_replies": _bulk(session, event),
    }


def callers_by_case(session: Session, event_id: int) -> dict[int, int]:
    """Callers attached to each master case of an event (one grouped query, for lists)."""
    rows = session.execute(
        select(SurgeAttachment.case_id, func.count())
        .where(SurgeAttachment.event_id == event_id)
        .group_by(SurgeAttachment.case_id)
    ).all()
    return {case_id: n for case_id, n in rows}


def callers_count(session: Session, event_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SurgeAttachment)
            .where(SurgeAttachment.event_id == event_id)
        )
        or 0
    )
