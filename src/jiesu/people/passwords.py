"""Password hashing: argon2id for new hashes, older scrypt hashes still accepted and upgraded.

argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane) costs about 35 ms per check
on one core here: slow and memory-hard for an attacker guessing offline, quick enough for a
sign-in. The parameters are stored in each hash, so raising them later upgrades every account
at its next sign-in (``needs_rehash``) without anyone resetting a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_argon2 = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _argon2.hash(password)


def check_password(password: str, stored: str) -> bool:
    if stored.startswith("$argon2"):
        try:
            return _argon2.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    if stored.startswith("scrypt$"):
        return _check_scrypt(password, stored)
    return False


def needs_rehash(stored: str) -> bool:
    """True for hashes of an older scheme or weaker parameters than today's."""
    return not stored.startswith("$argon2") or _argon2.check_needs_rehash(stored)


def _check_scrypt(password: str, stored: str) -> bool:
    # The scheme of earlier versions: "scrypt$n$r$p$salt$hash".
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))
