"""Routes under /api/v1/audit: the latest model audit, and producing one now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from jiesu.algoaudit.report import audits_dir, latest_report, run_audit, write_report
from jiesu.deps import DB, ClockDep, CurrentActor, require_role
from jiesu.errors import error_responses

router = APIRouter(prefix="/audit", tags=["audit"])
ROLES = ("supervisor", "analyst", "admin")
ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role may not see the model audit",
        404: "no model audit has been produced yet",
    }
)


@router.get("/models", responses=ERRORS)
async def latest(request: Request, actor: CurrentActor) -> dict[str, Any]:
    """The latest model audit written to the data dir (as published)."""
    require_role(actor, *ROLES)
    return latest_report(request.app.state.settings.data_dir)


@router.post(
    "/models",
    responses=error_responses({401: "not signed in", 403: "your role may not run the model audit"}),
)
async def produce(request: Request, db: DB, actor: CurrentActor, clock: ClockDep) -> dict[str, Any]:
    """Audit the active models now; the dated JSON and HTML are written to the data dir."""
    require_role(actor, *ROLES)
    now = clock.now()

    def work(s: Session) -> dict[str, Any]:
        return run_audit(s, now=now)

    report = await db.run_sync(work)
    write_report(report, audits_dir(request.app.state.settings.data_dir))
    return report
