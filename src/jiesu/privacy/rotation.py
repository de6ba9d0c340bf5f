"""Key rotation: every contact (and caller flag) re-encrypted under the newest key, a batch
at a time.

Which rows are left is in the rows themselves (``contacts.key_id``), so a rotation needs no
state of its own: stopped halfway, it is run again and carries on; run twice, the second finds
nothing. Rows keep decrypting under their old key until they are rewritten, so the old key
stays in the key file until the rotation reports none left.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.callers.models import SEALED, CallerFlag
from jiesu.privacy.contacts import PERSONAL_FIELDS
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


def left_to_rotate(session: Session) -> int:
    newest = active_keyring().newest.kid
    return sum(
        session.scalar(select(func.count()).select_from(m).where(m.key_id != newest)) or 0
        for m in (Contact, CallerFlag)
    )


def rotate_batch(session: Session, *, limit: int = BATCH) -> int:
    """Re-encrypt up to ``limit`` contacts not yet under the newest key; how many were."""
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
    return len(rows) + len(flags)
