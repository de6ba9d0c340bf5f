"""Keeping a contact row consistent with the keys: whoever writes it, every personal field is
encrypted under the newest key, ``key_id`` says which key a rotation still has to replace, and
``phone_hash`` is the blind index that lookups by phone compare with."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import flag_modified

from jiesu.privacy.keys import active_keyring

PERSONAL_FIELDS = ("name", "phone", "email")


def seal_new(_mapper: Any, _connection: Any, contact: Any) -> None:
    """Mapper hook before an INSERT of a contact."""
    ring = active_keyring()
    contact.key_id = ring.newest.kid
    contact.phone_hash = ring.blind_index(contact.phone or "")


def seal_changed(_mapper: Any, _connection: Any, contact: Any) -> None:
    """Mapper hook before an UPDATE: write every loaded personal field again, so that no row
    is left half under an old key; ``key_id`` moves to the newest key only when all were."""
    ring = active_keyring()
    loaded = [f for f in PERSONAL_FIELDS if f in contact.__dict__]
    for field in loaded:
        flag_modified(contact, field)
    if "phone" in contact.__dict__:
        contact.phone_hash = ring.blind_index(contact.phone or "")
    if len(loaded) == len(PERSONAL_FIELDS):
        contact.key_id = ring.newest.kid


def phone_hashes(phone: str) -> list[str]:
    """What ``Contact.phone_hash`` holds for this number under each live key (one normally,
    two while a rotation runs): ``Contact.phone_hash.in_(phone_hashes(p))`` finds the caller."""
    return active_keyring().blind_indexes(phone)


def shown_fields(contact: Any) -> tuple[str, ...]:
    """The personal fields a full view of this contact reveals (the empty ones reveal nothing)."""
    return tuple(f for f in PERSONAL_FIELDS if getattr(contact, f))
