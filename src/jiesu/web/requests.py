"""Requests for staff: the list with filters, one request with its whole history, and every
workflow action the signed-in person may take on it now — each through ``apply_action``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.callers.profile import view_for as caller_view
from jiesu.city.models import Category, HandlingUnit
from jiesu.city.service import city_context, find_area, find_category, find_unit
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError, NotFound
from jiesu.evidence.endpoints import app_storage
from jiesu.evidence.models import STAGES
from jiesu.evidence.service import ADDERS, Limits, visible_files
from jiesu.kit.cache import PerDatabase
from jiesu.people.service import Actor
from jiesu.privacy.reads import sees_contacts
from jiesu.web.actions import ACTION_PATH, FORMS, body_of
from jiesu.web.evidence import ACCEPT, file_view, form_files, store_files
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.nav import ROLE_NAMES
from jiesu.web.render import render
from jiesu.web.self_service import searched_before
from jiesu.web.session import HOME, WebActor, need
from jiesu.workflow.access import STAFF_VIEWERS, can_view, scope_filter
from jiesu.workflow.present import detail, summary
from jiesu.workflow.public import MILESTONES, STATUS_LABELS
from jiesu.workflow.repository import SORTS, RequestFilter, list_requests
from jiesu.workflow.schemas import RequestOut
from jiesu.workflow.service import apply_action, get_by_ticket

# The steps whose form carries evidence files (the unit's proof, the call-back's record).
WITH_FILES = ("reply", "call_back")

router = APIRouter(include_in_schema=False)
VIEWERS = (*STAFF_VIEWERS, "handler")
PAGE_SIZE = 25
INTERNAL_STATUS: dict[str, tuple[str, str]] = {
    **STATUS_LABELS,
    "dispatched": ("已派单待签收", "dispatched"),
    "accepted": ("办理中", "accepted"),
}


@dataclass(frozen=True)
class Pickers:
    """What unit and category fields offer as the person types (HTML datalists)."""

    units: list[tuple[str, str]]
    categories: list[tuple[str, str]]


# The city's units and categories change with a pack load (which clears every cache); a
# minute's staleness elsewhere is harmless, rebuilding them on every page is not (~13 ms).
_pickers: PerDatabase[Pickers] = PerDatabase(ttl_seconds=60)


def pickers(s: Session) -> Pickers:
    return _pickers.get(s, _build_pickers)


def _build_pickers(s: Session) -> Pickers:
    units = s.execute(
        select(HandlingUnit.code, HandlingUnit.name)
        .where(HandlingUnit.active.is_(True))
        .order_by(HandlingUnit.name)
    ).all()
    cats = s.scalars(select(Category).where(Category.active.is_(True))).all()
    by_code = {c.code: c for c in cats}

    def label(c: Category) -> str:
        names = [by_code[p].name for p in c.path.strip("/").split("/") if p in by_code]
        return " / ".join(names) or c.name

    return Pickers(
        [(c, n) for c, n in units],
        sorted(((c.code, label(c)) for c in cats), key=lambda x: x[0]),
    )


def step_names() -> dict[str, tuple[str, str]]:
    """Names of the history's steps: the action's own name, else the public milestone's."""
    names = {k: v for k, v in MILESTONES.items()}
    names.update({a: (f.zh, f.en) for a, f in FORMS.items()})
    names["received"] = ("受理", "received")
    names["exclusion"] = ("已提交不纳入考核申请", "asked to leave it out of scoring")
    names["exclusion_requested"] = ("申请不纳入考核", "asked to leave out of scoring")
    names["exclusion_approved"] = ("同意不纳入考核", "left out of scoring")
    names["exclusion_refused"] = ("不同意不纳入考核", "kept in scoring")
    names["overdue"] = ("超时", "overdue")
    names["evidence"] = ("添加照片或文件", "photo or file added")
    names["repeat_caller"] = ("重复来电（同一问题未解决）", "calls again, same problem unsolved")
    names["caller_flagged"] = ("标记为困难群体", "caller noted as vulnerable")
    names["caller_unflagged"] = ("取消困难群体标记", "vulnerable note removed")
    names["surge_attached"] = ("并入突发事件主工单", "attached to an event's master case")
    names["surge_caller"] = ("来电并入", "a caller attached")
    names["surge_declared"] = ("宣布突发事件，临时规则生效", "event declared, temporary rules on")
    names["surge_bulk_reply"] = ("统一答复", "one reply to every caller")
    names["surge_ended"] = ("事件结束，规则恢复常规", "event ended, usual rules back")
    return names


@router.get("/desk")
async def desk_home(actor: WebActor) -> Response:
    return RedirectResponse(HOME.get(actor.role, "/"), status_code=303)


def _filter(s: Session, actor: Actor, q: dict[str, str]) -> RequestFilter:
    f = RequestFilter(
        status=[v for v in q.get("status", "").split(",") if v] or None,
        q=q.get("q") or None,
        overdue=True if q.get("overdue") == "1" else None,
        late=q.get("overdue") if q.get("overdue") in ("response", "handling") else None,
    )
    if q.get("category_confirmed") == "0":
        f.category_confirmed = False
    if q.get("category"):
        f.category_path = find_category(s, q["category"]).path
    if q.get("area"):
        f.area_path = find_area(s, q["area"]).path
    if q.get("unit"):
        f.unit_id = find_unit(s, q["unit"]).id
    tz = city_context(s).tz
    for name in ("received_from", "received_to"):
        if q.get(name):
            # Local calendar days, as a person reads them; "to" includes its whole day.
            try:
                day = date.fromisoformat(q[name])
            except ValueError:
                raise BadInput(name, "must be a date like 2026-11-02") from None
            if not 1900 <= day.year <= 2200:
                raise BadInput(name, "year out of range (1900–2200)")
            start = datetime.combine(day, time(0), tzinfo=tz)
            if name == "received_from":
                f.received_from = start
            else:
                f.received_to = start + timedelta(days=1)
    if actor.role == "handler":
        f.unit_id = actor.unit_id  # a unit sees only its own requests, whatever is asked
    scope_filter(actor, f)
    return f


@router.get("/desk/requests", response_class=HTMLResponse)
async def request_list(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *VIEWERS)
    q = {k: v for k, v in request.query_params.items() if v}
    sort = q.get("sort", "newest")
    if sort not in SORTS:
        raise BadInput("sort", f"use one of {', '.join(SORTS)}")
    try:
        page = max(1, min(int(q.get("page", "1")), 100_000))
    except ValueError:
        raise BadInput("page", "must be a whole number") from None
    if len(q.get("q", "")) > 200:
        raise BadInput("q", "at most 200 characters")

    def work(s: Session) -> dict[str, Any]:
        tz = city_context(s).tz
        rows, total = list_requests(
            s, _filter(s, actor, q), page=page, page_size=PAGE_SIZE, sort=sort
        )
        return {"items": [summary(r, tz, actor.role) for r in rows], "total": total}

    data = await db.run_sync(work)
    pages = max(1, -(-data["total"] // PAGE_SIZE))
    return render(
        request,
        "staff/requests.html",
        **data,
        q=q,
        page=page,
        pages=pages,
        statuses=INTERNAL_STATUS,
        sorts=SORTS,
    )


async def _detail_page(
    request: Request,
    db: DB,
    actor: Actor,
    clock: ClockDep,
    ticket: str,
    *,
    errors: FormErrors | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = clock.now()

    def work(s: Session) -> tuple[RequestOut, Pickers, list[dict[str, Any]], dict[str, Any] | None]:
        ctx = city_context(s)
        req = get_by_ticket(s, ticket)
        can_view(actor, req)
        files = [file_view(f, "/desk/files") for f in visible_files(s, req, actor)]
        out = detail(s, req, ctx.tz, actor, now, purpose="web.request")
        return out, pickers(s), files, caller_view(s, req, actor.role)

    # A full view of the contact is a recorded read, committed with the page.
    out, picks, files, caller = await (
        write(db, work) if sees_contacts(actor) else db.run_sync(work)
    )
    return render(
        request,
        "staff/request.html",
        status_code=status_code,
        r=out,
        picks=picks,
        files=files,
        file_stages=[st for st in STAGES if actor.role in ADDERS[st]],
        accept=ACCEPT,
        caller=caller,
        forms=[FORMS[a] for a in out.allowed_actions if a in FORMS],
        errors=errors or FormErrors(),
        failed=failed,
        values=values or {},
        statuses=INTERNAL_STATUS,
        role_names=ROLE_NAMES,
        done=request.query_params.get("done", ""),
        step_names=step_names(),
        # What the citizen searched in self-service before asking (read after can_view above).
        self_service=await db.run_sync(lambda s: searched_before(s, ticket)),
    )


async def detail_page(
    request: Request,
    db: DB,
    actor: Actor,
    clock: ClockDep,
    ticket: str,
    *,
    error: JiesuError,
    failed: str,
) -> HTMLResponse:
    """The request page again, with a refusal shown beside the form that caused it."""
    errors = FormErrors()
    errors.from_error(error)
    return await _detail_page(
        request, db, actor, clock, ticket, errors=errors, failed=failed,
        status_code=error.status_code,
    )  # fmt: skip


@router.get("/desk/requests/{ticket}", response_class=HTMLResponse)
async def request_page(
    request: Request, ticket: str, db: DB, actor: WebActor, clock: ClockDep
) -> HTMLResponse:
    need(actor, *VIEWERS)
    return await _detail_page(request, db, actor, clock, ticket)


@router.post("/desk/requests/{ticket}/act/{action}", response_class=HTMLResponse)
async def act(
    request: Request, ticket: str, action: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    """One workflow action from its form; on a refusal the page comes back with the reason
    next to the field and everything typed kept."""
    need(actor, *VIEWERS)
    if action not in ACTION_PATH:
        raise NotFound(f"no action {action!r}")
    values = await form_dict(request)
    errors = FormErrors()
    try:
        params = body_of(action, values)
    except ValidationError as exc:
        errors.from_validation(exc)
        return await _detail_page(
            request,
            db,
            actor,
            clock,
            ticket,
            errors=errors,
            failed=action,
            values=values,
            status_code=422,
        )
    now = clock.now()
    storage, limits = app_storage(request), Limits.of(request.app.state.settings)

    def work(s: Session) -> None:
        ctx = city_context(s)
        req = get_by_ticket(s, ticket)
        if files:  # the reply's or call-back's photos, in the same transaction as the step
            ids = store_files(s, storage, limits, req, files, actor=actor, now=now, stage=action)
            params["files"] = ids
        apply_action(s, req, action, actor=actor, now=now, ctx=ctx, params=params)

    try:
        files = await form_files(request) if action in WITH_FILES else []
        await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 404):
            raise
        errors.from_error(exc)
        return await _detail_page(
            request,
            db,
            actor,
            clock,
            ticket,
            errors=errors,
            failed=action,
            values=values,
            status_code=exc.status_code,
        )
    back = values.get("next", "")
    target = back if back.startswith("/desk/") else f"/desk/requests/{ticket}"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done={action}", status_code=303)
