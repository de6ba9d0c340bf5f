"""Routes for requests: read one with its timeline, list with filters, one route per action."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy.orm import Session

from jiesu.city.service import city_context, find_area, find_category, find_unit
from jiesu.deps import DB, ClockDep, CurrentActor, write
from jiesu.errors import BadInput, Forbidden, error_responses
from jiesu.people.service import Actor
from jiesu.privacy.reads import sees_contacts
from jiesu.workflow.access import STAFF_VIEWERS, can_view, scope_filter
from jiesu.workflow.present import detail, summary
from jiesu.workflow.repository import RequestFilter, list_requests
from jiesu.workflow.schemas import ACTION_ROUTES, Page, RequestOut
from jiesu.workflow.service import apply_action, get_by_ticket

router = APIRouter(tags=["requests"])

ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role or unit may not do this",
        404: "no such ticket",
        409: "not allowed in the current status; lists the allowed actions",
        422: "a field is missing or wrong; names the field",
    }
)


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@router.get("/requests/{ticket}", response_model=RequestOut, responses=ERRORS)
async def get_request(ticket: str, db: DB, actor: CurrentActor, clock: ClockDep) -> RequestOut:
    """One request with its full timeline and the actions you may take now."""
    now = clock.now()

    def work(s: Session) -> RequestOut:
        ctx = city_context(s)
        req = get_by_ticket(s, ticket)
        can_view(actor, req)
        return detail(s, req, ctx.tz, actor, now, purpose="api.request")

    if sees_contacts(actor):
        return await write(db, work)  # the full contact's read is recorded and committed
    return await db.run_sync(work)


@router.get("/requests", response_model=Page, responses=ERRORS)
async def list_all(
    db: DB,
    actor: CurrentActor,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    category: Annotated[
        str | None, Query(description="category code; includes sub-categories")
    ] = None,
    area: Annotated[str | None, Query(description="area code; includes sub-areas")] = None,
    unit: Annotated[str | None, Query(description="unit code (lead or assisting)")] = None,
    channel: Annotated[str | None, Query(description="comma-separated channels")] = None,
    urgency: Annotated[str | None, Query(description="comma-separated urgency classes")] = None,
    overdue: bool | None = None,
    received_from: AwareDatetime | None = None,
    received_to: AwareDatetime | None = None,
    q: Annotated[str | None, Query(max_length=200, description="words in title or text")] = None,
    category_confirmed: Annotated[
        bool | None,
        Query(description="false: the human-check queue (category not yet confirmed)"),
    ] = None,
    min_heat: Annotated[
        int | None, Query(ge=1, description="at least this many callers behind the issue")
    ] = None,
    sort: Annotated[
        Literal["newest", "urgency", "heat"],
        Query(description="newest first, most urgent first, or most callers first"),
    ] = "newest",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Page:
    """Requests, newest first. Unit handlers see only their own unit's requests."""
    if actor.role not in (*STAFF_VIEWERS, "handler"):
        raise Forbidden("your role may not list requests")

    for name, value in (("received_from", received_from), ("received_to", received_to)):
        # Years outside this range are typing mistakes, and year 1 with an offset cannot even
        # be turned into UTC by the database.
        if value is not None and not 1900 <= value.year <= 2200:
            raise BadInput(name, f"year {value.year} is out of range (1900–2200)")

    def work(s: Session) -> Page:
        ctx = city_context(s)
        f = RequestFilter(
            status=_csv(status),
            channel=_csv(channel),
            urgency=_csv(urgency),
            overdue=overdue,
            received_from=received_from,
            received_to=received_to,
            q=q,
            category_confirmed=category_confirmed,
            min_heat=min_heat,
        )
        if category:
            f.category_path = find_category(s, category).path
        if area:
            f.area_path = find_area(s, area).path
        if unit:
            f.unit_id = find_unit(s, unit).id
        scope_filter(actor, f)
        rows, total = list_requests(s, f, page=page, page_size=page_size, sort=sort)
        return Page(
            items=[summary(r, ctx.tz, actor.role) for r in rows],
            page=page,
            page_size=page_size,
            total=total,
        )

    return await db.run_sync(work)


def _action_route(action: str, schema: type[BaseModel] | None) -> Any:
    async def run(
        ticket: str, db: DB, actor: Actor, clock: ClockDep, params: dict[str, Any]
    ) -> RequestOut:
        now: datetime = clock.now()

        def work(s: Session) -> RequestOut:
            ctx = city_context(s)
            req = get_by_ticket(s, ticket)
            apply_action(s, req, action, actor=actor, now=now, ctx=ctx, params=params)
            return detail(s, req, ctx.tz, actor, now, purpose="api.action")

        return await write(db, work)

    if schema is None:

        async def bare(ticket: str, db: DB, actor: CurrentActor, clock: ClockDep) -> RequestOut:
            return await run(ticket, db, actor, clock, {})

        return bare

    async def with_body(
        ticket: str, db: DB, actor: CurrentActor, clock: ClockDep, body: Any = Body()
    ) -> RequestOut:
        return await run(ticket, db, actor, clock, body.model_dump(exclude_none=True))

    # The real body type, so that validation and the OpenAPI document are exact.
    with_body.__annotations__["body"] = schema
    return with_body


for _path, (_action, _schema) in ACTION_ROUTES.items():
    router.add_api_route(
        f"/requests/{{ticket}}/{_path}",
        _action_route(_action, _schema),
        methods=["POST"],
        response_model=RequestOut,
        responses=ERRORS,
        name=f"request_{_action}",
        summary=f"{_action.replace('_', ' ')}",
    )
