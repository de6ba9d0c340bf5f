"""Retention: removing the personal data of requests closed long ago, keeping the case.

For each closed request older than the cutoff: the contact row is deleted; the caller's name,
phone and e-mail, and whatever the PII masker finds, are masked in every free text of the case
(the request's title and text, its attribute answers, call-back notes, exclusion, dispute and
summons texts, the texts of messages about it, evidence file names, and the free-text fields
of its events); the stored evidence photos stay, without their metadata, as the case's proof;
the address keeps its street number but not the flat, the photo link is dropped and the
coordinates are rounded to about 100 m.
Status, category, area, units, dates, the caller's answers and the rates built on them stay:
the anonymised case still counts in every statistic.

Event payloads are masked without changing the events' hashes; each masked event gets a
redaction row with the hash of its new content, and the run is sealed over all of them, so
`jiesu audit verify` still passes (decision 0009). Runs go in batches, each its own
transaction (the caller commits); a request is marked purged in the batch that purges it, so
an interrupted run is simply run again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from jiesu.callers.models import CallerFlag
from jiesu.dispatch.models import Dispute, Summons
from jiesu.errors import NotFound
from jiesu.evidence.models import EvidenceFile
from jiesu.loop.models import CallbackAttempt, CallbackTask, ScoringExclusion
from jiesu.notify.models import Notification
from jiesu.privacy.audit import hash_of
from jiesu.privacy.masking import PROFILE_EVENTS, mask_email, mask_name, mask_phone
from jiesu.privacy.models import EventRedaction, PrivacyPurge
from jiesu.privacy.pii import mask_text
from jiesu.privacy.redactions import seal
from jiesu.workflow.models import Contact, Event, ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES, STATUSES

END_STATUSES = tuple(sorted(set(STATUSES) - OPEN_STATUSES))
# Keys of event payloads that hold words people typed (anything else is codes and numbers).
FREE_TEXT_KEYS = frozenset(
    {"text", "note", "reason", "decision_note", "report", "answer", "comment", "close_note"}
)
COORDINATE_DECIMALS = 3  # ~110 m: the street and community stay, the doorway goes
BATCH = 200


def mask_personal_text(text: str, known: Sequence[str] = ()) -> str:
    """Free text with personal data masked: the caller's own name, phone and e-mail wherever
    they were written, then everything the PII masker (privacy/pii.py) recognises. The one
    place the purge decides how words are masked."""
    if not text:
        return text
    for value in known:
        text = _mask_known(text, value)
    return mask_text(text)


@lru_cache(maxsize=4096)
def _number_as_written(digits: str) -> re.Pattern[str]:
    """The number anywhere in a text, with or without spaces or dashes between its digits."""
    loose = r"[ \-]?".join(re.escape(d) for d in digits)
    return re.compile(rf"(?<!\d){loose}(?!\d)")


def _mask_known(text: str, value: str) -> str:
    if "@" in value:
        return text.replace(value, mask_email(value))
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) >= 7:
        if digits[-4:] not in text:
            return text  # however it was written, its last four digits stand together
        return _number_as_written(digits).sub(mask_phone(digits), text)
    if len(value) >= 2 and not digits:
        # A one-character name would mask that character everywhere in the text.
        return text.replace(value, mask_name(value))
    return text


def coarsen_address(address: str, known: Sequence[str] = ()) -> str:
    """The address down to its street number: "东华门大街12号3单元501" keeps the building
    ("东华门大街12号") and loses the flat ("*单元***"), which is what identifies a household."""
    masked = mask_personal_text(address, known)
    head, sep, rest = masked.partition("号")
    return head + sep + re.sub(r"\d", "*", rest) if sep else masked


def _mask_tree(value: Any, known: Sequence[str], key: str | None = None) -> Any:
    """A payload with its free-text fields masked, at any depth; codes and numbers untouched."""
    if isinstance(value, dict):
        return {k: _mask_tree(v, known, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_tree(v, known, key) for v in value]
    if isinstance(value, str) and key in FREE_TEXT_KEYS:
        return mask_personal_text(value, known)
    return value


def _mask_values(value: Any, known: Sequence[str]) -> Any:
    """Attribute answers: every string is an answer someone typed."""
    if isinstance(value, dict):
        return {k: _mask_values(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_values(v, known) for v in value]
    return mask_personal_text(value, known) if isinstance(value, str) else value


def _due(cutoff: datetime) -> Any:
    R = ServiceRequest
    return (R.status.in_(END_STATUSES), R.closed_at < cutoff, R.purged_at.is_(None))


@dataclass(frozen=True)
class Plan:
    requests: int
    contacts: int


def plan(session: Session, cutoff: datetime) -> Plan:
    """What a purge with this cutoff would touch (for --dry-run and the progress bar)."""
    requests = session.scalar(select(func.count()).select_from(ServiceRequest).where(*_due(cutoff)))
    contacts = session.scalar(
        select(func.count())
        .select_from(Contact)
        .join(ServiceRequest, ServiceRequest.id == Contact.request_id)
        .where(*_due(cutoff))
    )
    return Plan(requests or 0, contacts or 0)


def start(
    session: Session, *, actor: str, older_than: str, cutoff: datetime, now: datetime
) -> PrivacyPurge:
    """Record a new run; a run left unsealed by an interruption is sealed first, as it is."""
    for stale in session.scalars(select(PrivacyPurge).where(PrivacyPurge.hash == "")):
        seal(session, stale, now=now, interrupted=True)
    run = PrivacyPurge(
        started_at=now,
        actor=actor,
        older_than=older_than,
        cutoff=cutoff,
        requests=0,
        contacts=0,
        texts=0,
        events=0,
    )
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> PrivacyPurge:
    run = session.get(PrivacyPurge, run_id)
    if run is None:
        raise NotFound(f"no purge #{run_id}")
    return run


def purge_batch(
    session: Session, run: PrivacyPurge, *, now: datetime, after_id: int = 0, limit: int = BATCH
) -> int | None:
    """Purge the next ``limit`` due requests with ids above ``after_id``; the last id done, or
    None when nothing was left."""
    requests = session.scalars(
        select(ServiceRequest)
        .where(*_due(run.cutoff), ServiceRequest.id > after_id)
        .order_by(ServiceRequest.id)
        .limit(limit)
        .options(selectinload(ServiceRequest.contact))
    ).all()
    if not requests:
        return None
    known: dict[int, list[str]] = {}
    for req in requests:
        c = req.contact
        known[req.id] = [v for v in (c.name, c.phone, c.email) if v] if c is not None else []
        run.texts += _purge_request(req, known[req.id])
        if c is not None:
            session.delete(c)
            run.contacts += 1
        req.purged_at = req.updated_at = now
    run.texts += _purge_side_tables(session, known)
    # A caller flag lives as long as the contact it hangs on (jiesu.callers).
    session.execute(delete(CallerFlag).where(CallerFlag.request_id.in_(list(known))))
    run.events += _redact_events(session, run, {r.id: r.ticket for r in requests}, known)
    run.requests += len(requests)
    session.flush()
    return requests[-1].id


def _purge_request(req: ServiceRequest, known: list[str]) -> int:
    changed = 0
    for field in ("title", "text", "address"):
        before = getattr(req, field) or ""
        after = (coarsen_address if field == "address" else mask_personal_text)(before, known)
        if after != before:
            setattr(req, field, after)
            changed += 1
    attributes = _mask_values(req.attributes or {}, known)
    if attributes != (req.attributes or {}):
        req.attributes, changed = attributes, changed + 1
    if req.media_url:
        req.media_url, changed = "", changed + 1
    if req.lat is not None:
        req.lat = round(req.lat, COORDINATE_DECIMALS)
    if req.lon is not None:
        req.lon = round(req.lon, COORDINATE_DECIMALS)
    return changed


def _purge_side_tables(session: Session, known: dict[int, list[str]]) -> int:
    """Free texts about the case kept outside the request row."""
    ids, changed = list(known), 0

    def mask(obj: Any, field: str, rid: int) -> None:
        nonlocal changed
        before = getattr(obj, field) or ""
        after = mask_personal_text(before, known[rid])
        if after != before:
            setattr(obj, field, after)
            changed += 1

    for attempt, rid in session.execute(
        select(CallbackAttempt, CallbackTask.request_id)
        .join(CallbackTask, CallbackTask.id == CallbackAttempt.task_id)
        .where(CallbackTask.request_id.in_(ids))
    ):
        mask(attempt, "note", rid)
    for exclusion in session.scalars(
        select(ScoringExclusion).where(ScoringExclusion.request_id.in_(ids))
    ):
        mask(exclusion, "reason", exclusion.request_id)
        mask(exclusion, "decision_note", exclusion.request_id)
        evidence = _mask_values(exclusion.evidence or [], known[exclusion.request_id])
        if evidence != (exclusion.evidence or []):
            exclusion.evidence, changed = evidence, changed + 1
    for dispute in session.scalars(select(Dispute).where(Dispute.request_id.in_(ids))):
        mask(dispute, "reason", dispute.request_id)
        mask(dispute, "decision_note", dispute.request_id)
    for summons in session.scalars(select(Summons).where(Summons.request_id.in_(ids))):
        mask(summons, "reason", summons.request_id)
        mask(summons, "report", summons.request_id)
    # Messages about the case: their texts, what they were filled with, the masked address.
    for n in session.scalars(select(Notification).where(Notification.request_id.in_(ids))):
        assert n.request_id is not None
        mask(n, "subject", n.request_id)
        mask(n, "body", n.request_id)
        context = _mask_values(n.context or {}, known[n.request_id])
        if context != (n.context or {}) or n.address_masked:
            n.context, n.address_masked, changed = context, "", changed + 1
    # Evidence files keep their (metadata-free) pixels as the case's proof; their names go.
    for f in session.scalars(select(EvidenceFile).where(EvidenceFile.request_id.in_(ids))):
        mask(f, "name", f.request_id)
    return changed


def _redact_events(
    session: Session, run: PrivacyPurge, tickets: dict[int, str], known: dict[int, list[str]]
) -> int:
    redacted = 0
    for event in session.scalars(
        select(Event).where(Event.request_id.in_(list(tickets))).order_by(Event.id)
    ):
        payload = _mask_tree(event.payload or {}, known[event.request_id])
        if event.kind in PROFILE_EVENTS and payload.get("reason"):
            # Why a caller was noted as vulnerable is about the person, not the case.
            payload = {**payload, "reason": "[removed]"}
        if payload == (event.payload or {}):
            continue
        event.payload = payload  # a new object: the JSON column sees the change
        session.add(
            EventRedaction(
                event_id=event.id,
                purge_id=run.id,
                content_hash=hash_of(event, tickets[event.request_id]),
            )
        )
        redacted += 1
    return redacted


def finish(session: Session, run: PrivacyPurge, *, now: datetime) -> PrivacyPurge:
    seal(session, run, now=now, interrupted=False)
    return run
