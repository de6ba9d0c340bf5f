"""The citizen portal: report a problem, follow it, answer the call-back, see the city's figures.

Every form here works without JavaScript (plain POST, then a redirect); the map picker and
live checks only add to it. A form that fails keeps everything typed and names each field.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import Conflict, JiesuError, NotFound
from jiesu.intake.public import WEB_ACTOR, PublicSubmission
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.loop.callbacks import current_task, task_for_token
from jiesu.loop.service import LINK_ACTOR, answer
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import MaybeActor, csrf_ok
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.public import STATUS_LABELS, public_view, track_code
from jiesu.workflow.service import get_by_ticket

router = APIRouter(include_in_schema=False)

RESOLUTIONS = (
    ("solved", "已解决", "solved"),
    ("partly", "部分解决", "partly solved"),
    ("unsolved", "未解决", "not solved"),
)
SATISFACTIONS = (
    ("satisfied", "满意", "satisfied"),
    ("basically", "基本满意", "fairly satisfied"),
    ("unsatisfied", "不满意", "not satisfied"),
)


def track_path(request: Request, ticket: str) -> str:
    return f"/t/{ticket}/{track_code(ticket, request.app.state.settings.secret_key)}"


@dataclass(frozen=True)
class Choices:
    """What the form offers: first-level categories and the areas, district by district."""

    categories: list[tuple[str, str]]
    districts: list[tuple[str, str, list[tuple[str, str]]]]
    points: list[dict[str, Any]]


def _choices(s: Session) -> Choices:
    cats = s.execute(
        select(Category.code, Category.name)
        .where(Category.level == 1, Category.active.is_(True))
        .order_by(Category.code)
    ).all()
    areas = s.scalars(
        select(Area).where(Area.active.is_(True), Area.level.in_(("district", "street")))
    ).all()
    by_parent: dict[int | None, list[Area]] = {}
    for a in areas:
        by_parent.setdefault(a.parent_id, []).append(a)
    districts = sorted((a for a in areas if a.level == "district"), key=lambda a: a.code)
    groups = [
        (
            d.code,
            d.name,
            [(st.code, st.name) for st in sorted(by_parent.get(d.id, []), key=lambda x: x.code)],
        )
        for d in districts
    ]
    points = [
        {"code": a.code, "name": a.name, "level": a.level, "value": [a.lon, a.lat]}
        for a in areas
        if a.lat is not None and a.lon is not None
    ]
    return Choices([(c, n) for c, n in cats], groups, points)


async def _form_page(
    request: Request, db: DB, values: dict[str, str], errors: FormErrors, status: int = 200
) -> HTMLResponse:
    choices = await db.run_sync(_choices)
    return render(
        request,
        "citizen/submit.html",
        status_code=status,
        values=values,
        errors=errors,
        choices=choices,
        form_id=values.get("form_id") or secrets.token_urlsafe(12),
    )


@router.get("/", response_class=HTMLResponse)
async def submit_form(request: Request, db: DB, who: MaybeActor) -> HTMLResponse:
    return await _form_page(request, db, {}, FormErrors())


@router.post("/", response_class=HTMLResponse)
async def submit(request: Request, db: DB, clock: ClockDep, who: MaybeActor) -> Response:
    values = await form_dict(request)
    # A signed-in citizen's request is theirs (listed under "my requests"); a form without a
    # valid CSRF value is taken as an anonymous one, so no other site can submit in their name.
    actor = (
        who
        if who is not None and who.role == "citizen" and csrf_ok(request, values.get("csrf"))
        else WEB_ACTOR
    )
    errors = FormErrors()
    contact: dict[str, Any] = {
        k: values[f"contact_{k}"] for k in ("name", "phone", "email") if values.get(f"contact_{k}")
    }
    if contact:
        contact["wants_reply"] = values.get("contact_wants_reply") == "on"
    body: dict[str, Any] = {
        "text": values.get("text", ""),
        "address": values.get("address", ""),
        "area": values.get("area") or None,
        "category": values.get("category") or None,
        "contact": contact or None,
    }
    try:
        sub = PublicSubmission.model_validate({k: v for k, v in body.items() if v is not None})
    except ValidationError as exc:
        errors.from_validation(exc, prefix_map={"contact.": "contact_"})
        return await _form_page(request, db, values, errors, 422)
    form_id = values.get("form_id", "")[:60]
    data = RequestIn(
        channel="web",
        **sub.model_dump(exclude_none=True),
        # A second press of "submit" (or a reload) finds the first request, never makes two.
        source_key=f"webform:{form_id}" if form_id else None,
    )
    now = clock.now()

    def work(s: Session) -> str:
        ctx = city_context(s)
        req, _ = submit_request(s, data, actor=actor, now=now, ctx=ctx)
        return req.ticket

    try:
        ticket = await write(db, work)
    except JiesuError as exc:
        errors.from_error(exc, prefix_map={"contact.": "contact_"})
        return await _form_page(request, db, values, errors, exc.status_code)
    return RedirectResponse(f"{track_path(request, ticket)}?new=1", status_code=303)


@router.get("/my", response_class=HTMLResponse)
async def my_requests(request: Request, db: DB, who: MaybeActor) -> Response:
    """A signed-in citizen's own requests, newest first, each with its private tracking link."""
    if who is None or who.user_id is None:
        return RedirectResponse("/login?next=/my", status_code=303)
    uid = who.user_id

    def work(s: Session) -> list[tuple[str, str, str, Any]]:
        rows = s.execute(
            select(
                ServiceRequest.ticket,
                ServiceRequest.title,
                ServiceRequest.status,
                ServiceRequest.received_at,
            )
            .join(Event, Event.request_id == ServiceRequest.id)
            .where(Event.kind == "received", Event.actor_id == uid)
            .order_by(ServiceRequest.received_at.desc())
            .limit(200)
        ).all()
        return [(t, title, st, at) for t, title, st, at in rows]

    rows = await db.run_sync(work)
    items = [
        (t, title, STATUS_LABELS.get(st, (st, st)), at, track_path(request, t))
        for t, title, st, at in rows
    ]
    return render(request, "citizen/my.html", items=items)


@router.get("/track", response_class=HTMLResponse)
async def track_form(request: Request, who: MaybeActor) -> HTMLResponse:
    return render(request, "citizen/track_form.html", values={}, errors=FormErrors())


@router.post("/track", response_class=HTMLResponse)
async def track_lookup(request: Request, db: DB) -> Response:
    values = await form_dict(request)
    ticket = values.get("ticket", "").strip().upper()
    digits = values.get("phone_last4", "").strip()
    errors = FormErrors()
    if not ticket:
        errors.add("ticket", "请填写工单号", "enter the ticket number")
    if not (len(digits) == 4 and digits.isdigit()):
        errors.add("phone_last4", "请填写手机号后4位数字", "enter the last 4 digits of the phone")
    if not errors:

        def check(s: Session) -> bool:
            try:
                req = get_by_ticket(s, ticket)
            except JiesuError:
                return False
            phone = "".join(ch for ch in (req.contact.phone if req.contact else "") if ch.isdigit())
            return len(phone) >= 4 and hmac.compare_digest(phone[-4:], digits)

        if await db.run_sync(check):
            return RedirectResponse(track_path(request, ticket), status_code=303)
        # One answer for both cases, so the form cannot be used to learn which tickets exist.
        errors.add(
            "ticket",
            "工单号与手机号后4位不匹配。没有留电话的诉求请使用提交时给出的查询链接。",
            "the ticket and phone digits do not match. Without a phone, use the private link "
            "given when you submitted.",
        )
    return render(request, "citizen/track_form.html", status_code=422, values=values, errors=errors)


def _tracking(s: Session, ticket: str) -> dict[str, Any]:
    ctx = city_context(s)
    req = get_by_ticket(s, ticket)
    task = current_task(s, req)
    return {
        "view": public_view(s, req, ctx.tz),
        "can_answer": task is not None and task.status == "open" and req.status == "replied",
    }


@router.get("/t/{ticket}/{code}", response_class=HTMLResponse)
async def tracking(
    request: Request, ticket: str, code: str, db: DB, who: MaybeActor
) -> HTMLResponse:
    _check_code(request, ticket, code)
    data = await db.run_sync(lambda s: _tracking(s, ticket))
    return render(
        request,
        "citizen/track.html",
        **data,
        new=request.query_params.get("new") == "1",
        link=str(request.base_url).rstrip("/") + track_path(request, ticket),
        answered=request.query_params.get("answered") == "1",
        errors=FormErrors(),
        values={},
        resolutions=RESOLUTIONS,
        satisfactions=SATISFACTIONS,
    )


def _check_code(request: Request, ticket: str, code: str) -> None:
    want = track_code(ticket, request.app.state.settings.secret_key)
    if not hmac.compare_digest(want, code):
        raise NotFound("no such tracking link")


@router.post("/t/{ticket}/{code}/answer", response_class=HTMLResponse)
async def answer_on_tracking(
    request: Request, ticket: str, code: str, db: DB, clock: ClockDep
) -> Response:
    """The caller answers the call-back from the private tracking page."""
    _check_code(request, ticket, code)
    values = await form_dict(request)
    errors = _check_answer(values)
    now = clock.now()
    if not errors:

        def work(s: Session) -> None:
            req = get_by_ticket(s, ticket)
            task = current_task(s, req)
            if task is None or task.status != "open" or req.status != "replied":
                raise Conflict("this request is not waiting for your answer now")
            _record_answer(s, task, values, now)

        try:
            await write(db, work)
            return RedirectResponse(f"/t/{ticket}/{code}?answered=1", status_code=303)
        except JiesuError as exc:
            errors.from_error(exc)
    data = await db.run_sync(lambda s: _tracking(s, ticket))
    return render(
        request,
        "citizen/track.html",
        status_code=422,
        **data,
        new=False,
        link="",
        answered=False,
        errors=errors,
        values=values,
        resolutions=RESOLUTIONS,
        satisfactions=SATISFACTIONS,
    )


def _record_answer(s: Session, task: Any, values: dict[str, str], now: Any) -> ServiceRequest:
    """The caller's own answer to the call-back, given online (the link is the channel)."""
    return answer(
        s,
        task,
        resolution=values["resolution"],
        satisfaction=values["satisfaction"],
        note=values.get("comment") or None,
        actor=LINK_ACTOR,
        now=now,
        ctx=city_context(s),
        channel="link",
    )


def _check_answer(values: dict[str, str]) -> FormErrors:
    errors = FormErrors()
    if values.get("resolution") not in {r[0] for r in RESOLUTIONS}:
        errors.add("resolution", "请选择问题是否解决", "choose whether it was solved")
    if values.get("satisfaction") not in {r[0] for r in SATISFACTIONS}:
        errors.add("satisfaction", "请选择是否满意", "choose how satisfied you are")
    if len(values.get("comment", "")) > 2000:
        errors.add("comment", "意见不超过2000字", "at most 2,000 characters")
    return errors


@router.get("/cb/{token}", response_class=HTMLResponse)
async def callback_link(request: Request, token: str, db: DB, clock: ClockDep) -> HTMLResponse:
    """The one-time call-back link an operator sent: the same answer form, once."""
    now = clock.now()

    def work(s: Session) -> dict[str, Any]:
        task = task_for_token(s, token, now)
        return {"view": public_view(s, task.request, city_context(s).tz)}

    data = await db.run_sync(work)
    return render(
        request,
        "citizen/callback.html",
        **data,
        token=token,
        errors=FormErrors(),
        values={},
        resolutions=RESOLUTIONS,
        satisfactions=SATISFACTIONS,
    )


@router.post("/cb/{token}", response_class=HTMLResponse)
async def callback_link_answer(request: Request, token: str, db: DB, clock: ClockDep) -> Response:
    values = await form_dict(request)
    errors = _check_answer(values)
    now = clock.now()
    if not errors:

        def work(s: Session) -> str:
            task = task_for_token(s, token, now)
            return _record_answer(s, task, values, now).ticket

        ticket = await write(db, work)
        return RedirectResponse(f"{track_path(request, ticket)}?answered=1", status_code=303)

    def view(s: Session) -> dict[str, Any]:
        task = task_for_token(s, token, now)
        return {"view": public_view(s, task.request, city_context(s).tz)}

    data = await db.run_sync(view)
    return render(
        request,
        "citizen/callback.html",
        status_code=422,
        **data,
        token=token,
        errors=errors,
        values=values,
        resolutions=RESOLUTIONS,
        satisfactions=SATISFACTIONS,
    )
