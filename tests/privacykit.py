"""What the personal-data tests share: a caller, requests that carry one, the stored rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from jiesu.privacy.crypto import Keyring, parse_key
from jiesu.workflow.models import ServiceRequest

from factories import World, make_request

CALLER = {"name": "王建国", "phone": "13800138000", "email": "wjg@example.com"}


def with_caller(
    session: Session,
    world: World,
    now: datetime,
    contact: dict[str, str] | None = None,
    **fields: Any,
) -> ServiceRequest:
    """A request whose caller left a contact (CALLER unless another is given)."""
    return make_request(session, world, now, contact=dict(CALLER if contact is None else contact),
                        **fields)  # fmt: skip


def raw_contacts(session: Session) -> list[tuple[Any, ...]]:
    """The contacts rows as stored, past the column types: (request_id, name, phone, email,
    phone_hash, key_id)."""
    return [
        tuple(row)
        for row in session.execute(
            text(
                "SELECT request_id, name, phone, email, phone_hash, key_id FROM contacts "
                "ORDER BY id"
            )
        )
    ]


def ring(*keys: str) -> Keyring:
    """A key ring of base64 keys (as new_key() makes them), oldest first."""
    return Keyring([parse_key(k, source="test key") for k in keys])
