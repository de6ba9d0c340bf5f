"""Open311 api_keys: issued once, stored only as SHA-256, checked on every POST."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import find_unit
from jiesu.errors import BadInput, Conflict, NotFound
from jiesu.intake.models import ApiKey
from jiesu.intake.open311.errors import Open311Error
from jiesu.people.service import Actor

MAX_NAME = 100
# Written at most this often: a write on every POST would serialise a busy client's requests.
LAST_USED_EVERY = timedelta(minutes=5)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session,
    name: str,
    *,
    now: datetime,
    unit: str | None = None,
    rate_per_minute: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key for a client system; the key itself is returned here and never again."""
    _check_rate(rate_per_minute)
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise BadInput("name", f"must be 1–{MAX_NAME} characters")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise Conflict(
            f"an api key named {name!r} exists already; revoke it and choose another name",
            fields=[{"field": "name", "problem": "taken"}],
        )
    key = secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        key_hash=key_hash(key),
        unit_id=find_unit(session, unit).id if unit else None,
        created_at=now,
        revoked=False,
        rate_per_minute=rate_per_minute,
    )
    session.add(row)
    session.flush()
    return row, key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


# Beyond this a single client would be a flood; a city that needs more runs a batch import.
MAX_RATE = 60_000


def _check_rate(rate: int | None) -> None:
    if rate is not None and not 1 <= rate <= MAX_RATE:
        raise BadInput("rate_per_minute", f"must be 1–{MAX_RATE:,} calls a minute, got {rate}")


def set_rate(session: Session, name: str, rate_per_minute: int | None) -> ApiKey:
    """Give a client its own calls-per-minute budget (None: the server's default)."""
    _check_rate(rate_per_minute)
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise NotFound(f"no api key named {name!r}")
    row.rate_per_minute = rate_per_minute
    session.flush()
    return row


def revoke_key(session: Session, name: str) -> ApiKey:
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise NotFound(f"no api key named {name!r}")
    row.revoked = True
    session.flush()
    return row


def authenticate(session: Session, key: str | None, *, now: datetime, doing: str) -> ApiKey:
    """The live key behind ``key``, or 403 in the spec's words."""
    if not key:
        raise Open311Error.forbidden(f"api_key is missing -- can't proceed with {doing}.")
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash(key)))
    if row is None or row.revoked:
        raise Open311Error.forbidden(f"Invalid api_key received -- can't proceed with {doing}.")
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        row.last_used_at = now
    return row


def citizen_actor(key: ApiKey) -> Actor:
    """Who a posted request is recorded as having come from: the client system, by name."""
    return Actor(None, f"open311:{key.name}", "citizen", key.unit_id)
