"""Public ticket numbers: date in city time plus random characters.

Tickets appear on public tracking pages, so they must not be guessable from one another
(a sequential number would let anyone walk through every citizen's request).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

# Crockford base32 without I, L, O, U: easy to read aloud on the phone.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ticket(received_at: datetime, tz: ZoneInfo, *, length: int = 6) -> str:
    day = received_at.astimezone(tz).strftime("%Y%m%d")
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return f"{day}-{suffix}"


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
