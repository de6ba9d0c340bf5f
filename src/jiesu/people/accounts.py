"""Looking after accounts: list them, switch one off or on again.

A switched-off user can no longer sign in, and every token they hold stops working at once
(``user_for_token`` refuses tokens of inactive users), so nothing has to be revoked one by one.
Accounts are never deleted: the audit trail names who did what.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jiesu.errors import BadInput, NotFound
from jiesu.people.models import User
from jiesu.people.service import Actor


def list_users(session: Session, *, q: str | None = None) -> list[User]:
    stmt = select(User).options(selectinload(User.unit)).order_by(User.role, User.username)
    if q:
        # autoescape: a search for "%" or "_" finds those characters, not every account.
        stmt = stmt.where(
            User.username.contains(q, autoescape=True)
            | User.display_name.contains(q, autoescape=True)
        )
    return list(session.scalars(stmt))


def set_active(session: Session, username: str, active: bool, *, by: Actor) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    if not active and user.id == by.user_id:
        # The last admin switching themselves off would leave nobody to switch them on.
        raise BadInput("active", "you cannot switch off your own account")
    user.active = active
    if active:
        # Switching an account back on is also how an admin lifts a sign-in lockout at once.
        user.failed_logins, user.locked_until = 0, None
    session.flush()
    return user
