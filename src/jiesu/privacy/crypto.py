"""Encryption of personal data at rest: AES-256-GCM under a ring of data keys, and a blind
index (HMAC-SHA256) so that a phone number can be looked up without being decrypted.

A ciphertext names the key that made it (``jx1:<key id>:<base64 nonce+ciphertext>``), so
several keys can be live while a rotation runs: the newest key encrypts, every key in the ring
decrypts. The key id is a fingerprint of the key itself, so a key file needs no names that could
be mistyped. Each data key yields two keys (HKDF): one for AES-GCM, one for the blind index, so
the index never reveals anything about the cipher key. The column's name is bound into every
ciphertext as associated data: a name copied into the phone column does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jiesu.errors import ConfigError

PREFIX = "jx1:"
KEY_BYTES = 32
NONCE_BYTES = 12


class UnreadableValue(ConfigError):
    """A stored value that the installation's keys cannot decrypt."""

    code = "unreadable_personal_data"


def new_key() -> str:
    """A fresh random data key, base64 as it is written to JIESU_DATA_KEY or the key file."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _derive(raw: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(raw)


def key_id(raw: bytes) -> str:
    return hashlib.sha256(b"jiesu data key id\n" + raw).hexdigest()[:8]


def parse_key(text: str, *, source: str) -> bytes:
    """A base64 key of 32 bytes; a clear error naming where it came from otherwise."""
    value = text.strip()
    try:
        # Standard or URL-safe alphabet, padding optional: keys get copied through many tools.
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{source}: not base64 (make a key with `jiesu privacy new-key`)"
        ) from None
    if len(raw) != KEY_BYTES:
        raise ConfigError(
            f"{source}: a data key is {KEY_BYTES} random bytes in base64, this one is {len(raw)}"
        )
    return raw


@dataclass(frozen=True)
class DataKey:
    kid: str
    cipher: AESGCM
    index_key: bytes

    @classmethod
    def of(cls, raw: bytes) -> DataKey:
        return cls(
            key_id(raw),
            AESGCM(_derive(raw, b"jiesu/personal-data/aes-gcm/v1")),
            _derive(raw, b"jiesu/personal-data/blind-index/v1"),
        )


def normalise_phone(phone: str) -> str:
    """The digits that identify a caller: "+86 138-0013-8000" and "13800138000" are one."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    for country in ("0086", "86"):
        rest = digits.removeprefix(country)
        if rest != digits and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits


class Keyring:
    """The live data keys, oldest first: the last one encrypts, all of them decrypt."""

    def __init__(self, raw_keys: Sequence[bytes]):
        if not raw_keys:
            raise ConfigError("no data key: set JIESU_DATA_KEY or JIESU_DATA_KEY_FILE")
        keys: dict[str, DataKey] = {}
        for raw in raw_keys:
            key = DataKey.of(raw)
            keys.pop(key.kid, None)  # listed twice: its later place counts
            keys[key.kid] = key
        self._keys = keys
        self.newest = list(keys.values())[-1]

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def encrypt(self, plain: str, *, column: str) -> str:
        key = self.newest
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.cipher.encrypt(nonce, plain.encode(), column.encode())
        return f"{PREFIX}{key.kid}:{base64.b64encode(nonce + sealed).decode()}"

    @staticmethod
    def kid_of(token: str) -> str | None:
        """The key a stored value is sealed under (None: not an encrypted value)."""
        if not token.startswith(PREFIX):
            return None
        return token[len(PREFIX) :].partition(":")[0]

    def decrypt(self, token: str, *, column: str) -> str:
        if not token.startswith(PREFIX):
            raise UnreadableValue(
                f"{column} holds a value that is not encrypted; run `jiesu db upgrade`"
            )
        kid, _, body = token[len(PREFIX) :].partition(":")
        key = self._keys.get(kid)
        if key is None:
            raise UnreadableValue(
                f"{column} is encrypted under data key {kid}, which is not among the keys "
                f"configured ({', '.join(self._keys)}); add that key back to the key file "
                "(or JIESU_DATA_KEY) until `jiesu privacy rotate-key` has finished"
            )
        try:
            blob = base64.b64decode(body, validate=True)
            plain = key.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], column.encode())
        except (binascii.Error, ValueError, InvalidTag):
            raise UnreadableValue(
                f"{column}: a value under data key {kid} does not decrypt (damaged, or moved "
                "from another column)"
            ) from None
        return plain.decode()

    def blind_index(self, phone: str) -> str | None:
        """The newest key's index of a phone number (None when it has no digits)."""
        return _index(self.newest, phone)

    def index_key(self, kid: str) -> bytes:
        """The blind-index key of one live key: for hashes that must stay comparable while
        that key lives, whatever keys are added after it (a consultation's participants)."""
        key = self._keys.get(kid)
        if key is None:
            raise UnreadableValue(f"data key {kid} is not among the keys configured")
        return key.index_key

    def blind_indexes(self, phone: str) -> list[str]:
        """The index under every live key: what a lookup compares with during a rotation."""
        found = [_index(k, phone) for k in self._keys.values()]
        return [h for h in found if h is not None]


def _index(key: DataKey, phone: str) -> str | None:
    digits = normalise_phone(phone)
    if not digits:
        return None
    return hmac.new(key.index_key, digits.encode(), hashlib.sha256).hexdigest()
