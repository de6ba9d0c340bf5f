"""Masking of personal data for roles that do not need it in full."""

from __future__ import annotations

# Roles that call citizens back or verify their identity see contacts in full.
CONTACT_ROLES = frozenset({"operator", "dispatcher", "supervisor", "admin"})


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
