"""Routes over the classifiers intake uses: which versions exist, which one is active."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import HandlingUnit
from jiesu.city.service import city_context, find_area, find_category, find_unit
from jiesu.deps import DB, ClockDep, CurrentActor, write
from jiesu.errors import Forbidden, error_responses
from jiesu.nlp import registry
from jiesu.nlp.tables import ClassifierVersion
from jiesu.nlp.understand import scored_text, understand
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.present import understanding_out
from jiesu.workflow.schemas import CategorySuggestion, UnderstandingOut

router = APIRouter(tags=["understanding"])
VIEWERS = frozenset({"supervisor", "admin", "analyst"})
PREVIEWERS = frozenset({"operator", "dispatcher", "supervisor", "admin", "analyst"})
ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role may not do this",
        422: "a field or parameter is wrong; names it",
    }
)


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field("", max_length=200)
    text: str = Field(..., min_length=1, max_length=20_000)
    address: str = Field("", max_length=500)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    category: str | None = Field(None, description="a category already chosen (code or name)")
    area: str | None = Field(None, description="an area already chosen (code or name)")


class PreviewOut(BaseModel):
    category_suggestions: list[CategorySuggestion]
    category_to_apply: str | None = Field(
        description="the suggestion confident enough to be applied at submission"
    )
    area_to_apply: str | None
    understanding: UnderstandingOut


@router.post("/understanding/preview", response_model=PreviewOut, responses=ERRORS)
async def preview(body: PreviewIn, db: DB, actor: CurrentActor, clock: ClockDep) -> PreviewOut:
    """What intake would read in this text, without recording anything: the operator sees
    the suggestions, their confidence and why while still on the phone."""
    if actor.role not in PREVIEWERS:
        raise Forbidden("only staff may preview the understanding of a text")
    now = clock.now()

    def work(s: Session) -> PreviewOut:
        ctx = city_context(s)
        seen = understand(
            s,
            title=body.title,
            text=body.text,
            address=body.address,
            lat=body.lat,
            lon=body.lon,
            received_at=now,
            tz=ctx.tz,
            category=find_category(s, body.category) if body.category else None,
            area=find_area(s, body.area) if body.area else None,
        )
        payload = seen.as_payload()
        return PreviewOut(
            category_suggestions=[CategorySuggestion(**sg) for sg in payload["suggestions"]],
            category_to_apply=seen.category_to_apply.code if seen.category_to_apply else None,
            area_to_apply=seen.place_to_apply(),
            understanding=understanding_out(payload, scored_text(body.title, body.text)),
        )

    return await db.run_sync(work)


class ClassifierOut(BaseModel):
    version: str
    kind: str
    active: bool
    n: int = Field(description="training examples")
    labels: list[str]
    trained_at: datetime
    activated_at: datetime | None
    source: str
    data_sha256: str
    metrics: dict[str, Any]


def _out(r: ClassifierVersion) -> ClassifierOut:
    return ClassifierOut(
        version=r.version,
        kind=r.kind,
        active=r.active,
        n=r.n,
        labels=r.labels,
        trained_at=r.trained_at,
        activated_at=r.activated_at,
        source=r.source,
        data_sha256=r.data_sha256,
        metrics=r.metrics,
    )


class ReplyCheckOut(BaseModel):
    ticket: str
    unit: str | None
    at: datetime
    overall: int = Field(description="0–100")
    flagged: bool
    flags: list[str]
    closest: dict[str, Any] | None = Field(
        None, description="the earlier reply of the unit this one is closest to"
    )


# Reply events looked at per query: a month of one city's replies is tens of thousands.
REPLY_SCAN = 5000


@router.get("/understanding/replies", response_model=list[ReplyCheckOut], responses=ERRORS)
async def reply_checks(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    flagged: bool = True,
    unit: str | None = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReplyCheckOut]:
    """Replies of the last ``days`` with their quality score, newest first; by default only
    the flagged ones (generic, no action or time, copied, too short …) — the supervisor's
    queue. Unit handlers see their own unit's."""
    if actor.role not in (*VIEWERS, "handler"):
        raise Forbidden("only supervisors, analysts, admins and unit handlers may see this")
    since = clock.now() - timedelta(days=days)

    def work(s: Session) -> list[ReplyCheckOut]:
        unit_id = find_unit(s, unit).id if unit else None
        if actor.role == "handler":
            if unit_id is not None and unit_id != actor.unit_id:
                raise Forbidden("unit handlers see only their own unit's replies")
            unit_id = actor.unit_id
        stmt = (
            select(ServiceRequest.ticket, HandlingUnit.code, Event.at, Event.payload)
            .join(Event, Event.request_id == ServiceRequest.id)
            .outerjoin(HandlingUnit, HandlingUnit.id == ServiceRequest.lead_unit_id)
            .where(Event.kind == "reply", Event.at >= since)
            .order_by(Event.at.desc(), Event.id.desc())
            .limit(REPLY_SCAN)
        )
        if unit_id is not None:
            stmt = stmt.where(ServiceRequest.lead_unit_id == unit_id)
        out: list[ReplyCheckOut] = []
        for ticket, code, at, payload in s.execute(stmt):
            q = (payload or {}).get("quality")
            if not q or (flagged and not q.get("flagged")):
                continue
            out.append(
                ReplyCheckOut(
                    ticket=ticket,
                    unit=code,
                    at=at,
                    overall=q["overall"],
                    flagged=q["flagged"],
                    flags=q.get("flags", []),
                    closest=q.get("closest"),
                )
            )
            if len(out) >= limit:
                break
        return out

    return await db.run_sync(work)


@router.get("/understanding/models", response_model=list[ClassifierOut], responses=ERRORS)
async def list_models(db: DB, actor: CurrentActor, kind: str | None = None) -> list[ClassifierOut]:
    """Trained classifier versions, newest first (none: intake uses the keyword classifier)."""
    if actor.role not in VIEWERS:
        raise Forbidden("only supervisors, analysts and admins may see classifier versions")

    def work(s: Session) -> list[ClassifierOut]:
        return [_out(r) for r in registry.versions(s, kind)]

    return await db.run_sync(work)


@router.post(
    "/understanding/models/{version}/activate",
    response_model=ClassifierOut,
    responses={**ERRORS, **error_responses({404: "no such classifier version"})},
)
async def activate(version: str, db: DB, actor: CurrentActor, clock: ClockDep) -> ClassifierOut:
    """Make a version the one intake uses (admins; takes effect within 30 seconds everywhere)."""
    if actor.role != "admin":
        raise Forbidden("only admins may change the active classifier")
    now = clock.now()
    return await write(db, lambda s: _out(registry.activate_version(s, version, now=now)))
