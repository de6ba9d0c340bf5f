"""The loop's flow: answer a call-back, then close the request or reopen it (重办), and the
tick that creates call-backs for missed deadlines and settles answered ones.

Only the caller's answer decides: the verdict is recorded by the ``call_back`` action, and
``settle`` then closes the request, or (automatic 重办, configurable in ``LoopPolicy``) reopens
it to the same unit with new deadlines when the caller says it is not solved or is not
satisfied. A supervisor who wants another unit reopens and then transfers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import CityContext, city_context
from jiesu.errors import BadInput
from jiesu.loop.callbacks import create_due_callbacks, record_attempt
from jiesu.loop.models import CallbackTask
from jiesu.loop.policy import DEFAULT_POLICY, LoopPolicy
from jiesu.people.service import SYSTEM_ACTOR, Actor
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

# The private link answers as the system on the caller's behalf; the event says so.
LINK_ACTOR = Actor(None, "callback-link", "system")


def answer(
    session: Session,
    task: CallbackTask,
    *,
    resolution: str,
    satisfaction: str,
    note: str | None,
    actor: Actor,
    now: datetime,
    ctx: CityContext,
    channel: str = "phone",
    policy: LoopPolicy = DEFAULT_POLICY,
) -> ServiceRequest:
    """The caller answered: record the verdict, then close or reopen at once."""
    req = task.request
    if req.status == "merged":
        raise BadInput("resolution", "a merged caller's answer is recorded as an attempt note")
    params: dict[str, object] = {
        "resolution": resolution,
        "satisfaction": satisfaction,
        "channel": channel,
    }
    if note:
        params["note"] = note
    apply_action(session, req, "call_back", actor=actor, now=now, ctx=ctx, params=params)
    settle(session, req, now=now, ctx=ctx, policy=policy)
    return req


def answer_attempt(
    session: Session,
    task: CallbackTask,
    *,
    reached: bool,
    actor: Actor,
    now: datetime,
    ctx: CityContext,
    note: str = "",
    resolution: str | None = None,
    satisfaction: str | None = None,
    policy: LoopPolicy = DEFAULT_POLICY,
) -> CallbackTask:
    """An operator's call: an attempt, and the answer when the caller gave one."""
    if not reached and (resolution or satisfaction):
        raise BadInput("reached", "an answer needs the caller to have been reached")
    if (resolution is None) != (satisfaction is None):
        missing = "satisfaction" if satisfaction is None else "resolution"
        raise BadInput(missing, "give both resolution and satisfaction, or neither")
    record_attempt(session, task, reached=reached, actor=actor, now=now, note=note, policy=policy)
    if reached and resolution is not None and satisfaction is not None:
        answer(
            session,
            task,
            resolution=resolution,
            satisfaction=satisfaction,
            note=note or None,
            actor=actor,
            now=now,
            ctx=ctx,
            policy=policy,
        )
    return task


def settle(
    session: Session,
    req: ServiceRequest,
    *,
    now: datetime,
    ctx: CityContext,
    policy: LoopPolicy = DEFAULT_POLICY,
) -> str:
    """Close a called-back request, or reopen it to the same unit (重办) when its verdict says
    so. The reopen counts against the unit: ``reopen_count`` is what the rates' reopen rate
    and the gaming signals read."""
    if req.status != "called_back":
        return req.status
    if policy.reopens(req.resolution, req.satisfaction, req.reopen_count):
        reason = f"回访: {req.resolution or '-'} / {req.satisfaction or '-'}; 重办"
        apply_action(
            session, req, "reopen", actor=SYSTEM_ACTOR, now=now, ctx=ctx, params={"reason": reason}
        )
        return "reopened"
    apply_action(session, req, "close", actor=SYSTEM_ACTOR, now=now, ctx=ctx)
    return "closed"


def settle_called_back(
    session: Session, now: datetime, policy: LoopPolicy = DEFAULT_POLICY
) -> dict[str, int]:
    """Requests answered through the plain ``call_back`` action wait for this (tick)."""
    ctx = city_context(session)
    counts = {"closed": 0, "reopened": 0}
    waiting = select(ServiceRequest).where(ServiceRequest.status == "called_back")
    for req in session.scalars(waiting).all():
        counts[settle(session, req, now=now, ctx=ctx, policy=policy)] += 1
    return counts


def run_loop_tick(
    session: Session, *, now: datetime, policy: LoopPolicy = DEFAULT_POLICY
) -> dict[str, int]:
    """The loop's share of the scheduled tick."""
    created = create_due_callbacks(session, now, policy)["created"]
    settled = settle_called_back(session, now, policy)
    session.flush()
    return {"callbacks_created": created, **settled}
