"""The operator's intake desk (受理) for phone calls: one keyboard-first form, and beside it
what the machine reads in the words as they are typed — category suggestions, the place,
urgency reasons, likely duplicates — plus the caller's earlier requests.

Three ways out of one form: a work order (the usual), a consultation answered on the spot
(直接答复, no unit involved), or a duplicate merged into the open request it repeats.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.callers.profile import Profile, hashes_of, profile
from jiesu.city.models import URGENCY_CLASSES, Area
from jiesu.city.service import city_context, find_area, find_category
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import JiesuError
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.nlp.understand import scored_text, understand
from jiesu.surge.script import Script, scripts_for
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.requests import INTERNAL_STATUS, pickers
from jiesu.web.session import WebActor, need
from jiesu.workflow.present import understanding_out
from jiesu.workflow.schemas import CategorySuggestion, UnderstandingOut
from jiesu.workflow.service import apply_action

router = APIRouter(include_in_schema=False)
DESK = ("operator", "supervisor", "admin")
URGENCY_NAMES = {
    "emergency": ("紧急", "emergency"),
    "utility": ("水电气热", "utilities"),
    "general": ("一般", "general"),
    "complex": ("复杂", "complex"),
}


@dataclass(frozen=True)
class Reading:
    suggestions: list[CategorySuggestion]
    understanding: UnderstandingOut
    # The caller's earlier requests with their outcomes, and open flags (jiesu.callers).
    caller: Profile
    # Scripts (口径) of lasting events that this call's place or words match.
    scripts: list[Script] = field(default_factory=list)


def _caller(s: Session, phone: str) -> Profile:
    # By the blind index: the numbers are encrypted, and "138 0013 8000" is 13800138000;
    # fewer than 7 digits are no caller yet, and strangers' requests are not listed.
    return profile(s, hashes_of(phone), role="operator")


def read_call(s: Session, values: dict[str, str], now: Any) -> Reading:
    """What intake would read in the words typed so far; nothing is recorded."""
    ctx = city_context(s)
    text = values.get("text", "").strip()
    caller = _caller(s, values.get("phone", ""))
    scripts = scripts_for(
        s,
        text=text[:10_000],
        area=values.get("area") or None,
        category=values.get("category") or None,
        now=now,
    )
    if not text:
        return Reading([], UnderstandingOut(), caller, scripts)
    category = area = None
    try:
        category = find_category(s, values["category"]) if values.get("category") else None
        area = find_area(s, values["area"]) if values.get("area") else None
    except JiesuError:
        pass  # a half-typed code: read the text as if none was given
    seen = understand(
        s,
        title="",
        text=text[:10_000],
        address=values.get("address", ""),
        received_at=now,
        tz=ctx.tz,
        category=category,
        area=area,
    )
    payload = seen.as_payload()
    return Reading(
        [CategorySuggestion(**sg) for sg in payload["suggestions"]],
        understanding_out(payload, scored_text("", text)),
        caller,
        scripts,
    )


def _areas(s: Session) -> list[tuple[str, str]]:
    rows = s.execute(
        select(Area.code, Area.name, Area.level)
        .where(Area.active.is_(True), Area.level.in_(("district", "street", "community")))
        .order_by(Area.code)
    ).all()
    return [(code, name) for code, name, _ in rows]


async def _page(
    request: Request,
    db: DB,
    values: dict[str, str],
    errors: FormErrors,
    status: int = 200,
    created: str = "",
    how: str = "",
) -> HTMLResponse:
    picks, areas = await db.run_sync(lambda s: (pickers(s), _areas(s)))
    return render(
        request,
        "staff/phone.html",
        status_code=status,
        values=values,
        errors=errors,
        picks=picks,
        areas=areas,
        urgencies=[(u, URGENCY_NAMES.get(u, (u, u))) for u in URGENCY_CLASSES],
        form_id=values.get("form_id") or secrets.token_urlsafe(12),
        created=created,
        how=how,
        reading=None,
        consulted=request.query_params.get("consulted", "")[:12],
    )


@router.get("/desk/intake", response_class=HTMLResponse)
async def intake_page(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *DESK)
    q = request.query_params
    return await _page(
        request, db, {}, FormErrors(), created=q.get("created", ""), how=q.get("how", "")
    )


@router.post("/desk/intake/read", response_class=HTMLResponse)
async def intake_read(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    """The side panel (HTMX): suggestions, place, urgency, duplicates, caller history."""
    need(actor, *DESK)
    values = await form_dict(request)
    now = clock.now()
    reading = await db.run_sync(lambda s: read_call(s, values, now))
    return render(request, "staff/phone_panel.html", reading=reading, statuses=INTERNAL_STATUS)


def _request_in(values: dict[str, str]) -> RequestIn:
    contact = {k: values[k] for k in ("name", "phone") if values.get(k)}
    data: dict[str, Any] = {
        "channel": "phone",
        "text": values.get("text", ""),
        "address": values.get("address", ""),
        "contact": contact or None,
        "source_key": f"desk:{values['form_id'][:60]}" if values.get("form_id") else None,
    }
    for name in ("area", "category", "urgency"):
        if values.get(name):
            data[name] = values[name]
    return RequestIn.model_validate({k: v for k, v in data.items() if v is not None})


@router.post("/desk/intake", response_class=HTMLResponse)
async def intake_submit(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *DESK)
    values = await form_dict(request)
    errors = FormErrors()
    how = values.get("how", "order")
    if how == "answer" and not values.get("answer", "").strip():
        errors.add("answer", "直接答复需要填写答复内容", "write the answer given on the phone")
    if how == "merge" and not values.get("merge_into"):
        errors.add("merge_into", "请选择要合并到的工单", "choose the request to merge into")
    try:
        data = _request_in(values)
    except ValidationError as exc:
        errors.from_validation(exc, prefix_map={"contact.": ""})
    if errors:
        return await _page(request, db, values, errors, 422)
    now = clock.now()

    def work(s: Session) -> str:
        ctx = city_context(s)
        req, created = submit_request(s, data, actor=actor, now=now, ctx=ctx)
        if created and how == "answer":
            apply_action(
                s, req, "answer", actor=actor, now=now, ctx=ctx, params={"text": values["answer"]}
            )
        elif created and how == "merge":
            apply_action(
                s,
                req,
                "merge",
                actor=actor,
                now=now,
                ctx=ctx,
                params={"into": values["merge_into"]},
            )
        return req.ticket

    try:
        ticket = await write(db, work)
    except JiesuError as exc:
        errors.from_error(
            exc,
            prefix_map={
                "contact.": "",
                "into": "merge_into",
                "text": "answer" if how == "answer" else "text",
            },
        )
        return await _page(request, db, values, errors, exc.status_code)
    # A fresh, empty form for the next call, with the last ticket to read out to the caller.
    return RedirectResponse(f"/desk/intake?created={ticket}&how={how}", status_code=303)
