"""Flagging a vulnerable caller from the request page, and removing the flag: the forms of
the caller section (templates/staff/_caller.html), over jiesu.callers.service."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.callers.service import FLAGGERS, flag_caller, get_flag, remove_flag
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.requests import _detail_page
from jiesu.web.session import WebActor, need
from jiesu.workflow.service import get_by_ticket

router = APIRouter(include_in_schema=False)


@router.post("/desk/requests/{ticket}/caller-flags", response_class=HTMLResponse)
async def flag(request: Request, ticket: str, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *FLAGGERS)
    values, now = await form_dict(request), clock.now()

    def work(s: Session) -> None:
        req = get_by_ticket(s, ticket)
        flag_caller(s, req, kind=values.get("kind", ""), reason=values.get("reason"),
                    consent=values.get("consent") == "yes", actor=actor, now=now)  # fmt: skip

    try:
        await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return await _detail_page(request, db, actor, clock, ticket, errors=errors,
                                  failed="caller-flag", values=values,
                                  status_code=exc.status_code)  # fmt: skip
    return RedirectResponse(f"/desk/requests/{ticket}?done=caller_flagged", status_code=303)


@router.post("/desk/requests/{ticket}/caller-flags/{flag_id}/remove", response_class=HTMLResponse)
async def unflag(
    request: Request, ticket: str, flag_id: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    need(actor, *FLAGGERS)
    if not flag_id.isdigit() or len(flag_id) > 9:
        raise BadInput("flag", "must be a flag's number")
    values, now = await form_dict(request), clock.now()
    back = values.get("back", "") or ticket

    def work(s: Session) -> None:
        req = get_by_ticket(s, ticket)
        remove_flag(s, get_flag(s, int(flag_id), req), reason=values.get("reason"), actor=actor,
                    now=now)  # fmt: skip

    try:
        await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return await _detail_page(request, db, actor, clock, back, errors=errors,
                                  failed="caller-unflag", values=values,
                                  status_code=exc.status_code)  # fmt: skip
    return RedirectResponse(f"/desk/requests/{back}?done=caller_unflagged", status_code=303)
