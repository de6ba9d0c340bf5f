"""Users, passwords and API tokens; the Actor every event records."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import find_area, find_unit
from jiesu.errors import BadInput, Conflict, NotAuthenticated, NotFound
from jiesu.kit.clock import utcnow
from jiesu.people.models import ROLES, ApiToken, User
from jiesu.people.passwords import check_password, hash_password, needs_rehash
from jiesu.people.scopes import parse_scopes, store
from jiesu.people.second_factor import SecondFactorNeeded, WrongCode, accept_code


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, or the system itself (deadline checks, automatic close)."""

    user_id: int | None
    name: str
    role: str
    unit_id: int | None = None
    # What the token used may do (see ``scopes``); None: all the role allows.
    scopes: frozenset[str] | None = None
    # A district supervisor's or analyst's area (its materialised path); None: the whole city.
    area_path: str | None = None

    @classmethod
    def of(cls, user: User, scopes: frozenset[str] | None = None) -> Actor:
        area = user.area.path if user.area_id is not None and user.area is not None else None
        return cls(user.id, user.username, user.role, user.unit_id, scopes, area)


SYSTEM_ACTOR = Actor(None, "system", "system")


def create_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str | None,
    now: datetime,
    display_name: str = "",
    unit: str | None = None,
    area: str | None = None,
) -> User:
    if role not in ROLES:
        raise BadInput("role", f"{role!r} is not a role; use one of {', '.join(ROLES)}")
    if not username or len(username) > 64:
        raise BadInput("username", "must be 1–64 characters")
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(
            f"username {username!r} is taken", fields=[{"field": "username", "problem": "taken"}]
        )
    if role == "handler" and not unit:
        raise BadInput("unit", "a unit handler must be bound to a handling unit")
    if password is not None and len(password) < 8:
        raise BadInput("password", "must be at least 8 characters")
    if area is not None and role not in AREA_ROLES:
        raise BadInput("area", f"only {' and '.join(AREA_ROLES)} accounts are kept to an area")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        unit_id=find_unit(session, unit).id if unit else None,
        area_id=find_area(session, area).id if area else None,
        password_hash=hash_password(password) if password else "",
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


# Roles whose view can be kept to one district (or street): they read across units.
AREA_ROLES = ("supervisor", "analyst")


def set_area(session: Session, username: str, area: str | None) -> User:
    """Keep a supervisor or analyst to an area's subtree, or (None) give them the city."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    if area is not None and user.role not in AREA_ROLES:
        raise BadInput("area", f"only {' and '.join(AREA_ROLES)} accounts are kept to an area")
    user.area_id = find_area(session, area).id if area else None
    session.flush()
    return user


# Five wrong passwords in a row lock the account for a quarter of an hour: guessing a
# password becomes 20 tries an hour, while a person who mistyped waits minutes, not forever.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


class AccountLocked(NotAuthenticated):
    code = "account_locked"


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
    otp: str | None = None,
) -> User:
    """The user for these credentials. A wrong password or one-time code is counted on the
    account (the caller commits even when this raises, so that the count survives); an
    account with too many in a row is refused until its lock runs out, whatever is given.
    An account with a second factor also needs its current code (``otp``)."""
    at = now or utcnow()
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is not None and user.locked_until is not None:
        until = _aware(user.locked_until)
        if until > at:
            raise AccountLocked(
                f"too many wrong passwords: this account is locked until {until:%H:%M} UTC"
            )
    # Check a password even for unknown users so timing does not reveal which usernames exist.
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    if not check_password(password, stored) or user is None:
        if user is not None:
            _count_failure(session, user, at)
        raise NotAuthenticated("wrong username or password")
    if user.totp_secret:
        if not otp:
            raise SecondFactorNeeded(
                "this account has a second factor: send the 6-digit code of its app as 'otp'"
            )
        if not accept_code(user, otp, now=at):
            _count_failure(session, user, at)
            raise WrongCode("wrong or already used one-time code")
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins, user.locked_until = 0, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _count_failure(session: Session, user: User, at: datetime) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.failed_logins, user.locked_until = 0, at + LOCKOUT
    session.flush()


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


_DUMMY_HASH = hash_password("not-a-real-password")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    user: User,
    *,
    now: datetime,
    name: str = "",
    ttl: timedelta | None = None,
    scopes: str | None = None,
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + ttl if ttl else None,
            scopes=store(parse_scopes(scopes)),
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, token: str) -> bool:
    """End a token (signing out of the web ends its session at once); False if unknown."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None:
        return False
    row.revoked = True
    return True


def user_for_token(session: Session, token: str, *, now: datetime) -> User:
    return _token_row(session, token, now=now).user


def actor_for_token(session: Session, token: str, *, now: datetime) -> Actor:
    """Who this token speaks for, with its scopes."""
    row = _token_row(session, token, now=now)
    return Actor.of(row.user, parse_scopes(row.scopes))


def _token_row(session: Session, token: str, *, now: datetime) -> ApiToken:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked or (row.expires_at is not None and row.expires_at <= now):
        raise NotAuthenticated("invalid or expired token")
    if not row.user.active:
        raise NotAuthenticated("the user of this token is disabled")
    # Recorded at most every few minutes: a write on every read would serialise the API.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return row
