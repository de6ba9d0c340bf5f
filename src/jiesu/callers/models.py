"""Flags on callers: a vulnerable caller (older person living alone, disabled…) noted by an
operator, with the caller's consent and a reason, so that their call-backs come first.

A flag hangs on the request during which it was raised, not on a phone number: the caller is
found through that request's contact (its blind index moves with key rotation), and the flag
lives exactly as long as that contact — a purge that removes the contact removes the flag. The
reason is personal data (health, living alone): it is encrypted at rest like a contact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import flag_modified

from jiesu.db.base import Base
from jiesu.privacy.columns import Encrypted
from jiesu.privacy.keys import active_keyring
from jiesu.workflow.models import ServiceRequest

FLAG_KINDS: dict[str, tuple[str, str]] = {
    "elderly_alone": ("独居老人", "older person living alone"),
    "disabled": ("残疾人", "disabled person"),
    "serious_illness": ("重病", "seriously ill"),
    "other_vulnerable": ("其他困难群体", "other vulnerable caller"),
}
SEALED = ("reason", "removed_reason")


class CallerFlag(Base):
    __tablename__ = "caller_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Encrypted("caller_flags.reason"), default="")
    # The caller agreed to be noted (sensitive personal information needs separate consent).
    consent: Mapped[bool] = mapped_column(default=False)
    flagged_at: Mapped[datetime]
    flagged_by: Mapped[str] = mapped_column(String(100))
    flagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(100))
    removed_reason: Mapped[str] = mapped_column(
        Encrypted("caller_flags.removed_reason"), default=""
    )
    # The key its texts are under: what `privacy rotate-key` replaces.
    key_id: Mapped[str] = mapped_column(String(16), default="", index=True)

    request: Mapped[ServiceRequest] = relationship()


def _seal_new(_mapper: Any, _connection: Any, flag: Any) -> None:
    flag.key_id = active_keyring().newest.kid


def _seal_changed(_mapper: Any, _connection: Any, flag: Any) -> None:
    loaded = [f for f in SEALED if f in flag.__dict__]
    for name in loaded:
        flag_modified(flag, name)
    if len(loaded) == len(SEALED):
        flag.key_id = active_keyring().newest.kid


event.listen(CallerFlag, "before_insert", _seal_new)
event.listen(CallerFlag, "before_update", _seal_changed)
