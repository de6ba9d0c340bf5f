"""Masking of personal data for roles that do not need it in full."""

from __future__ import annotations

from typing import Any

from jiesu.privacy.pii import mask_text

# Roles that call citizens back or verify their identity see contacts in full.
CONTACT_ROLES = frozenset({"operator", "dispatcher", "supervisor", "admin"})
# Roles that study requests rather than handle them: personal data said inside the words
# (phones, ID numbers, plates…) is masked for them too, not only the contact fields.
TEXT_MASKED_ROLES = frozenset({"analyst"})


def text_for(role: str, text: str) -> str:
    return mask_text(text) if role in TEXT_MASKED_ROLES and text else text


def payload_for(role: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An event's payload with every text in it masked for roles that get masked words."""
    if role not in TEXT_MASKED_ROLES:
        return payload
    return {k: mask_text(v) if isinstance(v, str) else v for k, v in payload.items()}


# Events whose reason is about the caller's situation (health, living alone): only those who
# call people back read it; others see that a note was made, not what it says.
PROFILE_EVENTS = frozenset({"caller_flagged", "caller_unflagged"})


def event_payload_for(role: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind in PROFILE_EVENTS and role not in CONTACT_ROLES and payload.get("reason"):
        payload = {**payload, "reason": "***"}
    return payload_for(role, payload)


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 7:
        return "*" * len(digits)
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    if not domain:
        return mask_name(email)
    return (local[:1] + "***@" + domain) if local else "***@" + domain
