"""The native REST API under /api/v1: each domain's router, included here."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from jiesu.algoaudit.endpoints import router as model_audit
from jiesu.analytics.endpoints import router as analytics
from jiesu.callers.endpoints import router as callers
from jiesu.city.endpoints import router as city
from jiesu.db.migrate import head_revision
from jiesu.deliberation.endpoints import router as consultations
from jiesu.deliberation.public import router as public_consultations
from jiesu.dispatch.endpoints import router as dispatch
from jiesu.equity.endpoints import router as equity
from jiesu.errors import error_responses
from jiesu.evidence.endpoints import router as evidence
from jiesu.intake.endpoints import router as intake
from jiesu.intake.public import router as public
from jiesu.kb.endpoints import router as knowledge
from jiesu.loop.endpoints import router as loop
from jiesu.nlp.endpoints import router as understanding
from jiesu.people.endpoints import router as people
from jiesu.rates.endpoints import router as rates
from jiesu.surge.endpoints import router as surge
from jiesu.workflow.endpoints import router as workflow

# What any route may answer before its own checks run.
api = APIRouter(
    prefix="/api/v1",
    responses=error_responses(
        {
            400: "the body could not be read (not UTF-8, or a broken form)",
            413: "the body is larger than the server accepts (JIESU_MAX_BODY_BYTES)",
            422: "a field or parameter is wrong; names it",
        }
    ),
)
for router in (
    people,
    intake,
    workflow,
    city,
    public,
    knowledge,
    understanding,
    rates,
    loop,
    dispatch,
    analytics,
    evidence,
    consultations,
    public_consultations,
    model_audit,
    equity,
    surge,
    callers,
):
    api.include_router(router)


@api.get("/health", tags=["meta"])
async def health() -> dict[str, str]:
    """The process answers (liveness)."""
    return {"status": "ok"}


@api.get(
    "/ready",
    tags=["meta"],
    responses={503: {"description": "the database cannot be reached or its schema is old"}},
)
async def ready(request: Request) -> JSONResponse:
    """The service can do its work (readiness): the database answers and its schema is the
    one this version expects. A load balancer sends no traffic to a process answering 503."""
    expected = head_revision()
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            found = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    except (OSError, SQLAlchemyError) as exc:
        reason = f"database unreachable: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    if found != expected:
        reason = f"database schema is {found}, this version needs {expected}: jiesu db upgrade"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "schema": found})
