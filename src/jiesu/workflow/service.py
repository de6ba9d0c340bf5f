"""Apply workflow actions: check the transition, change the request, write the event.

``apply_action`` is the one function that changes a request's status. State, event and
deadlines change in the caller's transaction, so either all of them land or none does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import URGENCY_CLASSES, Category
from jiesu.city.service import CityContext, find_category, find_unit
from jiesu.dispatch import actions as dispatch_actions
from jiesu.dispatch.service import (
    check_return_window,
    decide_for,
    dispatch_record,
    end_assignment,
    hand_over,
    mark_accepted,
    start_assignment,
)
from jiesu.errors import BadInput, Forbidden, IllegalAction, NotFound
from jiesu.evidence.service import take_for_action
from jiesu.logs import get_logger
from jiesu.loop.callbacks import cancel_open_tasks, complete_task, ensure_callback_task
from jiesu.loop.policy import RESOLUTIONS
from jiesu.nlp.reply_check import check_reply
from jiesu.notify.triggers import on_event as notify_event
from jiesu.people.service import SYSTEM_ACTOR, Actor
from jiesu.workflow.access import in_area
from jiesu.workflow.deadlines import start_clock
from jiesu.workflow.events import append_event
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.transitions import REVIEWERS, TRANSITIONS, allowed_actions, target_status

log = get_logger(__name__)

SATISFACTION = ("satisfied", "basically", "unsatisfied")
ANSWER_CHANNELS = ("phone", "link", "sms", "visit")
MAX_NOTE = 10_000


@dataclass
class Step:
    """What one action handler sees."""

    session: Session
    request: ServiceRequest
    params: dict[str, Any]
    actor: Actor
    now: datetime
    ctx: CityContext

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.params.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise BadInput(name, "is required for this action")
            return None
        if not isinstance(value, str):
            raise BadInput(name, "must be text")
        if len(value) > MAX_NOTE:
            raise BadInput(name, f"is {len(value)} characters long; the limit is {MAX_NOTE}")
        return value.strip()


def _dispatch(s: Step) -> dict[str, Any]:
    # Check every parameter before changing anything: a refused action leaves the request as it was.
    req = s.request
    category = req.category
    if s.params.get("category"):
        category = find_category(s.session, s.params["category"])
    if category is None:
        raise BadInput("category", "set a category before dispatching")
    urgency = s.params.get("urgency") or req.urgency
    if urgency not in URGENCY_CLASSES:
        raise BadInput("urgency", f"must be one of {', '.join(URGENCY_CLASSES)}")
    # What the catalogue (or the learned router) says, for the category and urgency as they
    # will be after this action; the person may follow it or overrule it.
    decision = decide_for(
        s.session, req, s.ctx.tz, category=category.code, urgency=urgency, now=s.now
    )
    unit_code = s.text("unit", required=False)
    if unit_code is None:
        if decision.unit is None:
            hints = ", ".join(f"{g.name} ({g.unit})" for g in decision.suggestions)
            raise BadInput(
                "unit",
                "no catalogue rule or confident model decides this request; choose a unit"
                + (f" (suggestions: {hints})" if hints else ""),
            )
        unit_code = decision.unit
    unit = find_unit(s.session, unit_code)
    follows = unit.code == decision.unit
    named = s.params.get("assisting_units")
    # A unit named twice (by code and by name, or a double click) assists once.
    assisting = list(
        dict.fromkeys(
            find_unit(s.session, c, "assisting_units")
            for c in (named if named is not None else decision.assisting if follows else [])
        )
    )
    if unit in assisting:
        if named is not None:
            raise BadInput("assisting_units", "the lead unit cannot also assist")
        assisting.remove(unit)
    note = s.text("note", required=False)
    # Dispatching on a suggested category is the dispatcher's confirmation of it; the engine
    # dispatching at intake confirms nothing.
    payload = _set_category(req, category, confirm=s.actor.user_id is not None)
    req.urgency = urgency
    req.lead_unit, req.assisting_units, req.dispatched_at = unit, assisting, s.now
    source = (decision.source or "manual") if follows else "manual"
    routed_by = s.params.get("routed_by")
    if routed_by is not None:
        # A machine's own routing (a sensor's unit, its grid's street office) says how it chose.
        if s.actor.user_id is not None or not isinstance(routed_by, str):
            raise BadInput("routed_by", "only the system's own routing may say how it chose")
        source = "sensor"
    overrides = (decision.response_limit, decision.handling_limit) if follows else (None, None)
    start_assignment(
        s.session,
        req,
        unit_id=unit.id,
        now=s.now,
        source=source,
        assisting=[u.code for u in assisting],
        decision=decision,
        reasons=[routed_by] if routed_by else None,
    )
    payload.update(
        unit=unit.code,
        unit_name=unit.name,
        assisting_units=[u.code for u in assisting],
        urgency=req.urgency,
        **dispatch_record(decision, source, routed_by),
        **start_clock(req, s.ctx, s.now, overrides=overrides),
    )
    if note:
        payload["note"] = note
    return payload


def _accept(s: Step) -> dict[str, Any]:
    s.request.accepted_at = s.now
    mark_accepted(s.session, s.request, s.now)
    late = s.request.response_due is not None and s.now > s.request.response_due
    s.request.response_overdue = s.request.response_overdue or late
    return {"unit": _unit_code(s.request), "late": late}


def _return(s: Step) -> dict[str, Any]:
    req = s.request
    payload = {"unit": _unit_code(req), "reason": s.text("reason")}
    check_return_window(s.session, req, s.ctx, s.now)
    end_assignment(s.session, req, "returned", s.now)
    req.return_count += 1
    req.lead_unit, req.assisting_units, req.accepted_at = None, [], None
    return payload


def _transfer(s: Step) -> dict[str, Any]:
    req = s.request
    reason = s.text("reason")
    unit_code = s.text("unit")
    assert unit_code is not None
    unit = find_unit(s.session, unit_code)
    if unit.id == req.lead_unit_id:
        raise BadInput("unit", "the request is already with this unit")
    previous = _unit_code(req)
    hand_over(s.session, req, unit, now=s.now, outcome="transferred")
    req.dispatched_at = s.now
    return {
        "from_unit": previous,
        "unit": unit.code,
        "unit_name": unit.name,
        "reason": reason,
        **start_clock(req, s.ctx, s.now),
    }


def _reply(s: Step) -> dict[str, Any]:
    req = s.request
    text = s.text("text")
    req.replied_at = s.now
    late = req.handling_due is not None and s.now > req.handling_due
    req.handling_overdue = req.handling_overdue or late
    assert text is not None
    # The call-back is owed from the moment the unit answers (回访 follows every 答复).
    ensure_callback_task(s.session, req, s.now, "replied")
    # A reply sent to every caller of an event's master case says so (surge/service.py) and
    # carries the quality record its text got once: checked against each sibling, the same
    # text would read as copy-paste. The API's reply body can carry neither key.
    via, quality = s.params.get("via"), s.params.get("quality")
    bulk = isinstance(via, dict) and isinstance(quality, dict)
    payload: dict[str, Any] = {
        "unit": _unit_code(req),
        "text": text,
        "late": late,
        "quality": quality if bulk else check_reply(s.session, req, text),
    }
    if files := take_for_action(s.session, req, s.params.get("files"), "reply"):
        payload["files"] = files
    if bulk:
        payload["via"] = via
    return payload


def _resolution(s: Step) -> str:
    """The caller's graded answer; ``solved`` (yes/no) is still accepted and must agree."""
    resolution, solved = s.params.get("resolution"), s.params.get("solved")
    if solved is not None and not isinstance(solved, bool):
        raise BadInput(
            "solved", "must be true or false: did the citizen say the problem was solved?"
        )
    if resolution is None:
        if solved is None:
            raise BadInput("resolution", f"is required: one of {', '.join(RESOLUTIONS)}")
        return "solved" if solved else "unsolved"
    if resolution not in RESOLUTIONS:
        raise BadInput("resolution", f"must be one of {', '.join(RESOLUTIONS)}")
    if solved is not None and solved != (resolution == "solved"):
        raise BadInput("solved", f"contradicts resolution {resolution!r}")
    return str(resolution)


def _call_back(s: Step) -> dict[str, Any]:
    resolution = _resolution(s)
    satisfaction = s.params.get("satisfaction")
    if satisfaction not in SATISFACTION:
        raise BadInput("satisfaction", f"must be one of {', '.join(SATISFACTION)}")
    channel = s.params.get("channel") or "phone"
    if channel not in ANSWER_CHANNELS:
        raise BadInput("channel", f"must be one of {', '.join(ANSWER_CHANNELS)}")
    note = s.text("note", required=False)
    # One answer per cycle: the task refuses a second one before anything is counted.
    task = complete_task(s.session, s.request, s.now, channel)
    s.request.resolution, s.request.satisfaction = resolution, satisfaction
    s.request.solved = resolution == "solved"
    payload: dict[str, Any] = {
        "solved": s.request.solved,
        "resolution": resolution,
        "satisfaction": satisfaction,
        "channel": channel,
        "task": task.id,
    }
    if note:
        payload["note"] = note
    if files := take_for_action(s.session, s.request, s.params.get("files"), "call_back"):
        payload["files"] = files
    return payload


def _close(s: Step) -> dict[str, Any]:
    note = s.text("note", required=False)
    s.request.closed_at = s.now
    return {"note": note} if note else {}


def _answer(s: Step) -> dict[str, Any]:
    # A question the operator answers on the phone (policy, hours, where to go) is closed at
    # once with the answer on record; it never becomes a unit's work order.
    text = s.text("text")
    # Its own end state, not "closed": no unit held it, so it is no unit's rate.
    s.request.replied_at = s.request.closed_at = s.now
    return {"text": text, "direct": True}


def _reopen(s: Step) -> dict[str, Any]:
    req = s.request
    reason = s.text("reason")
    # 重办 goes to the same unit; a supervisor may choose another one instead.
    unit_code = s.text("unit", required=False)
    unit = req.lead_unit
    if unit_code is not None:
        if s.actor.role not in REVIEWERS:
            raise Forbidden("only supervisors may reopen to another unit")
        unit = find_unit(s.session, unit_code)
    if unit is None:
        raise BadInput("unit", "the request has no lead unit to reopen with")
    previous = _unit_code(req)
    req.reopen_count += 1
    req.closed_at = req.accepted_at = req.replied_at = None
    req.solved = req.satisfaction = req.resolution = None
    req.dispatched_at = s.now
    if unit is not req.lead_unit:
        start_assignment(
            s.session,
            req,
            unit_id=unit.id,
            now=s.now,
            source="manual",
            outcome_of_previous="reopened",
        )
    req.lead_unit = unit
    # The old cycle's call-back lapses; the next reply opens the new cycle's task.
    cancel_open_tasks(s.session, req, s.now)
    payload: dict[str, Any] = {"unit": unit.code, "reason": reason}
    if previous != unit.code:
        payload.update(from_unit=previous, unit_name=unit.name)
    return {**payload, **start_clock(req, s.ctx, s.now, may_shorten=True)}


def _set_category(
    req: ServiceRequest, category: Category, *, confirm: bool = True
) -> dict[str, Any]:
    """Set and confirm the category; say whether it corrects the machine's choice, because
    corrections are what retraining learns most from (and what measures the classifier)."""
    payload: dict[str, Any] = {}
    previous = req.category
    if previous is None or previous.id != category.id:
        payload["category"] = category.code
        payload["previous_category"] = previous.code if previous else None
    if not confirm:
        req.category = category
        return payload
    if not req.category_confirmed:
        payload["corrected"] = previous is not None and previous.id != category.id
        payload["suggested_confidence"] = req.category_confidence
    req.category, req.category_confirmed = category, True
    return payload


def _categorize(s: Step) -> dict[str, Any]:
    category = find_category(s.session, s.text("category") or "")
    note = s.text("note", required=False)
    payload = _set_category(s.request, category)
    payload.setdefault("category", category.code)
    if note:
        payload["note"] = note
    return payload


def _merge(s: Step) -> dict[str, Any]:
    into = s.text("into")
    target = s.session.scalar(select(ServiceRequest).where(ServiceRequest.ticket == into))
    if target is None:
        raise BadInput("into", f"no request with ticket {into!r}")
    if target.id == s.request.id:
        raise BadInput("into", "a request cannot be merged into itself")
    if target.status in ("merged", "invalid"):
        raise BadInput(
            "into", f"request {into} is {target.status}; merge into its original instead"
        )
    s.request.duplicate_of, s.request.closed_at = target, s.now
    # Heat (热度) is the number of callers behind one issue: the target now speaks for these too.
    target.heat += s.request.heat
    return {"into": target.ticket, "heat": target.heat}


def _mark_invalid(s: Step) -> dict[str, Any]:
    return {"reason": s.text("reason")}


def _confirm_invalid(s: Step) -> dict[str, Any]:
    note = s.text("note", required=False)
    s.request.closed_at = s.now
    return {"note": note} if note else {}


def _reject_invalid(s: Step) -> dict[str, Any]:
    req = s.request
    reason = s.text("reason")
    # Back to intake: the dispatcher looks at it afresh, so the old unit assignment goes.
    end_assignment(s.session, req, "withdrawn", s.now)
    req.lead_unit, req.assisting_units = None, []
    return {"reason": reason}


def _note(s: Step) -> dict[str, Any]:
    return {"text": s.text("text")}


HANDLERS: dict[str, Callable[[Step], dict[str, Any]]] = {
    "dispatch": _dispatch,
    "accept": _accept,
    "return": _return,
    "transfer": _transfer,
    "reply": _reply,
    "call_back": _call_back,
    "close": _close,
    "answer": _answer,
    "reopen": _reopen,
    "merge": _merge,
    "categorize": _categorize,
    "mark_invalid": _mark_invalid,
    "confirm_invalid": _confirm_invalid,
    "reject_invalid": _reject_invalid,
    "note": _note,
    "redispatch": dispatch_actions.redispatch,
    "contest": dispatch_actions.contest,
    "uphold_dispute": dispatch_actions.uphold_dispute,
    "reject_dispute": dispatch_actions.reject_dispute,
    "whistle": dispatch_actions.whistle,
    "report": dispatch_actions.report,
}
assert set(HANDLERS) == set(TRANSITIONS), "every transition needs exactly one handler"


def _unit_code(req: ServiceRequest) -> str | None:
    return req.lead_unit.code if req.lead_unit else None


def check_action(request: ServiceRequest, action: str, actor: Actor) -> None:
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise BadInput("action", f"unknown action {action!r}; actions are {', '.join(TRANSITIONS)}")
    # Who may act comes before what state the request is in: a role or unit that may never
    # take this action is refused the same way whatever the state, and learns nothing of it.
    if actor.role not in transition.roles:
        roles = ", ".join(sorted(transition.roles))
        raise Forbidden(f"role {actor.role} may not {action}; roles that may: {roles}")
    if actor.role == "handler":
        is_lead = actor.unit_id is not None and actor.unit_id == request.lead_unit_id
        if transition.lead_unit_only and not is_lead:
            raise Forbidden(f"only the lead unit's handlers may {action} request {request.ticket}")
        assisting = any(u.id == actor.unit_id for u in request.assisting_units)
        if not (is_lead or assisting):
            raise Forbidden(f"request {request.ticket} is not with your unit")
    in_area(actor, request)
    if request.status not in transition.sources:
        allowed = allowed_actions(request.status, actor.role)
        raise IllegalAction(
            f"cannot {action} request {request.ticket}: it is {request.status}; "
            f"allowed now: {', '.join(allowed) or 'none'}",
            status=request.status,
            allowed_actions=allowed,
        )


def apply_action(
    session: Session,
    request: ServiceRequest,
    action: str,
    *,
    actor: Actor,
    now: datetime,
    ctx: CityContext,
    params: dict[str, Any] | None = None,
) -> Event:
    check_action(request, action, actor)
    from_status = request.status
    payload = HANDLERS[action](Step(session, request, params or {}, actor, now, ctx))
    request.status = target_status(action, from_status)
    event = append_event(
        session,
        request,
        kind=action,
        actor=actor,
        at=now,
        payload=payload,
        from_status=from_status,
        to_status=request.status,
    )
    # Who is told of it (citizen, unit, supervisors): outbox rows in this same transaction.
    notify_event(session, request, event)
    session.flush()
    log.info(f"request.{action}", ticket=request.ticket, actor=actor.name, status=request.status)
    return event


def actions_for(request: ServiceRequest, actor: Actor) -> list[str]:
    """Actions this actor may take now (what the UI shows as buttons)."""
    out = []
    for action in allowed_actions(request.status, actor.role):
        try:
            check_action(request, action, actor)
        except (Forbidden, IllegalAction):
            continue
        out.append(action)
    return out


def get_by_ticket(session: Session, ticket: str) -> ServiceRequest:
    req = session.scalar(select(ServiceRequest).where(ServiceRequest.ticket == ticket))
    if req is None:
        raise NotFound(
            f"no request with ticket {ticket!r}",
            fields=[{"field": "ticket", "problem": "not found"}],
        )
    return req


@dataclass
class TickResult:
    response_overdue: int = 0
    handling_overdue: int = 0
    digests: int = 0
    # The loop's share: call-back tasks made, requests closed or reopened after an answer.
    callbacks_created: int = 0
    closed: int = 0
    reopened: int = 0
    # Summoned units (吹哨报到) that did not report in time.
    summons_overdue: int = 0
    # Units told of requests nearly due (notifications written, not yet sent).
    due_soon: int = 0
    # Declared events ended at their end time (surge mode).
    events_ended: int = 0
    # Owner units reminded of knowledge articles running out (messages written).
    articles_reminded: int = 0


def mark_overdue(session: Session, *, now: datetime) -> TickResult:
    """Flag requests whose deadlines passed, once each, with an event the unit can see."""
    result = TickResult()
    late_response = select(ServiceRequest).where(
        ServiceRequest.status == "dispatched",
        ServiceRequest.response_overdue.is_(False),
        ServiceRequest.response_due <= now,
    )
    for req in session.scalars(late_response):
        req.response_overdue = True
        _overdue_event(session, req, "response", req.response_due, now)
        result.response_overdue += 1
    late_handling = select(ServiceRequest).where(
        ServiceRequest.status.in_(("dispatched", "accepted")),
        ServiceRequest.handling_overdue.is_(False),
        ServiceRequest.handling_due <= now,
    )
    for req in session.scalars(late_handling):
        req.handling_overdue = True
        _overdue_event(session, req, "handling", req.handling_due, now)
        result.handling_overdue += 1
    session.flush()
    return result


def _overdue_event(
    session: Session, req: ServiceRequest, which: str, due: datetime | None, now: datetime
) -> None:
    append_event(
        session,
        req,
        kind="overdue",
        actor=SYSTEM_ACTOR,
        at=now,
        payload={
            "deadline": which,
            "due": due.isoformat() if due else None,
            "unit": _unit_code(req),
        },
        from_status=req.status,
        to_status=req.status,
    )
