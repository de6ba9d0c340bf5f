"""Routes under /api/v1/equity: outcomes by district, channel and caller group (from the
warehouse, refreshed by the server's schedule or `jiesu analytics refresh`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from jiesu.analytics.warehouse import Warehouse
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, CurrentActor, require_role
from jiesu.equity.service import equity_report
from jiesu.errors import error_responses

router = APIRouter(prefix="/equity", tags=["equity"])
ROLES = ("supervisor", "analyst", "admin")
DEFAULT_DAYS = 365
ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role may not see city-wide analysis",
        422: "a parameter is wrong; names the parameter",
    }
)


@router.get("", responses=ERRORS)
async def equity_view(
    request: Request,
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    first: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    last: Annotated[date | None, Query(alias="to", description="last day (local)")] = None,
) -> dict[str, Any]:
    """Time to reply, resolution, satisfaction, returns and lateness per district, channel and
    caller group, with Wilson and bootstrap intervals and tests against the rest."""
    require_role(actor, *ROLES)
    wh = Warehouse(request.app.state.settings.data_dir / "warehouse")

    def work(s: Session) -> dict[str, Any]:
        today = clock.now().astimezone(city_context(s).tz).date()
        to_day = last or today
        return equity_report(s, wh, first or to_day - timedelta(days=DEFAULT_DAYS - 1), to_day)

    return await db.run_sync(work)
