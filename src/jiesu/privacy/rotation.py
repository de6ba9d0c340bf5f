"""Key rotation: every contact, caller flag and second-factor secret re-encrypted under the
newest key, a batch at a time.

Which rows are left is in the rows themselves (``contacts.key_id``), so a rotation needs no
state of its own: stopped halfway, it is run again and carries on; run twice, the second finds
nothing. Rows keep decrypting under their old key until they are rewritten, so the old key
stays in the key file until the rotation reports none left. Users have no key column: their
secrets name their key inside the value, and there are few enough of them to read all.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Text, func, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from jiesu.callers.models import SEALED, CallerFlag
from jiesu.people.models import User
from jiesu.privacy.contacts import PERSONAL_FIELDS
from jiesu.privacy.crypto import Keyring
from jiesu.privacy.keys import active_keyring
from jiesu.workflow.models import Contact

BATCH = 500


def rows_by_key(session: Session) -> Counter[str]:
    """How many contacts each key id still holds."""
    out: Counter[str] = Counter()
    for model in (Contact, CallerFlag):
        for kid, n in session.execute(select(model.key_id, func.count()).group_by(model.key_id)):
            out[kid or "?"] += n
    return out


SECRETS = ("totp_secret", "totp_pending")


def _secret_keys(session: Session) -> dict[int, set[str]]:
    """Each enrolled user's id and the keys their stored secrets are under, read as stored
    (the column type would decrypt them)."""
    raw = [type_coerce(getattr(User, f), Text) for f in SECRETS]
    rows = session.execute(
        select(User.id, *raw).where(or_(*(column.is_not(None) for column in raw)))
    )
    return {uid: {Keyring.kid_of(v) or "?" for v in values if v} for uid, *values in rows}


def secrets_by_key(session: Session) -> Counter[str]:
    """How many users' second-factor secrets each key id still holds."""
    out: Counter[str] = Counter()
    for kids in _secret_keys(session).values():
        out.update(kids)
    return out


def left_to_rotate(session: Session) -> int:
    newest = active_keyring().newest.kid
    rows = sum(
        session.scalar(select(func.count()).select_from(m).where(m.key_id != newest)) or 0
        for m in (Contact, CallerFlag)
    )
    users = sum(1 for kids in _secret_keys(session).values() if kids != {newest})
    return rows + users


def rotate_secrets(session: Session) -> int:
    """Re-encrypt the second-factor secrets not under the newest key; how many users had any."""
    newest = active_keyring().newest.kid
    stale = [uid for uid, kids in _secret_keys(session).items() if kids != {newest}]
    for user in session.scalars(select(User).where(User.id.in_(stale))):
        for field in SECRETS:
            if getattr(user, field):  # read: decrypted under its old key
                flag_modified(user, field)  # written again: under the newest
    session.flush()
    return len(stale)


def rotate_batch(session: Session, *, limit: int = BATCH) -> int:
    """Re-encrypt up to ``limit`` contacts not yet under the newest key (and, first, every
    second-factor secret); how many rows were."""
    secrets = rotate_secrets(session)
    newest = active_keyring().newest.kid
    rows = session.scalars(
        select(Contact).where(Contact.key_id != newest).order_by(Contact.id).limit(limit)
    ).all()
    for contact in rows:
        # Reading decrypts under the row's old key; the update hook writes every field again
        # under the newest key and moves key_id and the blind index with it.
        for field in PERSONAL_FIELDS:
            getattr(contact, field)
        contact.key_id = newest
    flags = session.scalars(
        select(CallerFlag)
        .where(CallerFlag.key_id != newest)
        .order_by(CallerFlag.id)
        .limit(max(0, limit - len(rows)))
    ).all()
    for flag in flags:
        for field in SEALED:
            getattr(flag, field)
        flag.key_id = newest
    session.flush()
    return secrets + len(rows) + len(flags)
