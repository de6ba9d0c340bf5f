"""Every time someone is shown a caller's contact in full, that read is recorded.

A read is one row in ``personal_data_reads``, added to the transaction that serves the page or
the API answer (one INSERT per contact shown, no extra round trip to commit). The rows form one
hash chain: each hashes its content and the previous row, and the daily digests take the
chain's head of each day (privacy/audit.py), so deleting or editing a read is caught like an
edited event. Appending to one chain is serialised: on PostgreSQL by a transaction-scoped
advisory lock, taken only when a read is recorded and held to the commit; on SQLite writers
are serial anyway. Reads are not events of the request: they are not steps of its life.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jiesu.people.service import Actor
from jiesu.privacy.masking import CONTACT_ROLES
from jiesu.privacy.models import PersonalDataRead

GENESIS = "0" * 64
# The chain's pg_advisory_xact_lock: this number with the schema's, so that installations
# sharing one server in different schemas do not wait for each other.
_CHAIN_LOCK = int.from_bytes(b"jxrd", "big") & 0x7FFFFFFF


def sees_contacts(actor: Actor) -> bool:
    """Whether this person is shown contacts in full (and so every view of one is a read)."""
    return actor.role in CONTACT_ROLES


@dataclass(frozen=True)
class Shown:
    """One contact shown in full: the request it belongs to and the fields that were seen."""

    request_id: int
    ticket: str
    fields: Sequence[str]


def read_hash(prev: str, row: PersonalDataRead) -> str:
    at = row.at.astimezone(UTC).isoformat(timespec="microseconds")
    body = "\n".join((str(row.seq), at, row.actor, row.role, row.ticket, row.fields, row.purpose))
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
            {"k": _CHAIN_LOCK},
        )


def record_reads(
    session: Session, actor: Actor, shown: Iterable[Shown], *, purpose: str, at: datetime
) -> list[PersonalDataRead]:
    """Append one read per contact shown (those with no fields shown are skipped)."""
    items = [s for s in shown if s.fields]
    if not items:
        return []
    _lock_chain(session)
    last = session.execute(
        select(PersonalDataRead.seq, PersonalDataRead.hash)
        .order_by(PersonalDataRead.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    rows = []
    for item in items:
        seq += 1
        row = PersonalDataRead(
            seq=seq,
            at=at,
            actor_id=actor.user_id,
            actor=actor.name,
            role=actor.role,
            request_id=item.request_id,
            ticket=item.ticket,
            fields=",".join(item.fields),
            purpose=purpose,
            prev_hash=prev,
        )
        row.hash = prev = read_hash(row.prev_hash, row)
        rows.append(row)
    session.add_all(rows)
    return rows


@dataclass(frozen=True)
class ReadBreak:
    seq: int
    read_id: int | None
    problem: str


@dataclass
class ReadsChecked:
    count: int
    breaks: list[ReadBreak]


def check_reads(session: Session) -> ReadsChecked:
    """Walk the read chain: numbering without gaps, links, content against its hash. Stops at
    the first break (what follows it cannot be trusted and would only repeat the problem)."""
    count, prev, breaks = 0, GENESIS, []
    stmt = (
        select(PersonalDataRead)
        .order_by(PersonalDataRead.seq)
        .execution_options(yield_per=5000, populate_existing=True)
    )
    for row in session.scalars(stmt):
        problem = None
        if row.seq != count + 1:
            problem = f"expected read #{count + 1} here, found #{row.seq} (a read was deleted)"
        elif row.prev_hash != prev:
            problem = "previous-hash link broken (a read was inserted, removed or reordered)"
        elif read_hash(prev, row) != row.hash:
            problem = "content does not match its hash (the read was changed)"
        if problem:
            breaks.append(ReadBreak(row.seq, row.id, problem))
            break
        count, prev = row.seq, row.hash
    return ReadsChecked(count, breaks)


def heads_by_day(session: Session, tz: ZoneInfo, until: datetime | None) -> dict[date, str]:
    """The chain's last hash at the end of each local day that had reads (for the digests)."""
    stmt = select(PersonalDataRead.at, PersonalDataRead.hash).order_by(PersonalDataRead.seq)
    if until is not None:
        stmt = stmt.where(PersonalDataRead.at < until)
    heads: dict[date, str] = {}
    for at, h in session.execute(stmt).yield_per(5000):
        heads[at.astimezone(tz).date()] = h
    return heads
