"""Who may take part, and how they prove it: a phone (a one-time code), a ticket with its
private tracking code, or a signed-in citizen account.

A participant is **in scope** when the consultation is city-wide, or when a request of theirs
(called from that phone, the ticket itself, or submitted from that account) is placed within
the consultation's area: the place comes from the request data, never from what someone
declares. A verified participant gets a *pass* — a signed, short-lived token naming the
consultation and their participant key — that votes, proposals and comments carry.

The participant key is ``HMAC(index key, "consultation:<id>:<identity>")`` where the identity
is the phone's blind index (so a ticket and its caller's phone are one person) or the account.
It changes with the consultation, so nobody reading the database can join it to a contact row
or to the same person's vote elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from jiesu.deliberation.models import METHODS, Consultation, VerificationCode
from jiesu.deliberation.sender import CodeSender
from jiesu.errors import BadInput, Conflict, Forbidden
from jiesu.privacy.contacts import phone_hashes
from jiesu.privacy.crypto import normalise_phone
from jiesu.privacy.keys import active_keyring
from jiesu.workflow.access import area_ids_within
from jiesu.workflow.models import Contact, Event, ServiceRequest
from jiesu.workflow.public import track_code

CODE_TTL = timedelta(minutes=10)
PASS_TTL = timedelta(hours=2)
MAX_ATTEMPTS = 5
MAX_CODES_PER_HOUR = 3


@dataclass(frozen=True)
class Participant:
    consultation_id: int
    key: str
    method: str
    # What proposals and comments carry: another keyed hash (under the installation's secret),
    # so that a reader of the database cannot find the vote of whoever wrote a comment.
    author_key: str = ""


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def participant(c: Consultation, identity: str, method: str, secret: str) -> Participant:
    """The participant an identity ("phone:<index>", "ticket:<t>", "user:<id>") is in ``c``."""
    key = _hmac(active_keyring().index_key(c.key_id), f"consultation:{c.id}:{identity}")
    return Participant(c.id, key, method, _hmac(secret.encode(), f"author:{key}"))


def by_known_phone(c: Consultation, phone: str, secret: str) -> Participant:
    """The participant a phone is, without a code: for the demo's synthetic callers only."""
    return participant(c, _phone_identity(c, phone), "phone", secret)


def _phone_identity(c: Consultation, phone: str) -> str:
    digits = normalise_phone(phone)
    if len(digits) < 7 or len(digits) > 15:
        raise BadInput("phone", "write the phone number you call from (7 to 15 digits)")
    return f"phone:{_hmac(active_keyring().index_key(c.key_id), 'phone:' + digits)}"


def _check_method(c: Consultation, method: str) -> None:
    if method not in c.methods:
        allowed = ", ".join(c.methods) or "none"
        raise BadInput("method", f"this consultation takes part by {allowed}, not {method}")


def _within(c: Consultation) -> bool:
    """Whether the consultation is city-wide (anyone verified may take part)."""
    return c.area.parent_id is None


def _placed(c: Consultation) -> list[ColumnElement[bool]]:
    return [
        ServiceRequest.area_id.in_(area_ids_within(c.area.path)),
        ServiceRequest.status != "invalid",
    ]


# ---------------------------------------------------------------- phone
def _code_hash(secret: str, participant_key: str, code: str) -> str:
    return hmac.new(
        secret.encode(), f"code:{participant_key}:{code}".encode(), "sha256"
    ).hexdigest()


def send_code(
    session: Session,
    c: Consultation,
    *,
    phone: str,
    sender: CodeSender,
    secret: str,
    now: datetime,
) -> datetime:
    """Send a six-digit code to ``phone``; returns when it expires. Whether the phone is in
    scope is told only after the code comes back, so nobody learns who called about a place
    by asking for codes."""
    _check_method(c, "phone")
    key = participant(c, _phone_identity(c, phone), "phone", secret).key
    recent = session.scalar(
        select(func.count())
        .select_from(VerificationCode)
        .where(
            VerificationCode.consultation_id == c.id,
            VerificationCode.participant_key == key,
            VerificationCode.created_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= MAX_CODES_PER_HOUR:
        raise Conflict(
            f"{MAX_CODES_PER_HOUR} codes were sent to this phone in the last hour; use the "
            "newest or wait",
            fields=[{"field": "phone", "problem": "too many codes asked for"}],
        )
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(
        VerificationCode(
            consultation_id=c.id,
            participant_key=key,
            code_hash=_code_hash(secret, key, code),
            created_at=now,
            expires_at=now + CODE_TTL,
            attempts=0,
        )
    )
    text = f"【接诉议事】验证码 {code}，10分钟内有效，用于参与议事 #{c.id}。如非本人操作请忽略。"
    sender.send(session, phone=phone, text=text, purpose=f"consultation:{c.id}", now=now)
    return now + CODE_TTL


def confirm_code(
    session: Session, c: Consultation, *, phone: str, code: str, secret: str, now: datetime
) -> Participant | str:
    """The participant, or the problem with the code (returned, not raised, so that the
    caller commits the counted attempt before refusing)."""
    _check_method(c, "phone")
    p = participant(c, _phone_identity(c, phone), "phone", secret)
    key = p.key
    row = session.scalars(
        select(VerificationCode)
        .where(
            VerificationCode.consultation_id == c.id,
            VerificationCode.participant_key == key,
            VerificationCode.used_at.is_(None),
            VerificationCode.expires_at > now,
        )
        .order_by(VerificationCode.id.desc())
    ).first()
    if row is None:
        return "no valid code for this phone: it expired or was used; ask for a new one"
    if row.attempts >= MAX_ATTEMPTS:
        return "too many wrong codes; ask for a new one"
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _code_hash(secret, key, code.strip())):
        return f"wrong code ({MAX_ATTEMPTS - row.attempts} tries left)"
    row.used_at = now
    if not _within(c):
        called = session.scalar(
            select(func.count())
            .select_from(Contact)
            .join(ServiceRequest, ServiceRequest.id == Contact.request_id)
            .where(Contact.phone_hash.in_(phone_hashes(phone)), *_placed(c))
        )
        if not called:
            raise Forbidden(
                f"this phone has no request placed in {c.area.name}; only people there take part",
                fields=[{"field": "phone", "problem": f"not in scope ({c.area.name})"}],
            )
    return p


# ---------------------------------------------------------------- ticket and account
def by_ticket(
    session: Session, c: Consultation, *, ticket: str, code: str, secret: str
) -> Participant:
    """A request's ticket and the code of its private tracking link (what the caller was
    given): the request's caller takes part, once, whichever way they prove it."""
    _check_method(c, "ticket")
    req = session.scalar(select(ServiceRequest).where(ServiceRequest.ticket == ticket.strip()))
    if req is None or not hmac.compare_digest(track_code(req.ticket, secret), code.strip()):
        raise BadInput("code", "this ticket and tracking code do not match a request")
    if not _within(c) and not session.scalar(
        select(func.count())
        .select_from(ServiceRequest)
        .where(ServiceRequest.id == req.id, *_placed(c))
    ):
        raise Forbidden(
            f"request {req.ticket} is not placed in {c.area.name}",
            fields=[{"field": "ticket", "problem": f"not in scope ({c.area.name})"}],
        )
    # The caller's number (decrypted here, never shown or stored) makes the ticket and the
    # phone one person; a request without a number is its own.
    digits = normalise_phone(req.contact.phone or "") if req.contact is not None else ""
    if 7 <= len(digits) <= 15:
        return participant(c, _phone_identity(c, digits), "ticket", secret)
    return participant(c, f"ticket:{req.ticket}", "ticket", secret)


def by_account(
    session: Session, c: Consultation, *, user_id: int, role: str, secret: str
) -> Participant:
    _check_method(c, "account")
    if role != "citizen":
        raise Forbidden("staff accounts do not take part; sign in with a citizen account")
    if not _within(c):
        mine = session.scalar(
            select(func.count())
            .select_from(ServiceRequest)
            .join(Event, Event.request_id == ServiceRequest.id)
            .where(Event.kind == "received", Event.actor_id == user_id, *_placed(c))
        )
        if not mine:
            raise Forbidden(
                f"your account has no request placed in {c.area.name}",
                fields=[{"field": "account", "problem": f"not in scope ({c.area.name})"}],
            )
    return participant(c, f"user:{user_id}", "account", secret)


# ---------------------------------------------------------------- passes
def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(secret.encode(), b"consult-pass:" + payload.encode(), "sha256").digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def issue_pass(p: Participant, *, secret: str, now: datetime) -> str:
    expires = int((now + PASS_TTL).timestamp())
    payload = f"{p.consultation_id}.{p.method}.{p.key}.{expires}"
    return f"{payload}.{_sign(secret, payload)}"


def read_pass(token: str, *, consultation_id: int, secret: str, now: datetime) -> Participant:
    """The participant a pass names; refused when forged, expired or for another one."""
    parts = token.strip().split(".")
    bad = BadInput("pass", "not a valid participation pass; verify again")
    if len(parts) != 5 or not all(parts):
        raise bad
    cid, method, key, expires, sig = parts
    payload = ".".join(parts[:4])
    if not hmac.compare_digest(sig, _sign(secret, payload)) or method not in METHODS:
        raise bad
    if cid != str(consultation_id):
        raise BadInput("pass", "this pass is for another consultation")
    if int(expires) <= now.timestamp():
        raise BadInput("pass", "this pass has expired; verify again")
    return Participant(consultation_id, key, method, _hmac(secret.encode(), f"author:{key}"))
