"""The call-back desk (回访): the operators' queue, highest priority first, with the unit's
reply to read out, the caller's phone, and one form per call — reached with the caller's
answer (which closes or reopens the request), or not reached; or a private link to answer
online. Every step goes through the loop's own services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError
from jiesu.loop.callbacks import get_task, issue_link, queue
from jiesu.loop.service import answer_attempt
from jiesu.people.service import Actor
from jiesu.privacy.masking import mask_phone
from jiesu.privacy.reads import Shown, record_reads, sees_contacts
from jiesu.web.actions import RESOLUTION, SATISFACTION
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need
from jiesu.workflow.models import Event
from jiesu.workflow.transitions import CALL_DESK

router = APIRouter(include_in_schema=False)
PAGE = 25


def _rows(s: Session, page: int, actor: Actor, now: datetime) -> tuple[list[dict[str, Any]], bool]:
    """The page's call-backs, and whether there is a next page."""
    show_phone = sees_contacts(actor)
    tasks = queue(s, status="open", limit=PAGE + 1, offset=(page - 1) * PAGE)
    ids = [t.request_id for t in tasks]
    replies: dict[int, str] = {}
    if ids:
        for rid, payload in s.execute(
            select(Event.request_id, Event.payload)
            .where(Event.request_id.in_(ids), Event.kind == "reply")
            .order_by(Event.request_id, Event.seq)
        ):
            replies[rid] = str((payload or {}).get("text", ""))  # the latest reply wins
    out, shown = [], []
    for t in tasks[:PAGE]:
        req, contact = t.request, t.request.contact
        phone = contact.phone if contact else ""
        if show_phone and contact is not None:
            fields = [f for f in ("name", "phone") if getattr(contact, f)]
            shown.append(Shown(req.id, req.ticket, fields))
        out.append(
            {
                "task": t,
                "ticket": req.ticket,
                "title": req.title,
                "status": req.status,
                "unit": req.lead_unit.name if req.lead_unit else "",
                "reply": replies.get(req.id, ""),
                "phone": phone if show_phone else mask_phone(phone),
                "name": contact.name if contact and show_phone else "",
            }
        )
    # Each caller shown in full on the page is a recorded read (committed with the page).
    record_reads(s, actor, shown, purpose="web.call_desk", at=now)
    return out, len(tasks) > PAGE


async def _page_rows(
    db: DB, page: int, actor: Actor, now: datetime
) -> tuple[list[dict[str, Any]], bool]:
    def work(s: Session) -> tuple[list[dict[str, Any]], bool]:
        return _rows(s, page, actor, now)

    return await (write(db, work) if sees_contacts(actor) else db.run_sync(work))


@router.get("/desk/callbacks", response_class=HTMLResponse)
async def callbacks_page(
    request: Request, db: DB, actor: WebActor, clock: ClockDep
) -> HTMLResponse:
    need(actor, *sorted(CALL_DESK))
    try:
        page = max(1, min(int(request.query_params.get("page", "1")), 10_000))
    except ValueError:
        raise BadInput("page", "must be a whole number") from None
    rows, more = await _page_rows(db, page, actor, clock.now())
    q = request.query_params
    return render(
        request,
        "staff/calls.html",
        rows=rows,
        more=more,
        page=page,
        resolutions=RESOLUTION,
        satisfactions=SATISFACTION,
        done=q.get("done", ""),
        link=q.get("link", ""),
        errors=FormErrors(),
        failed=0,
    )


def _task_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise BadInput("id", "must be a task number")
    return int(raw)


@router.post("/desk/callbacks/{task}/attempt", response_class=HTMLResponse)
async def attempt(
    request: Request, task: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    need(actor, *sorted(CALL_DESK))
    task_id, values, now = _task_id(task), await form_dict(request), clock.now()
    reached = values.get("reached") == "yes"
    errors = FormErrors()
    resolution = values.get("resolution") or None
    satisfaction = values.get("satisfaction") or None
    if reached and resolution not in {c for c, _, _ in RESOLUTION}:
        errors.add("resolution", "请选择是否解决", "choose whether it was solved")
    if reached and satisfaction not in {c for c, _, _ in SATISFACTION}:
        errors.add("satisfaction", "请选择是否满意", "choose how satisfied the caller is")

    def work(s: Session) -> str:
        t = get_task(s, task_id)
        answer_attempt(
            s,
            t,
            reached=reached,
            actor=actor,
            now=now,
            ctx=city_context(s),
            note=values.get("note", "")[:10_000],
            resolution=resolution if reached else None,
            satisfaction=satisfaction if reached else None,
        )
        return t.request.ticket

    if not errors:
        try:
            ticket = await write(db, work)
            return RedirectResponse(f"/desk/callbacks?done={ticket}", status_code=303)
        except JiesuError as exc:
            if exc.status_code == 404:
                raise
            errors.from_error(exc)
    rows, more = await _page_rows(db, 1, actor, now)
    return render(
        request,
        "staff/calls.html",
        status_code=422,
        rows=rows,
        more=more,
        page=1,
        resolutions=RESOLUTION,
        satisfactions=SATISFACTION,
        done="",
        link="",
        errors=errors,
        failed=task_id,
        values=values,
    )


@router.post("/desk/callbacks/{task}/link")
async def link(request: Request, task: str, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    """A one-time private link for the caller to answer online (shown once, sent by SMS)."""
    need(actor, *sorted(CALL_DESK))
    task_id, now = _task_id(task), clock.now()
    token = await write(db, lambda s: issue_link(s, get_task(s, task_id), now))
    return RedirectResponse(f"/desk/callbacks?link=/cb/{token}", status_code=303)
