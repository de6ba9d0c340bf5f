"""The public door: citizens submit without an account and follow their ticket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import error_responses
from jiesu.intake.schemas import MAX_TEXT, ContactIn, RequestIn
from jiesu.intake.service import submit_request
from jiesu.people.service import Actor
from jiesu.workflow.public import PublicRequest, public_view
from jiesu.workflow.service import get_by_ticket

router = APIRouter(prefix="/public", tags=["public"])
WEB_ACTOR = Actor(None, "public-web", "citizen")


class SelfServiceContext(BaseModel):
    """What the citizen searched in self-service before asking: kept with the request, so
    the operator sees what was already read and did not help."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    query: str = Field(..., min_length=1, max_length=500)
    articles_seen: list[int] = Field(default_factory=list, max_length=20)
    not_helpful: list[int] = Field(default_factory=list, max_length=20)


class PublicSubmission(BaseModel):
    """What the public form asks: the problem, where, and (optionally) how to reach you."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(..., min_length=1, max_length=MAX_TEXT)
    address: str = Field("", max_length=500)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    area: str | None = None
    category: str | None = None
    contact: ContactIn | None = None
    self_service: SelfServiceContext | None = Field(
        None, description="the self-service search that did not answer the question"
    )

    def request_in(self, source_key: str | None) -> RequestIn:
        data = self.model_dump(exclude_none=True, exclude={"self_service"})
        if self.self_service is not None:
            data["attributes"] = {"self_service": self.self_service.model_dump()}
        return RequestIn(channel="web", **data, source_key=source_key)


@router.post(
    "/requests",
    status_code=201,
    response_model=PublicRequest,
    responses={
        200: {"model": PublicRequest, "description": "seen before (same key): the first request"},
        **error_responses({422: "a field is missing or wrong; names the field"}),
    },
)
async def submit(
    body: PublicSubmission,
    db: DB,
    clock: ClockDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> PublicRequest:
    """Submit a request without an account; keep the ticket to follow it."""
    now = clock.now()
    data = body.request_in(f"web:{idempotency_key}" if idempotency_key else None)

    def work(s: Session) -> tuple[PublicRequest, bool]:
        ctx = city_context(s)
        req, created = submit_request(s, data, actor=WEB_ACTOR, now=now, ctx=ctx)
        return public_view(s, req, ctx.tz), created

    out, created = await write(db, work)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/public/requests/{out.ticket}"
    return out


@router.get(
    "/requests/{ticket}",
    response_model=PublicRequest,
    responses=error_responses({404: "no such ticket"}),
)
async def track(ticket: str, db: DB) -> PublicRequest:
    """Follow a request by its ticket: milestones and the unit's answer, nothing personal."""

    def work(s: Session) -> PublicRequest:
        return public_view(s, get_by_ticket(s, ticket), city_context(s).tz)

    return await db.run_sync(work)
