"""Where the data keys come from, and the ring this process encrypts with.

``JIESU_DATA_KEY`` (one base64 key, or several separated by commas, oldest first) wins;
otherwise the key file (``JIESU_DATA_KEY_FILE``, default ``<data dir>/keys/data.key``): one
base64 key a line, oldest first, ``#`` comments. Outside production a missing key file is
created (mode 0600) on first need, so a fresh machine works; in production the settings refuse
to load without a key (config.py).

Column types have no session to ask, so the ring is the process's: the server and every CLI
command point it at their settings (``use_settings``); a key added to the file is picked up
within a second, so a rotation can start without restarting the servers.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from jiesu.config import Settings
from jiesu.errors import ConfigError
from jiesu.privacy.crypto import Keyring, key_id, new_key, parse_key

HEADER = (
    "# Jiesu data keys: one base64 key a line, oldest first. The last key encrypts, every key\n"
    "# decrypts. Keep a copy of this file with every database backup made while a key is in it.\n"
)
RECHECK_SECONDS = 1.0


def key_file(settings: Settings) -> Path:
    return settings.data_key_file or settings.data_dir / "keys" / "data.key"


def read_key_file(path: Path) -> list[bytes]:
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path}: other users may read the data keys; run `chmod 600 {path}`")
    keys = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            keys.append(parse_key(text, source=f"{path} line {n}"))
    if not keys:
        raise ConfigError(f"{path} holds no data key; add one with `jiesu privacy new-key`")
    return keys


def _write_new(path: Path, body: str) -> bool:
    """Create the file with only its owner allowed in; False if it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(body)
    return True


def add_key(path: Path) -> str:
    """Append a fresh key to the key file (creating it); returns the new key's id. Until the
    rotation has run, rows under the older keys stay readable: they stay in the file."""
    key = new_key()
    if not _write_new(path, HEADER + key + "\n"):
        read_key_file(path)  # refuse to append to a file that is unreadable or too open
        with path.open("a", encoding="utf-8") as f:
            f.write(key + "\n")
    return key_id(parse_key(key, source="new key"))


def remove_keys(path: Path, keep: str) -> list[str]:
    """Drop every key but ``keep`` (a key id) from the key file; the removed ids."""
    removed, lines = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        kid = key_id(parse_key(text, source=f"{path} line {n}")) if text else None
        if kid is not None and kid != keep:
            removed.append(kid)
        else:
            lines.append(line)
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    _write_new(tmp, "\n".join(lines) + "\n")
    tmp.replace(path)  # atomic: a reader sees the old file or the new one, never half
    return removed


def ensure_data_key(settings: Settings) -> Path | None:
    """Outside production, create the key file when no key is configured; the file if made."""
    path = key_file(settings)
    if settings.data_key or settings.env == "production" or path.exists():
        return None
    return path if _write_new(path, HEADER + new_key() + "\n") else None


def raw_keys(settings: Settings) -> list[bytes]:
    if settings.data_key:
        parts = [p for p in settings.data_key.replace(",", " ").split() if p]
        return [
            parse_key(p, source=f"JIESU_DATA_KEY (key {n})") for n, p in enumerate(parts, start=1)
        ]
    path = key_file(settings)
    ensure_data_key(settings)
    if not path.exists():
        raise ConfigError(
            f"no data key: set JIESU_DATA_KEY or create {path} with "
            f"`jiesu privacy new-key --file {path}`"
        )
    return read_key_file(path)


def keyring_for(settings: Settings) -> Keyring:
    return Keyring(raw_keys(settings))


@dataclass
class _Active:
    settings: Settings | None = None
    keyring: Keyring | None = None
    pinned: bool = False  # set with use_keyring: never reloaded
    stamp: tuple[int, int] | None = None  # the key file's (mtime, size) the ring was read from
    checked: float = 0.0


_active = _Active()
_lock = threading.Lock()


def use_settings(settings: Settings) -> None:
    """Encrypt and decrypt with these settings' keys from now on (server start, CLI)."""
    with _lock:
        _active.settings, _active.keyring, _active.pinned, _active.stamp = (
            settings,
            None,
            False,
            None,
        )


def use_keyring(keyring: Keyring | None) -> None:
    """Use exactly this ring (tools and tests); None goes back to the settings' keys."""
    with _lock:
        _active.keyring, _active.pinned, _active.stamp = keyring, keyring is not None, None


def _stamp(settings: Settings) -> tuple[int, int] | None:
    if settings.data_key:
        return None
    try:
        st = key_file(settings).stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def active_keyring(max_age: float = RECHECK_SECONDS) -> Keyring:
    """The ring to use now; the key file is looked at again once ``max_age`` seconds passed."""
    ring, now = _active.keyring, time.monotonic()
    if ring is not None and (_active.pinned or now - _active.checked < max_age):
        return ring
    with _lock:
        if _active.pinned and _active.keyring is not None:
            return _active.keyring
        settings = _active.settings or Settings()
        stamp = _stamp(settings)
        if _active.keyring is None or stamp != _active.stamp:
            _active.keyring = keyring_for(settings)
            _active.stamp = _stamp(settings)  # after a first-use creation of the file
        _active.settings, _active.checked = settings, now
        return _active.keyring
