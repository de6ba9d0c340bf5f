"""Routes over the classifiers intake uses: which versions exist, which one is active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, CurrentActor, write
from jiesu.errors import Forbidden
from jiesu.nlp import registry
from jiesu.nlp.tables import ClassifierVersion

router = APIRouter(tags=["understanding"])
VIEWERS = frozenset({"supervisor", "admin", "analyst"})


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


@router.get("/understanding/models", response_model=list[ClassifierOut])
async def list_models(db: DB, actor: CurrentActor, kind: str | None = None) -> list[ClassifierOut]:
    """Trained classifier versions, newest first (none: intake uses the keyword classifier)."""
    if actor.role not in VIEWERS:
        raise Forbidden("only supervisors, analysts and admins may see classifier versions")

    def work(s: Session) -> list[ClassifierOut]:
        return [_out(r) for r in registry.versions(s, kind)]

    return await db.run_sync(work)


@router.post("/understanding/models/{version}/activate", response_model=ClassifierOut)
async def activate(version: str, db: DB, actor: CurrentActor, clock: ClockDep) -> ClassifierOut:
    """Make a version the one intake uses (admins; takes effect within 30 seconds everywhere)."""
    if actor.role != "admin":
        raise Forbidden("only admins may change the active classifier")
    now = clock.now()
    return await write(db, lambda s: _out(registry.activate_version(s, version, now=now)))
