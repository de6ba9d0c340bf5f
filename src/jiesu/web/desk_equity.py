"""The equity desk (服务均等): outcomes per district, channel and caller group with their
intervals, the groups served measurably worse marked; the same numbers as `jiesu equity` and
GET /api/v1/equity."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from jiesu.analytics.warehouse import Warehouse
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep
from jiesu.equity.service import SHARES, equity_report
from jiesu.errors import BadInput, JiesuError
from jiesu.web.forms import FormErrors
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
ROLES = ("supervisor", "analyst", "admin")
DEFAULT_DAYS = 365
DIMENSION_NAMES = {
    "district": ("区", "District"),
    "channel_family": ("电话与网络", "Phone and online"),
    "channel": ("渠道", "Channel"),
    "caller_group": ("来电人群体", "Caller group"),
}
OUTCOME_NAMES = {
    "resolved": ("解决", "Resolved"),
    "satisfied": ("满意", "Satisfied"),
    "returned": ("退单", "Returned"),
    "reopened": ("重办", "Reopened"),
    "late": ("超期", "Late"),
}
assert set(OUTCOME_NAMES) == set(SHARES)


def _day(values: dict[str, str], name: str, default: date) -> date:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadInput(name, f"{raw!r} is not a date; write YYYY-MM-DD") from None


@router.get("/desk/equity", response_class=HTMLResponse)
async def equity_desk(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *ROLES)
    values = dict(request.query_params)
    wh = Warehouse(request.app.state.settings.data_dir / "warehouse")

    def work(s: Session) -> dict[str, Any]:
        today = clock.now().astimezone(city_context(s).tz).date()
        last = _day(values, "to", today)
        first = _day(values, "from", last - timedelta(days=DEFAULT_DAYS - 1))
        values.update({"from": first.isoformat(), "to": last.isoformat()})
        return equity_report(s, wh, first, last)

    errors, status = FormErrors(), 200
    report: dict[str, Any] | None
    try:
        report = await db.run_sync(work)
    except JiesuError as exc:
        if exc.status_code in (401, 403):
            raise
        errors.from_error(exc)
        report, status = None, exc.status_code
    return render(
        request,
        "staff/equity.html",
        status_code=status,
        report=report,
        values=values,
        errors=errors,
        dimensions=DIMENSION_NAMES,
        outcomes=OUTCOME_NAMES,
    )
