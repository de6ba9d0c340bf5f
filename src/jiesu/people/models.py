"""Tables of people: users with one role each, and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiesu.city.models import Area, HandlingUnit
from jiesu.db.base import Base
from jiesu.privacy.columns import Encrypted

ROLES = ("citizen", "operator", "dispatcher", "handler", "supervisor", "analyst", "admin")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    # A unit handler acts for exactly one handling unit.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Sign-in throttling: consecutive wrong passwords, and until when the account refuses any.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    # Second factor (RFC 6238 TOTP): the shared secret once enrolment is confirmed, and the last
    # time step accepted, so a code seen over someone's shoulder cannot be used a second time.
    # The secrets are encrypted under the data keys like callers' contacts (decision 0009): a
    # copy of the database alone does not let anyone make codes.
    totp_secret: Mapped[str | None] = mapped_column(Encrypted("users.totp_secret"))
    totp_pending: Mapped[str | None] = mapped_column(Encrypted("users.totp_pending"))
    totp_last_step: Mapped[int | None]
    # A district supervisor (or analyst) sees only requests in this area's subtree; none = city.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)

    unit: Mapped[HandlingUnit | None] = relationship()
    area: Mapped[Area | None] = relationship()


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak reveals no usable token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)
    # Space-separated scopes ("requests:read requests:write"); none = all the user's role allows
    # (sign-in tokens). A token for a script gets only what the script needs.
    scopes: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()
