"""Hot issues (热点问题) on the desk: the city's recent requests grouped by problem, place and
time, hottest first, each with its title, span, callers and the requests behind it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from jiesu.analytics.hot import hot_issues
from jiesu.deps import DB, ClockDep
from jiesu.errors import BadInput
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
ROLES = ("supervisor", "analyst", "admin")
SPANS = (1, 3, 7, 14, 30)


@router.get("/desk/hot", response_class=HTMLResponse)
async def hot(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *ROLES)
    raw = request.query_params.get("days", "7")
    if not raw.isdigit() or int(raw) not in SPANS:
        raise BadInput("days", f"must be one of {', '.join(map(str, SPANS))}")
    days, now = int(raw), clock.now()

    def work(s: Session) -> dict[str, Any]:
        return hot_issues(s, end=now, days=days, top=30, area_path=actor.area_path)

    data = await db.run_sync(work)
    return render(request, "staff/hot.html", data=data, days=days, spans=SPANS)
