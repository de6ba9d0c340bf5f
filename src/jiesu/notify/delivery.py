"""Sending what is due: quiet hours first, then the gateway, then the record of the try.

A failed try is retried after ``retry_seconds × 2^(tries − 1)`` (60 s, 2 min, 4 min …); after
``max_attempts`` tries, or at once when the failure is permanent (an address the server
refuses), the message is dead-lettered with the reason and stays in the outbox, where an
administrator can send it again (`jiesu notify retry`). Every try is a row of its own.
Delivery is at least once: a message sent just before its commit failed is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.config import Settings
from jiesu.errors import Conflict, NotFound
from jiesu.notify.gateways import DeliveryFailed, Gateway, Outgoing
from jiesu.notify.models import DeliveryAttempt, Notification
from jiesu.notify.quiet import Window, held_until, parse_quiet_hours
from jiesu.notify.templates import render_message
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.public import track_code

MAX_DELAY = timedelta(hours=24)
# One run's batch: all its tries are committed together, inside the job's claim (a PostgreSQL
# advisory lock lasts one transaction), so a crash mid-batch re-sends at most this many.
BATCH = 50


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    retry_seconds: int
    quiet: dict[str, Window]
    tz: ZoneInfo
    locale: str
    public_url: str
    secret_key: str

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            max_attempts=settings.notify_max_attempts,
            retry_seconds=settings.notify_retry_seconds,
            quiet=parse_quiet_hours(settings.notify_quiet_hours),
            tz=settings.tz,
            locale=settings.notify_locale,
            public_url=settings.public_url.rstrip("/"),
            secret_key=settings.secret_key,
        )

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed try."""
        return min(timedelta(seconds=self.retry_seconds * 2 ** (attempts - 1)), MAX_DELAY)


@dataclass
class SendResult:
    sent: int = 0
    held: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def tried(self) -> int:
        """Messages handed to a gateway in this run."""
        return self.sent + self.retrying + self.dead


def _address(session: Session, n: Notification) -> str | None:
    if n.recipient_kind != "citizen":
        return n.recipient
    req = session.get(ServiceRequest, n.request_id) if n.request_id else None
    contact = req.contact if req is not None else None
    if contact is None:
        return None
    return (contact.email if n.channel == "email" else contact.phone) or None


def _context(n: Notification, policy: Policy) -> dict[str, Any]:
    ctx = dict(n.context or {})
    ticket = ctx.get("ticket")
    if ticket:
        path = f"/t/{ticket}/{track_code(ticket, policy.secret_key)}"
        # The private tracking link goes to the citizen only; staff get the desk's page.
        ctx["link"] = policy.public_url + (
            path if n.recipient_kind == "citizen" else f"/desk/requests/{ticket}"
        )
    return ctx


def _record(
    session: Session, n: Notification, now: datetime, gateway: str, result: str, detail: str
) -> None:
    session.add(
        DeliveryAttempt(
            notification_id=n.id, at=now, gateway=gateway, result=result, detail=detail[:2000]
        )
    )


def deliver(
    session: Session,
    n: Notification,
    gateways: dict[str, Gateway],
    policy: Policy,
    now: datetime,
    result: SendResult,
) -> None:
    name = gateway_names_for(gateways, n.channel)
    until = None if n.urgent else held_until(policy.quiet, n.recipient_kind, now, policy.tz)
    if until is not None:
        if n.status != "held":
            _record(session, n, now, name, "held", f"quiet hours until {until.isoformat()}")
        n.status, n.next_attempt_at = "held", until
        result.held += 1
        return
    address = _address(session, n)
    if address is None:
        n.status, n.last_error = "dead", "the citizen's contact has no address any more"
        _record(session, n, now, name, "failed", n.last_error)
        result.dead += 1
        return
    n.locale = policy.locale
    n.subject, n.body = render_message(n.kind, policy.locale, _context(n, policy))
    n.gateway = name
    n.attempts += 1
    try:
        detail = gateways[n.channel].send(
            Outgoing(n.channel, address, n.subject, n.body, policy.locale)
        )
    except DeliveryFailed as exc:
        n.last_error = str(exc)
        _record(session, n, now, name, "failed", str(exc))
        if exc.permanent or n.attempts >= policy.max_attempts:
            n.status = "dead"
            result.dead += 1
        else:
            n.status, n.next_attempt_at = "pending", now + policy.backoff(n.attempts)
            result.retrying += 1
        result.errors.append(f"#{n.id}: {exc}")
        return
    n.status, n.sent_at, n.last_error = "sent", now, None
    _record(session, n, now, name, "sent", detail)
    result.sent += 1


def gateway_names_for(gateways: dict[str, Gateway], channel: str) -> str:
    return gateways[channel].name


def send_due(
    session: Session,
    gateways: dict[str, Gateway],
    policy: Policy,
    *,
    now: datetime,
    limit: int = BATCH,
) -> SendResult:
    """Try the messages whose time has come, oldest first. Never commits."""
    result = SendResult()
    due = session.scalars(
        select(Notification)
        .where(
            Notification.status.in_(("pending", "held")),
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    ).all()
    for n in due:
        deliver(session, n, gateways, policy, now, result)
        session.flush()
    return result


def outbox(
    session: Session,
    *,
    status: str | None = None,
    limit: int = 100,
    request_id: int | None = None,
    recipient: str | None = None,
) -> list[Notification]:
    q = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status:
        q = q.where(Notification.status == status)
    if recipient is not None:  # a unit's or the supervisors' desk messages
        q = q.where(Notification.recipient == recipient, Notification.channel == "desk")
    if request_id is not None:
        q = q.where(Notification.request_id == request_id)
    return list(session.scalars(q))


def attempts_of(session: Session, n: Notification) -> list[DeliveryAttempt]:
    return list(
        session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == n.id)
            .order_by(DeliveryAttempt.id)
        )
    )


def retry(session: Session, nid: int, *, now: datetime) -> Notification:
    """Send a dead-lettered message again: its tries start over."""
    n = session.get(Notification, nid)
    if n is None:
        raise NotFound(f"no notification {nid}")
    if n.status != "dead":
        raise Conflict(f"notification {nid} is {n.status}; only dead ones are retried")
    n.status, n.attempts, n.next_attempt_at = "pending", 0, now
    session.flush()
    return n


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ).all()
    return {status: int(count) for status, count in rows}
