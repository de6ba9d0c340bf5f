"""Users, passwords and API tokens; the Actor every event records."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.service import find_unit
from jiesu.errors import BadInput, Conflict, NotAuthenticated
from jiesu.kit.clock import utcnow
from jiesu.people.models import ROLES, ApiToken, User

# scrypt parameters: ~16 MiB and a few tens of ms per check — slow for an attacker's guessing,
# fine for a login. Stored as "scrypt$n$r$p$salt$hash" so parameters can change later.
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got, base64.b64decode(digest))


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, or the system itself (deadline checks, automatic close)."""

    user_id: int | None
    name: str
    role: str
    unit_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.username, user.role, user.unit_id)


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
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        unit_id=find_unit(session, unit).id if unit else None,
        password_hash=hash_password(password) if password else "",
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


# Five wrong passwords in a row lock the account for a quarter of an hour: guessing a
# password becomes 20 tries an hour, while a person who mistyped waits minutes, not forever.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


class AccountLocked(NotAuthenticated):
    code = "account_locked"


def authenticate(
    session: Session, username: str, password: str, *, now: datetime | None = None
) -> User:
    """The user for these credentials. A wrong password is counted on the account (the
    caller commits even when this raises, so that the count survives); an account with too
    many in a row is refused until its lock runs out, whatever password is given."""
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
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.failed_logins, user.locked_until = 0, at + LOCKOUT
            session.flush()
        raise NotAuthenticated("wrong username or password")
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins, user.locked_until = 0, None
    return user


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


_DUMMY_HASH = hash_password("not-a-real-password")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, user: User, *, now: datetime, name: str = "", ttl: timedelta | None = None
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=_token_hash(token),
            created_at=now,
            expires_at=now + ttl if ttl else None,
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, token: str) -> bool:
    """End a token (signing out of the web ends its session at once); False if unknown."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None:
        return False
    row.revoked = True
    return True


def user_for_token(session: Session, token: str, *, now: datetime) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked or (row.expires_at is not None and row.expires_at <= now):
        raise NotAuthenticated("invalid or expired token")
    if not row.user.active:
        raise NotAuthenticated("the user of this token is disabled")
    # Recorded at most every few minutes: a write on every read would serialise the API.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return row.user
