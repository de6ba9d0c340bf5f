"""Workflow actions owned by dispatch: a district re-dispatching within its area (二级派单), a
unit contesting a dispatch and a supervisor deciding (派单争议), and the whistle (吹哨报到).

Each handler gets the workflow's ``Step`` and returns the event payload; ``apply_action``
checks the transition and writes the event, so these follow the same rules as every action.
Refusals that depend on the request's situation (not on the parameters) are ``Conflict``s.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import find_unit
from jiesu.dispatch.catalogue import CatalogueError
from jiesu.dispatch.directory import directory
from jiesu.dispatch.jurisdiction import FALLBACK_KIND, within
from jiesu.dispatch.models import Assignment, Dispute, Summons
from jiesu.dispatch.service import (
    active_catalogue,
    current_assignment,
    hand_over,
    save_catalogue,
)
from jiesu.errors import BadInput, Conflict
from jiesu.kit.timelimits import TimeLimit, due_at
from jiesu.people.service import SYSTEM_ACTOR
from jiesu.workflow.deadlines import start_clock
from jiesu.workflow.events import append_event
from jiesu.workflow.transitions import OPEN_STATUSES

if TYPE_CHECKING:
    from jiesu.workflow.service import Step

DEFAULT_SUMMONS_LIMIT = "24h"


# ---------------------------------------------------------------- two-level dispatch
def redispatch(s: Step) -> dict[str, Any]:
    req = s.request
    lead = req.lead_unit
    if lead is None or lead.kind != FALLBACK_KIND:
        raise Conflict(
            f"request {req.ticket} is with {lead.name if lead else 'no unit'}: only a district "
            "government re-dispatches (二级派单); use transfer to move it otherwise"
        )
    unit = find_unit(s.session, s.text("unit") or "")
    note = s.text("note", required=False)
    d = directory(s.session)
    district = next(iter(d.units[lead.code].areas), None) if lead.code in d.units else None
    if unit.kind == FALLBACK_KIND:
        raise BadInput("unit", "a district re-dispatches to a unit inside it, not to a district")
    if district is None or not within(d, unit.code, district):
        raise BadInput("unit", f"{unit.name} is not inside {lead.name}'s area")
    held = _chain(s.session, req.id)
    if unit.id in held:
        raise BadInput("unit", f"{unit.name} already had this request: re-dispatch may not loop")
    hand_over(s.session, req, unit, now=s.now, outcome="redispatched")
    # The city's clock keeps running: the district's time is the street's time.
    payload: dict[str, Any] = {"from_unit": lead.code, "unit": unit.code, "unit_name": unit.name}
    if note:
        payload["note"] = note
    return payload


def _chain(session: Session, request_id: int) -> set[int]:
    """Units that held the request since the city last dispatched it (the re-dispatch chain)."""
    rows = session.execute(
        select(Assignment.unit_id, Assignment.outcome)
        .where(Assignment.request_id == request_id)
        .order_by(Assignment.id.desc())
    ).all()
    chain: set[int] = set()
    for i, (unit_id, outcome) in enumerate(rows):
        if i > 0 and outcome != "redispatched":
            break
        chain.add(unit_id)
    return chain


# ---------------------------------------------------------------- disputes
def _open_dispute(s: Step) -> Dispute | None:
    return s.session.scalar(
        select(Dispute).where(Dispute.request_id == s.request.id, Dispute.status == "open")
    )


def contest(s: Step) -> dict[str, Any]:
    req = s.request
    reason = s.text("reason")
    proposed = s.text("proposed_unit", required=False)
    proposed_unit = find_unit(s.session, proposed, "proposed_unit") if proposed else None
    if proposed_unit is not None and proposed_unit.id == req.lead_unit_id:
        raise BadInput("proposed_unit", "propose another unit than the one that has it")
    if _open_dispute(s) is not None:
        raise Conflict(f"request {req.ticket} already has an open dispute; a supervisor decides it")
    assert req.lead_unit_id is not None and reason is not None
    current = current_assignment(s.session, req)
    dispute = Dispute(
        request_id=req.id,
        assignment_id=current.id if current else None,
        unit_id=req.lead_unit_id,
        reason=reason,
        proposed_unit=proposed_unit,
        opened_at=s.now,
        opened_by=s.actor.name,
    )
    s.session.add(dispute)
    s.session.flush()
    payload: dict[str, Any] = {"dispute": dispute.id, "unit": req.lead_unit.code, "reason": reason}  # type: ignore[union-attr]
    if proposed_unit is not None:
        payload["proposed_unit"] = proposed_unit.code
    return payload


def _need_dispute(s: Step) -> Dispute:
    dispute = _open_dispute(s)
    if dispute is None:
        raise Conflict(f"request {s.request.ticket} has no open dispute to decide")
    return dispute


def uphold_dispute(s: Step) -> dict[str, Any]:
    """The unit was right: the request moves (to the proposed unit unless another is named);
    with ``rule`` the catalogue gets that rule, so the same mistake is not made again."""
    req = s.request
    dispute = _need_dispute(s)
    note = s.text("note")
    named = s.text("unit", required=False)
    unit = find_unit(s.session, named) if named else dispute.proposed_unit
    if unit is None:
        raise BadInput("unit", "the dispute proposes no unit: name the unit that should have it")
    if unit.id == req.lead_unit_id:
        raise BadInput("unit", "upholding a dispute moves the request to another unit")
    version = _amend_catalogue(s, s.params.get("rule"), dispute)
    previous = req.lead_unit.code if req.lead_unit else None
    hand_over(s.session, req, unit, now=s.now, outcome="disputed")
    req.dispatched_at = s.now
    dispute.status, dispute.decided_at, dispute.decided_by = "upheld", s.now, s.actor.name
    dispute.decision_note, dispute.catalogue_version = note or "", version
    payload: dict[str, Any] = {
        "dispute": dispute.id,
        "decision": "upheld",
        "from_unit": previous,
        "unit": unit.code,
        "unit_name": unit.name,
        "note": note,
        **start_clock(req, s.ctx, s.now),
    }
    if version is not None:
        payload["catalogue_version"] = version
    return payload


def _amend_catalogue(s: Step, rule: Any, dispute: Dispute) -> int | None:
    if rule is None:
        return None
    if not isinstance(rule, dict) or not rule.get("id"):
        raise BadInput("rule", "give one catalogue rule as a mapping with id, match and lead")
    current = active_catalogue(s.session).to_data()
    rules = [r for r in current["rules"] if r.get("id") != rule["id"]] + [rule]
    try:
        row = save_catalogue(
            s.session,
            {"settings": current["settings"], "rules": rules},
            by=s.actor.name,
            source=f"dispute {dispute.id}",
            note=f"dispute on {s.request.ticket}",
            now=s.now,
        )
    except CatalogueError as exc:
        raise BadInput("rule", "; ".join(exc.problems)) from exc
    return row.version


def reject_dispute(s: Step) -> dict[str, Any]:
    dispute = _need_dispute(s)
    note = s.text("note")
    dispute.status, dispute.decided_at, dispute.decided_by = "rejected", s.now, s.actor.name
    dispute.decision_note = note or ""
    return {"dispute": dispute.id, "decision": "rejected", "note": note}


# ---------------------------------------------------------------- whistle (吹哨报到)
def whistle(s: Step) -> dict[str, Any]:
    req = s.request
    lead = req.lead_unit
    if s.actor.role == "handler" and (lead is None or lead.kind != "street_office"):
        raise Conflict("the whistle is the street office's: only a street office summons")
    reason = s.text("reason")
    names = s.params.get("units")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise BadInput("units", "name one or more units to summon (codes or names)")
    units = list(dict.fromkeys(find_unit(s.session, n, "units") for n in names))
    if any(u.id == req.lead_unit_id for u in units):
        raise BadInput("units", "the lead unit cannot summon itself")
    limit_text = s.text("limit", required=False) or DEFAULT_SUMMONS_LIMIT
    try:
        limit = TimeLimit.parse(limit_text)
    except ValueError as exc:
        raise BadInput("limit", str(exc)) from exc
    waiting = set(
        s.session.scalars(
            select(Summons.unit_id).where(
                Summons.request_id == req.id, Summons.status == "summoned"
            )
        )
    )
    again = [u.name for u in units if u.id in waiting]
    if again:
        raise BadInput("units", f"already summoned and not yet reported: {', '.join(again)}")
    due = due_at(s.now, limit, s.ctx.calendar, s.ctx.tz)
    for u in units:
        s.session.add(
            Summons(
                request_id=req.id,
                unit_id=u.id,
                summoned_by_unit_id=req.lead_unit_id,
                reason=reason or "",
                summoned_at=s.now,
                due_at=due,
            )
        )
        if u not in req.assisting_units:
            # Summoned units see the case and act on it like assisting units.
            req.assisting_units.append(u)
    return {
        "units": [u.code for u in units],
        "reason": reason,
        "limit": str(limit),
        "due": due.isoformat(),
    }


def report(s: Step) -> dict[str, Any]:
    """报到: a summoned unit says it has come and what it will do."""
    req = s.request
    text = s.text("text")
    unit_id = s.actor.unit_id
    if s.actor.role != "handler":
        named = s.text("unit")
        unit_id = find_unit(s.session, named or "").id
    summons = s.session.scalar(
        select(Summons).where(
            Summons.request_id == req.id, Summons.unit_id == unit_id, Summons.status == "summoned"
        )
    )
    if summons is None:
        raise Conflict(f"your unit has no open summons on request {req.ticket}")
    summons.status, summons.reported_at, summons.report = "reported", s.now, text or ""
    late = s.now > summons.due_at
    return {"unit": summons.unit.code, "text": text, "late": late, "summons": summons.id}


def mark_summons_overdue(session: Session, *, now: datetime) -> int:
    """Flag summoned units that did not report in time, once each, with an event on the case
    (each summoned unit is tracked on its own: the street office sees who has not come)."""
    late = session.scalars(
        select(Summons).where(
            Summons.status == "summoned", Summons.overdue.is_(False), Summons.due_at <= now
        )
    ).all()
    for summons in late:
        summons.overdue = True
        req = summons.request
        if req.status not in OPEN_STATUSES:
            continue
        append_event(
            session,
            req,
            kind="overdue",
            actor=SYSTEM_ACTOR,
            at=now,
            payload={
                "deadline": "summons",
                "unit": summons.unit.code,
                "due": summons.due_at.isoformat(),
            },
            from_status=req.status,
            to_status=req.status,
        )
    session.flush()
    return len(late)
