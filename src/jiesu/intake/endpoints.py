"""POST /requests: the native API door into submit_request()."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, CurrentActor, write
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.workflow.endpoints import ERRORS
from jiesu.workflow.present import detail
from jiesu.workflow.schemas import RequestOut

router = APIRouter(tags=["requests"])


@router.post(
    "/requests",
    status_code=201,
    response_model=RequestOut,
    responses={
        200: {"model": RequestOut, "description": "seen before (same key): the first request"},
        **ERRORS,
    },
)
async def create_request(
    body: RequestIn,
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> RequestOut:
    """Record a new request (operators: channel `phone`). A repeated `source_key` or
    `Idempotency-Key` header returns the first request with 200 instead of making another."""
    now = clock.now()
    if idempotency_key and not body.source_key:
        # Keys are per account: two clients choosing the same key never collide.
        body = body.model_copy(update={"source_key": f"api:{actor.name}:{idempotency_key}"})

    def work(s: Session) -> tuple[RequestOut, bool]:
        ctx = city_context(s)
        req, created = submit_request(s, body, actor=actor, now=now, ctx=ctx)
        # A new request echoes the contact just sent: nothing stored is revealed by it.
        purpose = None if created else "api.intake_repeat"
        return detail(s, req, ctx.tz, actor, now, purpose=purpose), created

    out, created = await write(db, work)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/requests/{out.ticket}"
    return out
