"""The supervisors' and analysts' overview: live counts that open the requests behind them,
requests per street on a map without tiles, and the kinds of problem that are rising."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.analytics.models import EarlyWarning
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep
from jiesu.web.render import render
from jiesu.web.session import WebActor, need
from jiesu.workflow.access import area_ids_within
from jiesu.workflow.overview import (
    HEAT_DAYS,
    OPEN,
    HotIssues,
    LiveCounts,
    StreetHeat,
    hot_issues,
    live_counts,
    street_heat,
)

router = APIRouter(include_in_schema=False)
ROLES = ("supervisor", "analyst", "admin")
TOP_STREETS = 20


def requests_link(**params: str) -> str:
    """The staff request list filtered by these parameters (those web/requests.py reads)."""
    return "/desk/requests?" + urlencode(params) if params else "/desk/requests"


@dataclass(frozen=True)
class Figure:
    key: str
    zh: str
    en: str
    value: int
    href: str
    tone: str = ""


def figures(c: LiveCounts) -> list[Figure]:
    open_ = ",".join(OPEN)
    # Each late figure opens the list of its own kind of lateness.
    handling_late = requests_link(status=open_, overdue="handling")
    late_to_accept = requests_link(status=open_, overdue="response")
    return [
        Figure("open", "办理中诉求", "open requests", c.open, requests_link(status=open_)),
        Figure("received_today", "今日受理", "received today", c.received_today, "/desk/requests"),
        Figure("handling_overdue", "办理超时", "overdue", c.handling_overdue, handling_late, "bad"),
        Figure(
            "response_late", "签收超时", "response late", c.response_late, late_to_accept, "warn"
        ),
        Figure("returned", "退单待派", "returned", c.returned, requests_link(status="returned")),
        Figure(
            "awaiting_callback",
            "待回访",
            "awaiting call-back",
            c.awaiting_callback,
            requests_link(status="replied"),
        ),
        Figure(
            "merged_today",
            "今日合并",
            "merged today",
            c.merged_today,
            requests_link(status="merged"),
        ),
    ]


def heat_points(streets: list[StreetHeat]) -> str:
    """The map's points as JSON: [lon, lat, count] with the street's code and name."""
    return json.dumps(
        [
            {"name": h.name, "code": h.code, "value": [h.lon, h.lat, h.count]}
            for h in streets
            if h.lat is not None and h.lon is not None
        ],
        ensure_ascii=False,
    )


@router.get("/desk/overview", response_class=HTMLResponse)
async def overview(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *ROLES)
    now = clock.now()

    # A supervisor kept to a district sees the district's figures, each from the same query
    # as the city's with the area added, so the overview and the lists behind it agree.
    area = actor.area_path

    def work(s: Session) -> tuple[LiveCounts, list[StreetHeat], HotIssues, int]:
        tz = city_context(s).tz
        count = select(func.count()).select_from(EarlyWarning)
        count = count.where(EarlyWarning.status == "open")
        if area is not None:
            count = count.where(EarlyWarning.area_id.in_(area_ids_within(area)))
        return (
            live_counts(s, now=now, tz=tz, area_path=area),
            street_heat(s, now=now, area_path=area),
            hot_issues(s, now=now, area_path=area),
            int(s.scalar(count) or 0),
        )

    counts, streets, hot, open_warnings = await db.run_sync(work)
    return render(
        request,
        "staff/overview.html",
        figures=figures(counts),
        streets=streets[:TOP_STREETS],
        street_total=len(streets),
        points=heat_points(streets),
        heat_days=HEAT_DAYS,
        hot=hot,
        open_warnings=open_warnings,
    )
