"""The second factor: enrolling an authenticator app, checking its codes at sign-in.

Enrolment happens in two steps so that a mistyped secret cannot lock anyone out: the new
secret is kept as pending until a code made from it is shown back, and only then does the
account start asking for codes. Each accepted code's time step is remembered, so a code
cannot be used twice (someone who saw it over a shoulder gets nothing).
"""

from __future__ import annotations

from datetime import datetime

from jiesu.errors import BadInput, Conflict, Forbidden, NotAuthenticated
from jiesu.people import totp
from jiesu.people.models import User
from jiesu.people.scopes import ACCOUNT

ISSUER = "Jiesu"


class SecondFactorNeeded(NotAuthenticated):
    """The password was right; the account also needs its one-time code."""

    code = "otp_required"


class WrongCode(NotAuthenticated):
    code = "otp_wrong"


def required_for(user: User, required_roles: frozenset[str]) -> bool:
    return user.role in required_roles


def sign_in_scopes(user: User, required_roles: frozenset[str]) -> str | None:
    """The scopes of a sign-in token: all the role allows, or only the account itself while a
    role that must have a second factor has none yet."""
    if required_for(user, required_roles) and not user.totp_secret:
        return ACCOUNT
    return None


def start_enrolment(user: User) -> tuple[str, str]:
    """A new pending secret and the otpauth link for the app; codes are not asked yet."""
    if user.totp_secret:
        raise Conflict(
            "a second factor is already set up; switch it off first to replace it",
            fields=[{"field": "second_factor", "problem": "already enabled"}],
        )
    user.totp_pending = totp.new_secret()
    return user.totp_pending, totp.provisioning_uri(
        user.totp_pending, account=user.username, issuer=ISSUER
    )


def confirm_enrolment(user: User, code: str, *, now: datetime) -> None:
    if not user.totp_pending:
        raise BadInput("code", "start setting up the second factor first")
    step = totp.matching_step(user.totp_pending, code, now)
    if step is None:
        raise BadInput("code", "this code does not match the new secret; check the phone's clock")
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step


def switch_off(user: User, code: str, *, now: datetime, required_roles: frozenset[str]) -> None:
    if required_for(user, required_roles):
        raise Forbidden(f"the role {user.role} must keep a second factor")
    if not user.totp_secret:
        raise BadInput("second_factor", "no second factor is set up")
    if not accept_code(user, code, now=now):
        raise BadInput("code", "wrong or already used one-time code")
    user.totp_secret = user.totp_pending = user.totp_last_step = None


def reset(user: User) -> None:
    """An administrator's way out for someone who lost their phone: the next sign-in works
    with the password alone (and must enrol again where the role requires it)."""
    user.totp_secret = user.totp_pending = user.totp_last_step = None


def accept_code(user: User, code: str, *, now: datetime) -> bool:
    """True and remembered if the code is current and newer than the last one accepted."""
    if not user.totp_secret:
        return False
    step = totp.matching_step(user.totp_secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True
