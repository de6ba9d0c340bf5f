"""Public statistics: volumes, the three rates by district and the top kinds of problem.

Aggregates only — no request, person or unit reply is shown. Every number is computed from the
requests of the chosen period with the same rate definitions the city assesses units by.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Category
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep
from jiesu.errors import BadInput
from jiesu.rates.compute import rates_report
from jiesu.rates.definitions import load_definitions
from jiesu.rates.query import build_query
from jiesu.rates.schemas import RatesReport
from jiesu.web.render import render
from jiesu.web.session import MaybeActor
from jiesu.workflow.models import ServiceRequest

router = APIRouter(include_in_schema=False)
TOP = 10


@dataclass(frozen=True)
class PublicStats:
    report: RatesReport
    received: int
    closed: int
    synthetic: int
    by_day: list[tuple[str, int]]
    top_categories: list[tuple[str, int]]


def _volumes(s: Session, start: datetime, end: datetime, tz: Any) -> tuple[Counter[str], int]:
    days: Counter[str] = Counter()
    synthetic = 0
    rows = s.execute(
        select(ServiceRequest.received_at, ServiceRequest.synthetic).where(
            ServiceRequest.received_at >= start,
            ServiceRequest.received_at < end,
            ServiceRequest.status != "merged",
        )
    )
    for at, synth in rows:
        days[at.astimezone(tz).strftime("%m-%d")] += 1
        synthetic += bool(synth)
    return days, synthetic


def _top_categories(s: Session, start: datetime, end: datetime) -> list[tuple[str, int]]:
    # Counted at the first level: the public wants "roads", not one of 541 leaves.
    rows = s.execute(
        select(Category.path, func.count())
        .join(ServiceRequest, ServiceRequest.category_id == Category.id)
        .where(ServiceRequest.received_at >= start, ServiceRequest.received_at < end)
        .group_by(Category.path)
    ).all()
    firsts: Counter[str] = Counter()
    for path, n in rows:
        firsts[path.split("/")[0]] += n
    names = dict(
        s.execute(select(Category.code, Category.name).where(Category.code.in_(firsts))).all()
    )
    return [(names.get(code, code), n) for code, n in firsts.most_common(TOP)]


def public_stats(s: Session, *, period: str | None, now: datetime, data_dir: Any) -> PublicStats:
    defs = load_definitions(None, data_dir=data_dir)
    q = build_query(s, as_of=now, period=period, by="area", level="district", defs=defs)
    report = rates_report(s, q)
    tz = city_context(s).tz
    start, end = q.window.start, q.window.end
    days, synthetic = _volumes(s, start, end, tz)
    day, by_day = start, []
    while day < end:
        label = day.astimezone(tz).strftime("%m-%d")
        by_day.append((label, days.get(label, 0)))
        day += timedelta(days=1)
    closed = s.scalar(
        select(func.count()).where(
            ServiceRequest.closed_at >= start,
            ServiceRequest.closed_at < end,
        )
    )
    return PublicStats(
        report=report,
        received=sum(days.values()),
        closed=closed or 0,
        synthetic=synthetic,
        by_day=by_day if len(by_day) <= 92 else [],
        top_categories=_top_categories(s, start, end),
    )


@router.get("/stats", response_class=HTMLResponse)
async def stats_page(request: Request, db: DB, clock: ClockDep, who: MaybeActor) -> HTMLResponse:
    period = request.query_params.get("period") or None
    if period is not None and len(period) > 40:
        raise BadInput("period", "too long")
    now = clock.now()
    data_dir = request.app.state.settings.data_dir
    data = await db.run_sync(lambda s: public_stats(s, period=period, now=now, data_dir=data_dir))
    return render(request, "citizen/stats.html", stats=data, period=period or "")
