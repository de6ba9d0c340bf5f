"""Call-back tasks (回访): one per request and handling cycle, prioritised, worked by attempts.

A task is created when the lead unit replies, or by the tick when the handling deadline passed
without a reply (the caller is then asked while the unit is chased). Attempts that do not reach
the caller count up to ``max_attempts``; then the task is *unreachable*: the request is closed
without a verdict, with an internal ``callback_unreachable`` event, and the rates leave it out
of the resolution and satisfaction denominators and count it apart. An answer is recorded by the
``call_back`` workflow action, which completes the task (see ``complete_task``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from jiesu.callers.profile import flagged
from jiesu.errors import BadInput, Conflict, JiesuError, NotFound
from jiesu.loop.models import CallbackAttempt, CallbackTask
from jiesu.loop.policy import DEFAULT_POLICY, LoopPolicy
from jiesu.people.service import Actor
from jiesu.workflow.events import append_event
from jiesu.workflow.models import Event, ServiceRequest

UNREACHABLE_EVENT = "callback_unreachable"
MAX_NOTE = 10_000
CHUNK = 500


class Gone(JiesuError):
    """A private link that was used, replaced by an answer on the phone, or expired."""

    status_code = 410
    code = "gone"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _vulnerable(session: Session, req: ServiceRequest) -> bool:
    """Did intake find elderly, children, sick or disabled people at risk in the text?"""
    payload = session.scalar(
        select(Event.payload).where(Event.request_id == req.id, Event.kind == "received")
    )
    urgency = ((payload or {}).get("assessment") or {}).get("urgency") or {}
    return any(r.get("code") == "vulnerable" for r in urgency.get("reasons") or [])


def _repeat(session: Session, req: ServiceRequest) -> bool:
    found = session.scalar(
        select(Event.id).where(Event.request_id == req.id, Event.kind == "repeat_caller").limit(1)
    )
    return found is not None


def priority_of(
    session: Session, req: ServiceRequest, policy: LoopPolicy = DEFAULT_POLICY
) -> tuple[int, list[str]]:
    """0–100 and the reasons, so that an operator sees why a call comes first."""
    w = policy.weights
    signals = {
        "angry": req.sentiment is not None and req.sentiment <= policy.angry_below,
        "reopened": req.reopen_count > 0,
        "vulnerable": _vulnerable(session, req),
        # An operator noted the caller as vulnerable (with consent), or they called again
        # about the same unsolved problem (jiesu.callers).
        "vulnerable_caller": flagged(session, req),
        "repeat_caller": _repeat(session, req),
        "urgent": req.urgency_score is not None and req.urgency_score >= policy.urgent_score,
        "heat": req.heat > 1,
        "overdue": req.handling_overdue,
    }
    reasons = [name for name, on in signals.items() if on]
    score = w["base"] + sum(w[name] for name in reasons if name != "heat")
    if "heat" in reasons:  # more callers behind one issue, capped so heat alone cannot lead
        score += min(policy.heat_cap, w["heat"] * (req.heat - 1))
    return min(100, score), reasons


def current_task(session: Session, req: ServiceRequest) -> CallbackTask | None:
    return session.scalar(
        select(CallbackTask).where(
            CallbackTask.request_id == req.id, CallbackTask.cycle == req.reopen_count
        )
    )


def ensure_callback_task(
    session: Session,
    request: ServiceRequest,
    now: datetime,
    reason: str,
    policy: LoopPolicy = DEFAULT_POLICY,
) -> CallbackTask:
    """The task of the request's current cycle, created if missing (idempotent)."""
    task = current_task(session, request)
    priority, reasons = priority_of(session, request, policy)
    if task is None:
        task = CallbackTask(
            request_id=request.id,
            cycle=request.reopen_count,
            created_at=now,
            due_at=now + policy.callback_within,
            priority=priority,
            priority_reasons=[reason, *reasons],
            status="open",
            attempts=0,
            updated_at=now,
        )
        session.add(task)
        session.flush()
        return task
    if reason == "replied" and task.status in ("open", "unreachable"):
        # A task made at the deadline chased an absent reply; now the caller is owed a call
        # about the answer itself, so it starts afresh with a new due time.
        task.status, task.attempts = "open", 0
        task.due_at = now + policy.callback_within
        task.priority = priority
        task.priority_reasons = list(dict.fromkeys([*task.priority_reasons, reason, *reasons]))
        task.updated_at = now
    return task


def create_due_callbacks(
    session: Session, now: datetime, policy: LoopPolicy = DEFAULT_POLICY
) -> dict[str, int]:
    """Tasks for requests whose handling deadline passed without a reply (tick)."""
    r, t = ServiceRequest, CallbackTask
    has_task = and_(t.request_id == r.id, t.cycle == r.reopen_count)
    late = select(r).where(
        r.status.in_(("dispatched", "accepted")),
        r.handling_due <= now,
        r.duplicate_of_id.is_(None),
        ~select(t.id).where(has_task).exists(),
    )
    created = 0
    for req in session.scalars(late).all():
        ensure_callback_task(session, req, now, "overdue", policy)
        created += 1
    return {"created": created}


def _check_open(task: CallbackTask) -> None:
    if task.status != "open":
        raise Conflict(f"call-back task {task.id} is {task.status}; nothing more to record")


def record_attempt(
    session: Session,
    task: CallbackTask,
    *,
    reached: bool,
    actor: Actor,
    now: datetime,
    note: str = "",
    policy: LoopPolicy = DEFAULT_POLICY,
) -> CallbackAttempt:
    """One try at reaching the caller. The answer itself goes through ``call_back``."""
    _check_open(task)
    if len(note) > MAX_NOTE:
        raise BadInput("note", f"is {len(note)} characters long; the limit is {MAX_NOTE}")
    attempt = CallbackAttempt(task=task, at=now, actor=actor.name, reached=reached, note=note)
    session.add(attempt)
    task.attempts += 1
    task.last_attempt_at = task.updated_at = now
    req = task.request
    if reached and req.status == "merged":
        # A merged caller's answer is heard and noted; the original request carries the verdict.
        task.status, task.answered_at, task.answer_channel = "done", now, "phone"
    elif not reached and task.attempts >= policy.max_attempts and req.status == "replied":
        _unreachable(session, task, actor, now)
    session.flush()
    return attempt


def _unreachable(session: Session, task: CallbackTask, actor: Actor, now: datetime) -> None:
    """Out of attempts: close the request without a verdict. Not a ``call_back`` (nobody
    answered) and not a plain ``close`` (nothing was asked), so it is its own internal event.
    Closed, not left replied: the case is done for the unit, and the rates count it apart."""
    req = task.request
    task.status = "unreachable"
    from_status = req.status
    req.status, req.closed_at = "closed", now
    append_event(
        session,
        req,
        kind=UNREACHABLE_EVENT,
        actor=actor,
        at=now,
        payload={"task": task.id, "attempts": task.attempts, "cycle": task.cycle},
        from_status=from_status,
        to_status=req.status,
    )


def complete_task(
    session: Session, request: ServiceRequest, now: datetime, channel: str
) -> CallbackTask:
    """The caller answered (``call_back``): the cycle's task is done, once. Callers whose
    requests were merged into this one get their own task: each caller is asked."""
    # Requests replied before call-back tasks existed get theirs now, to record the answer.
    task = current_task(session, request) or ensure_callback_task(session, request, now, "replied")
    if task.status == "done":
        raise Conflict(f"request {request.ticket} was already called back in this cycle")
    task.status, task.answered_at, task.answer_channel, task.updated_at = "done", now, channel, now
    task.link_expires_at = None
    merged = select(ServiceRequest).where(
        ServiceRequest.duplicate_of_id == request.id, ServiceRequest.status == "merged"
    )
    for dup in session.scalars(merged).all():
        ensure_callback_task(session, dup, now, "merged_caller")
    return task


def cancel_open_tasks(session: Session, request: ServiceRequest, now: datetime) -> int:
    """A reopened request starts a new cycle: whatever was still open of the old one lapses."""
    tasks = session.scalars(
        select(CallbackTask).where(
            CallbackTask.request_id == request.id, CallbackTask.status == "open"
        )
    ).all()
    for task in tasks:
        task.status, task.updated_at, task.link_expires_at = "cancelled", now, None
    return len(tasks)


def issue_link(
    session: Session, task: CallbackTask, now: datetime, policy: LoopPolicy = DEFAULT_POLICY
) -> str:
    """A private link token for an online caller; only its hash is stored. A new link
    replaces the old one."""
    _check_open(task)
    token = secrets.token_urlsafe(32)
    task.link_token_hash = token_hash(token)
    task.link_expires_at = now + policy.link_valid
    task.updated_at = now
    session.flush()
    return token


def task_for_token(session: Session, token: str, now: datetime) -> CallbackTask:
    task = session.scalar(
        select(CallbackTask).where(CallbackTask.link_token_hash == token_hash(token))
    )
    if task is None:
        raise NotFound("no such call-back link", fields=[{"field": "token", "problem": "unknown"}])
    if task.status != "open":
        raise Gone("this call-back link has been used or is no longer needed")
    if task.link_expires_at is None or _aware(task.link_expires_at) <= now:
        raise Gone("this call-back link has expired")
    return task


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def unreachable_requests(session: Session, ids: Sequence[int]) -> set[int]:
    """Requests whose current cycle's call-back never reached the caller."""
    out: set[int] = set()
    r, t = ServiceRequest, CallbackTask
    if not ids or not session.scalar(
        select(t.id).where(t.status == "unreachable").exists().select()
    ):
        return out  # the usual case: spare a year's population its batched look-ups
    for i in range(0, len(ids), CHUNK):
        batch = list(ids[i : i + CHUNK])
        rows = session.scalars(
            select(t.request_id)
            .join(r, and_(r.id == t.request_id, r.reopen_count == t.cycle))
            .where(t.status == "unreachable", t.request_id.in_(batch))
        )
        out.update(rows)
    return out


def queue(
    session: Session, *, status: str | None = "open", limit: int = 100, offset: int = 0
) -> list[CallbackTask]:
    """Operators' queue: highest priority first, then the earliest due."""
    stmt = select(CallbackTask)
    if status is not None:
        stmt = stmt.where(CallbackTask.status == status)
    stmt = stmt.order_by(
        CallbackTask.priority.desc(), CallbackTask.due_at.asc(), CallbackTask.id.asc()
    )
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def get_task(session: Session, task_id: int) -> CallbackTask:
    task = session.get(CallbackTask, task_id)
    if task is None:
        raise NotFound(
            f"no call-back task {task_id}", fields=[{"field": "id", "problem": "not found"}]
        )
    return task
