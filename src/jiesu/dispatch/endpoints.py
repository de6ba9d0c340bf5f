"""Routes of dispatch: the catalogue (read by staff, changed by admins), the decision for a
request, a preview for a text, and return/dispute rates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from jiesu.city.service import city_context, find_area, find_category
from jiesu.deps import DB, ClockDep, CurrentActor, require_role, write
from jiesu.dispatch.catalogue import push_down_warnings
from jiesu.dispatch.directory import directory
from jiesu.dispatch.engine import Case, decide
from jiesu.dispatch.learning import router_for
from jiesu.dispatch.models import DispatchCatalogue
from jiesu.dispatch.schemas import (
    CatalogueIn,
    CatalogueOut,
    DecisionOut,
    DispatchInfo,
    PreviewIn,
)
from jiesu.dispatch.service import (
    activate_version,
    active_catalogue,
    assignment_history,
    decide_for,
    dispatch_queue,
    get_version,
    versions,
)
from jiesu.dispatch.service import save_catalogue as save
from jiesu.dispatch.stats import dispatch_stats
from jiesu.errors import BadInput, NotFound, error_responses
from jiesu.workflow.access import can_view
from jiesu.workflow.models import CHANNELS
from jiesu.workflow.service import get_by_ticket
from jiesu.workflow.transitions import DISPATCH_DESK, STAFF

router = APIRouter(tags=["dispatch"])

ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role may not do this",
        404: "no such catalogue version or ticket",
        422: "a field or rule is wrong; every problem is named",
    }
)
READERS = tuple(sorted(STAFF | {"analyst"}))
Version = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _out(row: DispatchCatalogue, warnings: list[str] | None = None) -> CatalogueOut:
    return CatalogueOut(
        warnings=warnings or [],
        version=row.version,
        active=row.active,
        created_at=row.created_at,
        created_by=row.created_by,
        source=row.source,
        note=row.note,
        settings=dict(row.settings),
        rules=list(row.rules),
    )


@router.get("/dispatch/catalogue", response_model=CatalogueOut, responses=ERRORS)
async def get_catalogue(
    db: DB, actor: CurrentActor, version: int | None = Query(None, ge=1, le=2_147_483_647)
) -> CatalogueOut:
    """The dispatch catalogue (派单目录) in force, or one version of it."""
    require_role(actor, *READERS)

    def work(s: Session) -> CatalogueOut:
        row = get_version(s, version)
        if row is None:
            raise NotFound("no such catalogue version" if version else "no catalogue loaded yet")
        return _out(row)

    return await db.run_sync(work)


@router.get("/dispatch/catalogue/versions", response_model=list[CatalogueOut], responses=ERRORS)
async def list_versions(db: DB, actor: CurrentActor) -> list[CatalogueOut]:
    require_role(actor, *READERS)
    return await db.run_sync(lambda s: [_out(r) for r in versions(s)])


@router.put("/dispatch/catalogue", response_model=CatalogueOut, responses=ERRORS)
async def put_catalogue(
    body: CatalogueIn, db: DB, actor: CurrentActor, clock: ClockDep
) -> CatalogueOut:
    """Replace the catalogue: checked whole against the city (unknown units, categories or
    areas, overlapping rules are refused, each named), stored as a new active version."""
    require_role(actor, "admin")
    now = clock.now()
    raw = {"settings": body.settings, "rules": body.rules}

    def work(s: Session) -> CatalogueOut:
        row = save(s, raw, by=actor.name, source="api", note=body.note, now=now)
        return _out(row, push_down_warnings(active_catalogue(s), directory(s)))

    return await write(db, work)


@router.post(
    "/dispatch/catalogue/versions/{version}/activate",
    response_model=CatalogueOut,
    responses=ERRORS,
)
async def activate(version: Version, db: DB, actor: CurrentActor) -> CatalogueOut:
    """Put another version in force (e.g. roll back a change)."""
    require_role(actor, "admin")
    return await write(db, lambda s: _out(activate_version(s, version)))


@router.get("/requests/{ticket}/dispatch", responses=ERRORS)
async def request_dispatch(ticket: str, db: DB, actor: CurrentActor) -> dict[str, Any]:
    """What the catalogue decides for the request now (units that returned it left out), and
    every unit that held it: chosen how, accepted when, left how."""
    require_role(actor, *READERS)

    def work(s: Session) -> dict[str, Any]:
        req = get_by_ticket(s, ticket)
        can_view(actor, req)  # another unit's request is not for its handlers to read
        tz = city_context(s).tz
        return {
            "ticket": req.ticket,
            "status": req.status,
            "decision": DecisionOut.of(decide_for(s, req, tz)).model_dump(),
            "history": [
                {
                    **DispatchInfo.of(a, tz).model_dump(),
                    "outcome": a.outcome,
                    "ended_at": a.ended_at,
                }
                for a in assignment_history(s, req)
            ],
        }

    return await db.run_sync(work)


@router.get("/dispatch/queue", responses=ERRORS)
async def queue(
    db: DB,
    actor: CurrentActor,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> list[dict[str, Any]]:
    """The dispatcher's queue: requests received or returned and not yet dispatched, the most
    urgent first, each with the catalogue's decision and suggestions (units that returned it
    left out)."""
    require_role(actor, *sorted(DISPATCH_DESK))

    def work(s: Session) -> list[dict[str, Any]]:
        tz = city_context(s).tz
        return [
            {
                "ticket": r.ticket,
                "status": r.status,
                "title": r.title,
                "category": r.category.code if r.category else None,
                "category_confirmed": r.category_confirmed,
                "area": r.area.code if r.area else None,
                "urgency": r.urgency,
                "urgency_score": r.urgency_score,
                "received_at": r.received_at,
                "return_count": r.return_count,
                "decision": DecisionOut.of(d).model_dump(),
            }
            for r, d in dispatch_queue(s, tz, limit=limit, offset=offset)
        ]

    return await db.run_sync(work)


@router.post("/dispatch/preview", response_model=DecisionOut, responses=ERRORS)
async def preview(body: PreviewIn, db: DB, actor: CurrentActor, clock: ClockDep) -> DecisionOut:
    """What the catalogue would do with a request like this one (nothing is stored)."""
    require_role(actor, *sorted(DISPATCH_DESK | {"analyst"}))
    if body.channel not in CHANNELS:
        raise BadInput("channel", f"must be one of {', '.join(CHANNELS)}")
    at: datetime = body.received_at or clock.now()

    def work(s: Session) -> DecisionOut:
        ctx = city_context(s)
        category = find_category(s, body.category).code if body.category else None
        area = find_area(s, body.area).code if body.area else None
        local = at.astimezone(ctx.tz)
        case = Case(
            body.text, category, area, body.urgency, body.channel, local.hour * 60 + local.minute
        )
        d = directory(s)
        return DecisionOut.of(decide(active_catalogue(s), d, case, router=router_for(s, d)))

    return await db.run_sync(work)


@router.get("/dispatch/stats", responses=ERRORS)
async def stats(
    db: DB,
    actor: CurrentActor,
    since: datetime | None = Query(None, description="dispatches from (ISO time)"),
    until: datetime | None = Query(None, description="dispatches before (ISO time)"),
) -> dict[str, Any]:
    """Return and dispute rates per rule, per unit and per way of choosing (rule, model…)."""
    require_role(actor, "supervisor", "admin", "analyst")
    return await db.run_sync(lambda s: dispatch_stats(s, since=since, until=until))
