"""Exclusion requests (不合理诉求): the lead unit's handler (or a reviewer) asks, with reason
and evidence, that a request be left out of the unit's scoring; the unit sees what it asked and
what was decided. Everything goes through the loop's own service, which checks who may ask;
a refusal comes back on the form, next to the field, with what was typed kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, write
from jiesu.errors import Forbidden, JiesuError
from jiesu.loop.exclusions import list_exclusions, request_exclusion
from jiesu.people.service import Actor
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need
from jiesu.workflow.endpoints import can_view
from jiesu.workflow.service import get_by_ticket
from jiesu.workflow.transitions import REVIEWERS

router = APIRouter(include_in_schema=False)
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "pending": ("待审核", "awaiting decision"),
    "approved": ("已同意", "approved"),
    "refused": ("未同意", "refused"),
}


def _utc(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _unit_of(actor: Actor) -> int:
    need(actor, "handler")
    if actor.unit_id is None:
        raise Forbidden("this account is not bound to a handling unit")
    return actor.unit_id


def evidence_of(values: dict[str, str]) -> list[dict[str, str]]:
    """The form's note and address as the service's evidence items (it checks them)."""
    items = []
    if values.get("evidence_note", "").strip():
        items.append({"note": values["evidence_note"]})
    if values.get("evidence_url", "").strip():
        items.append({"url": values["evidence_url"]})
    return items


# The service names evidence items by position; the form has one field for each kind.
def _field_names(values: dict[str, str]) -> dict[str, str]:
    names = [k for k in ("evidence_note", "evidence_url") if values.get(k, "").strip()]
    out: dict[str, str] = {}
    for i, name in enumerate(names):
        # The longer path first: the first matching prefix wins.
        out[f"evidence[{i}].{name.removeprefix('evidence_')}"] = name
        out[f"evidence[{i}]"] = name
    return out


async def _form_page(
    request: Request,
    db: DB,
    actor: Actor,
    ticket: str,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    def work(s: Session) -> dict[str, Any]:
        req = get_by_ticket(s, ticket)
        can_view(actor, req)
        mine = [x for x in list_exclusions(s, unit_id=req.lead_unit_id) if x.request_id == req.id]
        return {"ticket": req.ticket, "title": req.title, "text": req.text, "earlier": mine}

    data = await db.run_sync(work)
    return render(
        request,
        "staff/unit_exclusion.html",
        status_code=status_code,
        **data,
        errors=errors or FormErrors(),
        values=values or {},
        status_words=STATUS_WORDS,
    )


@router.get("/desk/requests/{ticket}/exclusion", response_class=HTMLResponse)
async def exclusion_form(request: Request, ticket: str, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "handler", *sorted(REVIEWERS))
    return await _form_page(request, db, actor, ticket)


@router.post("/desk/requests/{ticket}/exclusion", response_class=HTMLResponse)
async def exclusion_post(
    request: Request, ticket: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    need(actor, "handler", *sorted(REVIEWERS))
    values, now = await form_dict(request), clock.now()

    def work(s: Session) -> None:
        req = get_by_ticket(s, ticket)
        can_view(actor, req)
        request_exclusion(
            s,
            req,
            reason=values.get("reason", ""),
            evidence=evidence_of(values),
            actor=actor,
            now=now,
        )

    try:
        await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        errors = FormErrors()
        errors.from_error(exc, _field_names(values))
        return await _form_page(
            request, db, actor, ticket, errors=errors, values=values, status_code=exc.status_code
        )
    if actor.role == "handler":
        return RedirectResponse("/desk/unit/exclusions?done=asked", status_code=303)
    return RedirectResponse(f"/desk/requests/{ticket}?done=exclusion", status_code=303)


@router.get("/desk/unit/exclusions", response_class=HTMLResponse)
async def my_exclusions(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    unit_id = _unit_of(actor)

    def work(s: Session) -> list[dict[str, Any]]:
        # Newest first: the unit looks for what it asked lately.
        rows = list_exclusions(s, unit_id=unit_id)[::-1][:200]
        return [
            {
                "id": x.id,
                "ticket": x.request.ticket,
                "title": x.request.title,
                "status": x.status,
                "reason": x.reason,
                "at": _utc(x.requested_at),
                "note": x.decision_note,
            }
            for x in rows
        ]

    rows = await db.run_sync(work)
    return render(
        request,
        "staff/unit_exclusions.html",
        rows=rows,
        status_words=STATUS_WORDS,
        done=request.query_params.get("done", ""),
    )
