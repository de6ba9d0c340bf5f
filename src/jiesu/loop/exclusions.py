"""Unreasonable requests (不合理诉求): a unit asks to leave a request out of its scoring, with
reason and evidence; a supervisor approves or refuses. Every step is an internal event in the
request's audit trail. An approved request stays visible everywhere and is counted apart in the
rates (``excluded``), never silently dropped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.errors import BadInput, Conflict, Forbidden, NotFound
from jiesu.loop.models import EXCLUSION_STATUSES, ScoringExclusion
from jiesu.people.service import Actor
from jiesu.workflow.events import append_event
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.transitions import REVIEWERS

MAX_TEXT = 10_000
MAX_EVIDENCE = 20
EVIDENCE_KEYS = ("note", "url")
CHUNK = 500


def _text(name: str, value: object, *, required: bool) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadInput(name, "is required")
        return ""
    if not isinstance(value, str):
        raise BadInput(name, "must be text")
    if len(value) > MAX_TEXT:
        raise BadInput(name, f"is {len(value)} characters long; the limit is {MAX_TEXT}")
    return value.strip()


def check_evidence(evidence: object) -> list[dict[str, str]]:
    if evidence is None:
        return []
    if not isinstance(evidence, list):
        raise BadInput("evidence", "must be a list of {note} or {url} items")
    if len(evidence) > MAX_EVIDENCE:
        raise BadInput("evidence", f"at most {MAX_EVIDENCE} items")
    out = []
    for i, item in enumerate(evidence):
        if not isinstance(item, dict) or not set(item) <= set(EVIDENCE_KEYS):
            raise BadInput(f"evidence[{i}]", "must be an object with note and/or url")
        clean = {k: _text(f"evidence[{i}].{k}", item.get(k), required=False) for k in item}
        clean = {k: v for k, v in clean.items() if v}
        if not clean:
            raise BadInput(f"evidence[{i}]", "needs a note or a url")
        if "url" in clean and not clean["url"].startswith(("http://", "https://")):
            raise BadInput(f"evidence[{i}].url", "must be an http(s) address")
        out.append(clean)
    return out


def request_exclusion(
    session: Session,
    request: ServiceRequest,
    *,
    reason: object,
    evidence: object = None,
    actor: Actor,
    now: datetime,
) -> ScoringExclusion:
    """The lead unit's handler asks; supervisors and admins may file for a unit too."""
    if actor.role == "handler":
        if actor.unit_id is None or actor.unit_id != request.lead_unit_id:
            raise Forbidden(f"only the lead unit's handlers may ask to exclude {request.ticket}")
    elif actor.role not in REVIEWERS:
        raise Forbidden(f"role {actor.role} may not ask for an exclusion")
    text = _text("reason", reason, required=True)
    items = check_evidence(evidence)
    if request.status in ("merged", "invalid"):
        raise Conflict(f"request {request.ticket} is {request.status}; it is not scored anyway")
    if request.lead_unit_id is None:
        raise Conflict(f"request {request.ticket} has no lead unit to exclude it for")
    open_one = session.scalar(
        select(ScoringExclusion).where(
            ScoringExclusion.request_id == request.id,
            ScoringExclusion.status.in_(("pending", "approved")),
        )
    )
    if open_one is not None:
        raise Conflict(
            f"request {request.ticket} already has a {open_one.status} exclusion (#{open_one.id})"
        )
    exclusion = ScoringExclusion(
        request_id=request.id,
        status="pending",
        reason=text,
        evidence=items,
        requested_by=actor.name,
        unit_id=request.lead_unit_id,
        requested_at=now,
        decision_note="",
    )
    session.add(exclusion)
    session.flush()
    # Evidence stays in the exclusion record (it may name people); the permanent log keeps
    # the reason and how much evidence there was.
    _event(
        session,
        request,
        "exclusion_requested",
        actor,
        now,
        exclusion,
        reason=text,
        evidence=len(items),
        unit=request.lead_unit.code if request.lead_unit else None,
    )
    return exclusion


def decide_exclusion(
    session: Session,
    exclusion: ScoringExclusion,
    *,
    approve: bool,
    note: object,
    actor: Actor,
    now: datetime,
) -> ScoringExclusion:
    if actor.role not in REVIEWERS:
        raise Forbidden(f"role {actor.role} may not decide exclusions; supervisors decide")
    text = _text("note", note, required=True)
    if exclusion.status != "pending":
        raise Conflict(f"exclusion #{exclusion.id} was already {exclusion.status}")
    exclusion.status = "approved" if approve else "refused"
    exclusion.decided_by, exclusion.decided_at, exclusion.decision_note = actor.name, now, text
    _event(
        session,
        exclusion.request,
        f"exclusion_{exclusion.status}",
        actor,
        now,
        exclusion,
        note=text,
    )
    session.flush()
    return exclusion


def _event(
    session: Session,
    request: ServiceRequest,
    kind: str,
    actor: Actor,
    now: datetime,
    exclusion: ScoringExclusion,
    **payload: Any,
) -> None:
    append_event(
        session,
        request,
        kind=kind,
        actor=actor,
        at=now,
        payload={"exclusion": exclusion.id, **payload},
        from_status=request.status,
        to_status=request.status,
    )


def get_exclusion(session: Session, exclusion_id: int) -> ScoringExclusion:
    found = session.get(ScoringExclusion, exclusion_id)
    if found is None:
        raise NotFound(
            f"no exclusion {exclusion_id}", fields=[{"field": "id", "problem": "not found"}]
        )
    return found


def list_exclusions(
    session: Session, *, status: str | None = None, unit_id: int | None = None
) -> list[ScoringExclusion]:
    if status is not None and status not in EXCLUSION_STATUSES:
        raise BadInput("status", f"must be one of {', '.join(EXCLUSION_STATUSES)}")
    stmt = select(ScoringExclusion).order_by(ScoringExclusion.requested_at, ScoringExclusion.id)
    if status is not None:
        stmt = stmt.where(ScoringExclusion.status == status)
    if unit_id is not None:
        stmt = stmt.where(ScoringExclusion.unit_id == unit_id)
    return list(session.scalars(stmt))


def excluded_requests(session: Session, ids: Sequence[int]) -> Mapping[int, str]:
    """Request id → reason, for approved exclusions (``ScoringHooks.excluded``)."""
    out: dict[int, str] = {}
    approved = select(ScoringExclusion.id).where(ScoringExclusion.status == "approved")
    if not ids or not session.scalar(approved.exists().select()):
        return out  # the usual case: spare a year's population its batched look-ups
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(ScoringExclusion.request_id, ScoringExclusion.reason).where(
                ScoringExclusion.status == "approved",
                ScoringExclusion.request_id.in_(list(ids[i : i + CHUNK])),
            )
        )
        out.update({rid: reason for rid, reason in rows})
    return out
