"""The heat map desk (诉求热力图): requests per area at any level over a chosen span, with a
time slider over days, weeks or months, a choropleth where the city pack has area polygons
and dots at the areas' centres (plus binned request positions) where it has not. The table
under the map holds every number, so the page works without JavaScript too."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.analytics.heat import BUCKETS, LEVELS, HeatData, check_query, heat
from jiesu.analytics.warehouse import Warehouse
from jiesu.city.models import Area
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep
from jiesu.errors import BadInput, JiesuError
from jiesu.kit.cache import Recent
from jiesu.web.forms import FormErrors
from jiesu.web.render import render
from jiesu.web.requests import pickers
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
ANSWERS: Recent[HeatData] = Recent(ttl_seconds=3600)
ROLES = ("supervisor", "analyst", "admin")
DEFAULT_DAYS = 84  # twelve weeks: a season's trend at a glance
LEVEL_NAMES = {
    "district": ("区", "district"),
    "street": ("街道乡镇", "street / town"),
    "community": ("社区村", "community"),
    "grid": ("网格", "grid"),
}
BUCKET_NAMES = {"day": ("日", "day"), "week": ("周", "week"), "month": ("月", "month")}


def _day(values: dict[str, str], name: str, default: date) -> date:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadInput(name, f"{raw!r} is not a date; write YYYY-MM-DD") from None


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _polygons(s: Session, level: str) -> dict[str, Any] | None:
    """The level's areas that have polygons, as GeoJSON for the choropleth; None if none."""
    rows = s.execute(select(Area.code, Area.geometry).where(Area.level == level)).all()
    features = [
        {"type": "Feature", "properties": {"name": code}, "geometry": g}
        for code, g in rows
        if isinstance(g, dict) and g.get("type") in ("Polygon", "MultiPolygon")
    ]
    return {"type": "FeatureCollection", "features": features} if features else None


def _chart_data(data: HeatData, polygons: dict[str, Any] | None) -> str:
    doc = data.as_dict()
    doc["polygons"] = polygons
    return json.dumps(doc, ensure_ascii=False).replace("</", "<\\/")


@router.get("/desk/heat", response_class=HTMLResponse)
async def heat_desk(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *ROLES)
    values = dict(request.query_params)
    wh = Warehouse(request.app.state.settings.data_dir / "warehouse")

    def work(s: Session) -> dict[str, Any]:
        today = clock.now().astimezone(city_context(s).tz).date()
        last = _day(values, "to", today)
        first = _day(values, "from", last - timedelta(days=DEFAULT_DAYS - 1))
        q = check_query(
            values.get("level") or "street",
            first,
            last,
            values.get("bucket") or "week",
            values.get("category") or None,
            actor.area_path,
        )
        # The warehouse changes only when it is refreshed: its refresh number keys the answer.
        key = (str(wh.root), q, wh.state().get("refresh_no"))

        def build() -> HeatData:
            with wh.connect() as con:
                return heat(con, q)

        data, _ = ANSWERS.get(key, build)
        return {
            "data": data,
            "chart": _chart_data(data, _polygons(s, q.level)),
            "picks": pickers(s),
            "values": {**values, "from": first.isoformat(), "to": last.isoformat()},
        }

    errors = FormErrors()
    status = 200
    try:
        ctx = await db.run_sync(work)
    except JiesuError as exc:
        if exc.status_code in (401, 403):
            raise
        errors.from_error(exc)
        status = exc.status_code
        ctx = {"data": None, "chart": "null", "picks": await db.run_sync(pickers), "values": values}
    return render(
        request,
        "staff/heat.html",
        status_code=status,
        errors=errors,
        levels=[(lv, *LEVEL_NAMES[lv]) for lv in LEVELS],
        buckets=[(b, *BUCKET_NAMES[b]) for b in BUCKETS],
        refreshed_at=_instant(wh.state().get("refreshed_at")),
        **ctx,
    )
