"""second-factor secrets encrypted at rest

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:20:00.000000

The TOTP secrets (confirmed and pending) are sealed under the data key like callers' contacts
(decision 0009); the secrets already stored are encrypted here. No enrolled user, no key needed.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from jiesu.privacy.crypto import PREFIX, Keyring

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = ("totp_secret", "totp_pending")


def _keyring() -> Keyring:
    from jiesu.config import Settings
    from jiesu.privacy.keys import keyring_for

    return keyring_for(Settings())


Change = Callable[[Keyring, str, str], str]


def _seal(ring: Keyring, value: str, column: str) -> str:
    return value if value.startswith(PREFIX) else ring.encrypt(value, column=column)


def _open(ring: Keyring, value: str, column: str) -> str:
    return ring.decrypt(value, column=column) if value.startswith(PREFIX) else value


def _rewrite(change: Change) -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, totp_secret, totp_pending FROM users "
            "WHERE totp_secret IS NOT NULL OR totp_pending IS NOT NULL"
        )
    ).fetchall()
    if not rows:
        return
    ring = _keyring()
    values = [
        {
            "id": uid,
            **{
                f: change(ring, v, f"users.{f}") if v else v
                for f, v in zip(FIELDS, (secret, pending), strict=True)
            },
        }
        for uid, secret, pending in rows
    ]
    update = "UPDATE users SET totp_secret = :totp_secret, totp_pending = :totp_pending"
    conn.execute(sa.text(update + " WHERE id = :id"), values)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        # Ciphertexts are longer than the 32-character base32 secrets.
        for field in FIELDS:
            batch_op.alter_column(
                field, existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=True
            )
    _rewrite(_seal)


def downgrade() -> None:
    _rewrite(_open)
    with op.batch_alter_table("users", schema=None) as batch_op:
        for field in FIELDS:
            batch_op.alter_column(
                field, existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=True
            )
