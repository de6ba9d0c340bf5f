"""The audit chain: hashing of events, daily digests and verification.

Each event's hash covers its content and the previous event's hash of the same request, so an
edited, inserted or deleted row breaks the chain. The request row keeps the chain head and count,
which catches a deleted last event. Daily digests hash the heads that changed that day together
with the previous digest, which anchors the whole history: rewriting a chain consistently still
changes the digests of the days it touches.

Two more logs are anchored the same way, each as one line of the day's digest: the chain of
reads of personal data (privacy/reads.py) and the seals of purges (privacy/redactions.py). A
purge masks personal data in event payloads without changing their hashes; such an event's
content is checked against its redaction row instead (decision 0009).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.privacy import reads, redactions
from jiesu.privacy.models import AuditDigest, EventRedaction
from jiesu.workflow.models import Event, ServiceRequest

GENESIS = "0" * 64
# Names of the other logs' lines in a digest; "~" never starts a ticket.
READS_LINE = "~personal-data-reads"
PURGES_LINE = "~privacy-purges"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(
    prev_hash: str,
    *,
    ticket: str,
    seq: int,
    kind: str,
    from_status: str | None,
    to_status: str | None,
    actor: str,
    at: datetime,
    payload: dict[str, Any],
) -> str:
    body = canonical(
        {
            "ticket": ticket,
            "seq": seq,
            "kind": kind,
            "from": from_status,
            "to": to_status,
            "actor": actor,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "payload": payload,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def hash_of(event: Event, ticket: str) -> str:
    return event_hash(
        event.prev_hash,
        ticket=ticket,
        seq=event.seq,
        kind=event.kind,
        from_status=event.from_status,
        to_status=event.to_status,
        actor=event.actor,
        at=event.at,
        payload=event.payload,
    )


@dataclass
class Break:
    ticket: str
    seq: int | None
    event_id: int | None
    problem: str
    log: str = "request"  # or "personal-data read", "purge"

    def __str__(self) -> str:
        if self.log != "request":
            return f"{self.log} #{self.seq}: {self.problem}"
        where = f"request {self.ticket}"
        if self.seq is not None:
            where += f" event #{self.seq} (id {self.event_id})"
        return f"{where}: {self.problem}"


@dataclass
class VerifyReport:
    requests: int = 0
    events: int = 0
    digests: int = 0
    reads: int = 0  # reads of personal data, in their own chain
    purges: int = 0
    redacted: int = 0  # events whose free text a purge masked
    unsealed_purges: list[int] = field(default_factory=list)  # running, or never finished
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def _day_end(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def _digest(prev: str, day: date, heads: list[tuple[str, str]]) -> str:
    lines = "".join(f"{ticket}:{h}\n" for ticket, h in sorted(heads))
    return hashlib.sha256(f"{prev}\n{day.isoformat()}\n{lines}".encode()).hexdigest()


def _heads_by_day(
    session: Session, tz: ZoneInfo, until: datetime | None
) -> dict[date, list[tuple[str, str]]]:
    """For each local day, the last hash of every request that had events that day."""
    stmt = (
        select(ServiceRequest.ticket, Event.at, Event.hash)
        .join(Event, Event.request_id == ServiceRequest.id)
        .order_by(Event.request_id, Event.seq)
    )
    if until is not None:
        stmt = stmt.where(Event.at < until)
    last: dict[tuple[date, str], str] = {}
    for ticket, at, h in session.execute(stmt).yield_per(5000):
        last[(at.astimezone(tz).date(), ticket)] = h
    out: dict[date, list[tuple[str, str]]] = defaultdict(list)
    for (day, ticket), h in last.items():
        out[day].append((ticket, h))
    for line, heads in (
        (READS_LINE, reads.heads_by_day(session, tz, until)),
        (PURGES_LINE, redactions.heads_by_day(session, tz, until)),
    ):
        for day, h in heads.items():
            out[day].append((line, h))
    return out


def make_digests(session: Session, *, now: datetime, tz: ZoneInfo) -> list[AuditDigest]:
    """Write digests for every finished day not digested yet (days with no events get none)."""
    today = now.astimezone(tz).date()
    latest = session.scalar(select(func.max(AuditDigest.day)))
    prev_row = session.get(AuditDigest, latest) if latest else None
    heads = _heads_by_day(session, tz, _day_end(today - timedelta(days=1), tz))
    prev = prev_row.digest if prev_row else GENESIS
    created: list[AuditDigest] = []
    for day in sorted(d for d in heads if latest is None or d > latest):
        digest = _digest(prev, day, heads[day])
        row = AuditDigest(
            day=day,
            computed_at=now,
            request_count=sum(1 for t, _ in heads[day] if not t.startswith("~")),
            digest=digest,
        )
        session.add(row)
        created.append(row)
        prev = digest
    session.flush()
    return created


def verify(
    session: Session, *, tz: ZoneInfo, progress: Callable[[int], None] | None = None
) -> VerifyReport:
    report = VerifyReport()
    heads_by_request = {
        rid: (ticket, count, head)
        for rid, ticket, count, head in session.execute(
            select(
                ServiceRequest.id,
                ServiceRequest.ticket,
                ServiceRequest.event_count,
                ServiceRequest.chain_head,
            )
        )
    }
    report.requests = len(heads_by_request)
    seen: dict[int, tuple[int, str, datetime | None]] = {}
    broken: set[int] = set()
    # populate_existing: rows cached in a long-lived session must not hide a change on disk.
    stmt = (
        select(Event, EventRedaction.content_hash)
        .outerjoin(EventRedaction, EventRedaction.event_id == Event.id)
        .order_by(Event.request_id, Event.seq)
        .execution_options(yield_per=5000, populate_existing=True)
    )
    for event, redacted in session.execute(stmt):
        report.events += 1
        report.redacted += redacted is not None
        if progress and report.events % 5000 == 0:
            progress(report.events)
        rid = event.request_id
        if rid in broken:
            continue
        ticket = heads_by_request[rid][0] if rid in heads_by_request else f"id={rid}"
        count, prev, prev_at = seen.get(rid, (0, GENESIS, None))
        problem = None
        if event.seq != count + 1:
            problem = f"expected event #{count + 1} here, found #{event.seq} (an event was deleted)"
        elif event.prev_hash != prev:
            problem = "previous-hash link broken (an event was inserted, removed or reordered)"
        elif redacted is None and hash_of(event, ticket) != event.hash:
            problem = "content does not match its hash (the event row was changed)"
        elif redacted is not None and hash_of(event, ticket) != redacted:
            problem = "content does not match what the purge left (the redacted event was changed)"
        elif prev_at is not None and event.at < prev_at:
            problem = "event time earlier than the event before it (inserted out of order)"
        if problem:
            report.breaks.append(Break(ticket, event.seq, event.id, problem))
            broken.add(rid)
            continue
        seen[rid] = (event.seq, event.hash, event.at)
    for rid, (ticket, count, head) in heads_by_request.items():
        if rid in broken:
            continue
        got_count, got_head, _ = seen.get(rid, (0, GENESIS, None))
        if got_count != count or (count and got_head != head):
            report.breaks.append(
                Break(
                    ticket,
                    got_count + 1 if got_count < count else None,
                    None,
                    f"chain has {got_count} events but the request records {count} "
                    "(the last events were deleted or the head was changed)",
                )
            )
    _verify_logs(session, report)
    _verify_digests(session, tz, report)
    report.breaks.sort(key=lambda b: (b.ticket, b.seq or 0))
    return report


def _verify_logs(session: Session, report: VerifyReport) -> None:
    checked = reads.check_reads(session)
    report.reads = checked.count
    report.breaks += [
        Break("~reads", b.seq, b.read_id, b.problem, log="personal-data read")
        for b in checked.breaks
    ]
    purges = redactions.check_purges(session)
    report.purges, report.unsealed_purges = purges.runs, purges.unsealed
    report.breaks += [Break("~purges", rid, None, p, log="purge") for rid, p in purges.breaks]


def _verify_digests(session: Session, tz: ZoneInfo, report: VerifyReport) -> None:
    digests = session.scalars(select(AuditDigest).order_by(AuditDigest.day)).all()
    report.digests = len(digests)
    if not digests:
        return
    heads = _heads_by_day(session, tz, _day_end(digests[-1].day, tz))
    prev = GENESIS
    for row in digests:
        expected = _digest(prev, row.day, heads.get(row.day, []))
        if expected != row.digest:
            report.breaks.append(
                Break(
                    f"digest {row.day.isoformat()}",
                    None,
                    None,
                    "daily digest does not match the events of that day "
                    "(history of that day was rewritten)",
                )
            )
            return
        prev = row.digest
