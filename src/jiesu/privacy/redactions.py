"""The seals of purge runs: each run's counts and redactions hashed, chained to the run before.

A purge masks personal data in event payloads without touching the events' hashes (decision
0009): the request chains and the daily digests stay valid, and each masked event's new content
is bound to a redaction row's hash. The seal binds the redaction rows of a run to the run, and
the digests take the seal of each day, so redactions cannot be added or changed later without
a digest noticing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.privacy.models import EventRedaction, PrivacyPurge

GENESIS = "0" * 64


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat(timespec="microseconds") if at else None


def seal_hash(session: Session, run: PrivacyPurge, prev: str) -> str:
    """The run's counts, cutoff and who ran it, and every (event, content hash) it redacted."""
    digest = hashlib.sha256()
    head = {
        "id": run.id,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "actor": run.actor,
        "older_than": run.older_than,
        "cutoff": _iso(run.cutoff),
        "counts": [run.requests, run.contacts, run.texts, run.events],
        "interrupted": run.interrupted,
    }
    digest.update(f"{prev}\n{json.dumps(head, sort_keys=True)}\n".encode())
    rows = session.execute(
        select(EventRedaction.event_id, EventRedaction.content_hash)
        .where(EventRedaction.purge_id == run.id)
        .order_by(EventRedaction.event_id)
    ).yield_per(5000)
    for event_id, content_hash in rows:
        digest.update(f"{event_id}:{content_hash}\n".encode())
    return digest.hexdigest()


def seal(session: Session, run: PrivacyPurge, *, now: datetime, interrupted: bool) -> None:
    """Close a run: its finish time and seal, linked to the latest sealed run."""
    session.flush()
    # Seals chain in the order they were made (an interrupted run is sealed by the next).
    prev = session.scalar(
        select(PrivacyPurge.hash)
        .where(PrivacyPurge.hash != "", PrivacyPurge.id != run.id)
        .order_by(PrivacyPurge.finished_at.desc(), PrivacyPurge.id.desc())
        .limit(1)
    )
    run.finished_at, run.interrupted = now, interrupted
    run.prev_hash = prev or GENESIS
    run.hash = seal_hash(session, run, run.prev_hash)


@dataclass
class PurgesChecked:
    runs: int = 0
    unsealed: list[int] = field(default_factory=list)  # running now, or never sealed
    breaks: list[tuple[int, str]] = field(default_factory=list)


def check_purges(session: Session) -> PurgesChecked:
    out, prev = PurgesChecked(), GENESIS
    runs = session.scalars(
        select(PrivacyPurge)
        .order_by(PrivacyPurge.finished_at, PrivacyPurge.id)
        .execution_options(populate_existing=True)
    ).all()
    out.runs = len(runs)
    out.unsealed = sorted(r.id for r in runs if not r.hash)
    for run in (r for r in runs if r.hash):
        if run.prev_hash != prev:
            out.breaks.append((run.id, "previous-seal link broken (a purge record was removed)"))
        elif seal_hash(session, run, prev) != run.hash:
            out.breaks.append(
                (run.id, "seal does not match the purge's record or its redactions (changed)")
            )
        prev = run.hash
    return out


def heads_by_day(session: Session, tz: ZoneInfo, until: datetime | None) -> dict[date, str]:
    """The last seal of each local day on which purges finished (for the digests)."""
    stmt = (
        select(PrivacyPurge.finished_at, PrivacyPurge.hash)
        .where(PrivacyPurge.hash != "")
        .order_by(PrivacyPurge.finished_at, PrivacyPurge.id)
    )
    if until is not None:
        stmt = stmt.where(PrivacyPurge.finished_at < until)
    heads: dict[date, str] = {}
    for at, h in session.execute(stmt):
        if at is not None:  # a sealed run always has its finish time
            heads[at.astimezone(tz).date()] = h
    return heads
