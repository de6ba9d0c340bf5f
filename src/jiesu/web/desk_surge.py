"""The surge desk (制度弹性): declared events, the form to declare one, and each event's live
dashboard with the reply to every caller and the end of the event. Supervisors act; operators,
dispatchers and analysts watch. The same services as /api/v1/surge."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError, NotFound
from jiesu.surge.dashboard import dashboard
from jiesu.surge.models import EVENT_KINDS, SurgeEvent
from jiesu.surge.schemas import EventIn
from jiesu.surge.service import (
    DECLARERS,
    bulk_reply,
    callers,
    declare,
    end_event,
    get_event,
    list_events,
    status_of,
)
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
WATCHERS = ("operator", "dispatcher", "supervisor", "analyst", "admin")
STATUS_NAMES = {
    "scheduled": ("未开始", "scheduled"),
    "active": ("进行中", "active"),
    "ended": ("已结束", "ended"),
}
_SPLIT = re.compile(r"[\s,，、;；]+")


def _list(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text or "") if w]


def _when(values: dict[str, str], name: str, tz: ZoneInfo) -> str | None:
    """A datetime-local field (city time) as ISO 8601 with the zone, for the API model."""
    raw = values.get(name, "").strip()
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise BadInput(name, f"{raw!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    return (at if at.tzinfo else at.replace(tzinfo=tz)).isoformat()


def _rules(text: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput("rules", f"is not YAML or JSON: {str(exc).splitlines()[0]}") from None
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BadInput("rules", "must be a list of rules written like the dispatch catalogue's")
    return data


def event_in(values: dict[str, str], tz: ZoneInfo) -> EventIn:
    data: dict[str, Any] = {
        "name": values.get("name", ""),
        "kind": values.get("kind", ""),
        "areas": _list(values.get("areas", "")),
        "starts_at": _when(values, "starts_at", tz),
        "ends_at": _when(values, "ends_at", tz),
        "keywords": _list(values.get("keywords", "")),
        "categories": _list(values.get("categories", "")),
        "script": values.get("script", ""),
        "response_limit": values.get("response_limit") or None,
        "handling_limit": values.get("handling_limit") or None,
        "rules": _rules(values.get("rules", "")),
        "auto_dispatch": values.get("auto_dispatch") == "on",
    }
    return EventIn.model_validate(data)


def _picks(s: Session) -> dict[str, list[tuple[str, str]]]:
    areas = s.execute(
        select(Area.code, Area.name)
        .where(Area.active.is_(True), Area.level.in_(("city", "district", "street")))
        .order_by(Area.code)
    ).all()
    cats = s.execute(select(Category.code, Category.name).order_by(Category.code)).all()
    return {
        "areas": [(a[0], a[1]) for a in areas],
        "categories": [(c[0], c[1]) for c in cats],
    }


async def _list_page(
    request: Request,
    db: DB,
    now: datetime,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    def work(s: Session) -> dict[str, Any]:
        events = list_events(s, now=now)
        return {
            "rows": [(e, status_of(e, now), len(e.cases)) for e in events],
            "picks": _picks(s),
        }

    data = await db.run_sync(work)
    return render(
        request,
        "staff/surge.html",
        status_code=status_code,
        kinds=EVENT_KINDS,
        statuses=STATUS_NAMES,
        values=values if values is not None else {"auto_dispatch": "on"},
        errors=errors or FormErrors(),
        done=request.query_params.get("done", ""),
        **data,
    )


@router.get("/desk/surge", response_class=HTMLResponse)
async def surge_desk(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *WATCHERS)
    return await _list_page(request, db, clock.now())


@router.post("/desk/surge", response_class=HTMLResponse)
async def surge_declare(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *DECLARERS)
    values, now = await form_dict(request), clock.now()
    errors = FormErrors()
    tz = request.app.state.settings.tz
    try:
        data = event_in(values, tz)
    except ValidationError as exc:
        errors.from_validation(exc)
    except BadInput as exc:
        errors.from_error(exc)
    if errors:
        return await _list_page(request, db, now, values=values, errors=errors, status_code=422)

    def work(s: Session) -> tuple[int, list[str]]:
        event, warnings = declare(s, data, actor=actor, now=now, ctx=city_context(s))
        return event.id, warnings

    try:
        event_id, warnings = await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 403):
            raise
        errors.from_error(_by_input(exc))
        return await _list_page(
            request, db, now, values=values, errors=errors, status_code=exc.status_code
        )
    flag = "&warned=1" if warnings else ""
    return RedirectResponse(f"/desk/surge/{event_id}?done=declared{flag}", status_code=303)


def _by_input(exc: JiesuError) -> JiesuError:
    """``areas[1]`` is the second name typed in the one ``areas`` input: show the problem
    there, saying which name it is about."""
    for f in exc.fields:
        name = f.get("field", "")
        if (base := re.sub(r"\[\d+\]$", "", name)) != name:
            f["field"], f["problem"] = base, f"{name}: {f.get('problem', '')}"
    return exc


def _event_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise NotFound(f"no event {raw!r}")
    return int(raw)


async def _event_page(
    request: Request,
    db: DB,
    event_id: int,
    now: datetime,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    result: dict[str, Any] | None = None,
) -> HTMLResponse:
    def work(s: Session) -> dict[str, Any]:
        event = get_event(s, event_id)
        tz = city_context(s).tz
        numbers = dashboard(s, event, now=now, tz=tz)
        people = [(c, callers(s, c)) for c in event.cases]
        return {"event": event, "numbers": numbers, "people": people}

    data = await db.run_sync(work)
    event: SurgeEvent = data["event"]
    vol = data["numbers"]["volume"]
    return render(
        request,
        "staff/surge_event.html",
        status_code=status_code,
        status=status_of(event, now),
        statuses=STATUS_NAMES,
        kinds=EVENT_KINDS,
        volume_json=json.dumps(list(zip(vol["labels"], vol["values"], strict=True))),
        errors=errors or FormErrors(),
        values=values or {},
        done=request.query_params.get("done", ""),
        warned=request.query_params.get("warned") == "1",
        result=result,
        **data,
    )


@router.get("/desk/surge/{raw_id}", response_class=HTMLResponse)
async def surge_event(
    request: Request, raw_id: str, db: DB, actor: WebActor, clock: ClockDep
) -> HTMLResponse:
    need(actor, *WATCHERS)
    return await _event_page(request, db, _event_id(raw_id), clock.now())


@router.get("/desk/surge/{raw_id}/report", response_class=HTMLResponse)
async def surge_report(request: Request, raw_id: str, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *WATCHERS)
    event_id = _event_id(raw_id)
    html = await db.run_sync(lambda s: get_event(s, event_id).report_html)
    if html is None:
        raise NotFound(f"event {event_id} has not ended; its report comes when it ends")
    return HTMLResponse(html)


@router.post("/desk/surge/{raw_id}/{step}", response_class=HTMLResponse)
async def surge_act(
    request: Request, raw_id: str, step: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    need(actor, *DECLARERS)
    event_id = _event_id(raw_id)
    if step not in ("reply", "end"):
        raise NotFound(f"no such step {step!r}; steps are reply and end")
    values, now = await form_dict(request), clock.now()

    def work(s: Session) -> dict[str, Any] | None:
        event = get_event(s, event_id)
        if step == "end":
            end_event(s, event, actor=actor, now=now, note=values.get("note", ""))
            return None
        result = bulk_reply(s, event, values.get("text", ""), actor=actor, now=now,
                            ctx=city_context(s))  # fmt: skip
        return {"replied": result.replied, "skipped": result.skipped}

    try:
        result = await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return await _event_page(
            request, db, event_id, now, errors=errors, values=values, status_code=exc.status_code
        )
    if step == "end":
        return RedirectResponse(f"/desk/surge/{event_id}?done=ended", status_code=303)
    return await _event_page(request, db, event_id, now, result=result)
