"""Routes under /api/v1/analytics: the heat map's data and the warehouse's state. Read from
the warehouse (refreshed by the server's schedule or `jiesu analytics refresh`), so a heavy
question never loads the operational database; each answer says when the data was copied."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from jiesu.analytics.heat import BUCKETS, LEVELS, check_query, heat
from jiesu.analytics.warehouse import Warehouse
from jiesu.deps import CurrentActor, require_role
from jiesu.errors import error_responses

router = APIRouter(prefix="/analytics", tags=["analytics"])
ROLES = ("supervisor", "analyst", "admin")
DEFAULT_DAYS = 90
ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role may not see city-wide analysis",
        422: "a parameter is wrong; names the parameter",
    }
)


def warehouse(request: Request) -> Warehouse:
    return Warehouse(request.app.state.settings.data_dir / "warehouse")


@router.get("/heat", responses=ERRORS)
def heat_map(
    request: Request,
    actor: CurrentActor,
    level: Annotated[str, Query(max_length=16, description=" | ".join(LEVELS))] = "street",
    first: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    last: Annotated[date | None, Query(alias="to", description="last day (local)")] = None,
    bucket: Annotated[str, Query(max_length=8, description=" | ".join(BUCKETS))] = "week",
    category: Annotated[str | None, Query(max_length=64, description="category code")] = None,
) -> dict[str, Any]:
    """Requests per area and time bucket (default: streets, the last 90 days, by week)."""
    require_role(actor, *ROLES)
    today = request.app.state.clock.now().astimezone(request.app.state.settings.tz).date()
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    q = check_query(level, first, last, bucket, category, actor.area_path)
    wh = warehouse(request)
    with wh.connect() as con:
        data = heat(con, q).as_dict()
    return {"refreshed_at": wh.state().get("refreshed_at"), **data}


@router.get("/warehouse", responses=ERRORS)
def warehouse_state(request: Request, actor: CurrentActor) -> dict[str, Any]:
    """When the warehouse was last refreshed and the rows per month."""
    require_role(actor, *ROLES)
    state = warehouse(request).state()
    return {"refreshed_at": state.get("refreshed_at"), "rows": state.get("rows", {})}
