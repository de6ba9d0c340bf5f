"""Editing the sensors and their alarm rules on the admin desk: the registry as the same YAML
`jiesu sensors load FILE` reads, edited in the page, checked whole (every problem with its
entry, nothing changed) and then loaded; the text is kept when it is refused."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import ProblemList
from jiesu.intake.models import Sensor, SensorRule
from jiesu.intake.sensors.registry import LoadResult, apply_sensor_file, read_sensor_file
from jiesu.web.forms import form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
MAX_TEXT = 2 * 2**20


def export_yaml(s: Session) -> str:
    """The registry as it is now, in the file format (codes quoted: 010213 is not a number)."""
    cats = dict(s.execute(select(Category.id, Category.code)).all())
    areas = dict(s.execute(select(Area.id, Area.code)).all())
    units = dict(s.execute(select(HandlingUnit.id, HandlingUnit.code)).all())
    rules = [
        {
            "kind": r.kind,
            "name": r.name,
            "category": cats.get(r.category_id),
            "threshold": r.threshold,
            "above": r.above,
            "urgency": r.urgency,
        }
        for r in s.scalars(select(SensorRule).order_by(SensorRule.kind))
    ]
    sensors = []
    for x in s.scalars(select(Sensor).order_by(Sensor.code)):
        row: dict[str, Any] = {"code": x.code, "kind": x.kind, "area": areas.get(x.area_id)}
        if x.lat is not None:
            row["lat"], row["lon"] = x.lat, x.lon
        if x.unit_id is not None:
            row["unit"] = units.get(x.unit_id)
        row["description"] = x.description
        if not x.active:
            row["active"] = False
        sensors.append(row)
    text = yaml.safe_dump(
        {"rules": rules, "sensors": sensors}, allow_unicode=True, sort_keys=False, width=120
    )
    return text


def _page(
    request: Request,
    text: str,
    *,
    problems: list[str] | None = None,
    result: LoadResult | None = None,
    checked: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "staff/admin_sensors_edit.html",
        status_code=status_code,
        text=text,
        problems=problems or [],
        result=result,
        checked=checked,
    )


@router.get("/desk/admin/sensors/edit", response_class=HTMLResponse)
async def edit_sensors(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "admin")
    return _page(request, await db.run_sync(export_yaml))


@router.post("/desk/admin/sensors/edit", response_class=HTMLResponse)
async def save_sensors(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, "admin")
    values, now = await form_dict(request), clock.now()
    text = values.get("text", "")
    if len(text) > MAX_TEXT:
        return _page(request, "", problems=["the text is larger than 2 MB"], status_code=422)
    with tempfile.TemporaryDirectory(prefix="jiesu-sensors-") as tmp:
        path = Path(tmp) / "sensors.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            spec = read_sensor_file(path)
            spec.source = "admin desk"
            if values.get("mode") == "load":
                result = await write(db, lambda s: apply_sensor_file(s, spec, now=now))
                return _page(request, text, result=result)
            # A check is a load that is rolled back: references are checked against the city.
            await db.run_sync(lambda s: apply_sensor_file(s, spec, now=now))
            await db.rollback()
        except ProblemList as exc:
            await db.rollback()
            return _page(request, text, problems=exc.problems, status_code=422)
    return _page(request, text, checked=True)
