"""The native REST API under /api/v1: each domain's router, included here."""

from __future__ import annotations

from fastapi import APIRouter

from jiesu.analytics.endpoints import router as analytics
from jiesu.city.endpoints import router as city
from jiesu.dispatch.endpoints import router as dispatch
from jiesu.intake.endpoints import router as intake
from jiesu.intake.public import router as public
from jiesu.loop.endpoints import router as loop
from jiesu.nlp.endpoints import router as understanding
from jiesu.people.endpoints import router as people
from jiesu.rates.endpoints import router as rates
from jiesu.workflow.endpoints import router as workflow

api = APIRouter(prefix="/api/v1")
for router in (
    people,
    intake,
    workflow,
    city,
    public,
    understanding,
    rates,
    loop,
    dispatch,
    analytics,
):
    api.include_router(router)


@api.get("/health", tags=["meta"])
async def health() -> dict[str, str]:
    return {"status": "ok"}
