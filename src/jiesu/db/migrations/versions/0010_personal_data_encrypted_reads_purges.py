"""personal data encrypted at rest, reads of it recorded, purges and redactions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:20:00.000000

Besides the schema, this encrypts every contact already stored (decision 0009): the data key
comes from JIESU_DATA_KEY or the key file, which is created outside production if missing.
An empty contacts table needs no key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import jiesu.db.base
from jiesu.privacy.crypto import Keyring

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = ("name", "phone", "email")
OLD_LENGTHS = {"name": 100, "phone": 32, "email": 200}
BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "privacy_purges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", jiesu.db.base.UTCDateTime(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("older_than", sa.String(length=16), nullable=False),
        sa.Column("cutoff", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("texts", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("interrupted", sa.Boolean(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_purges")),
    )
    op.create_table(
        "personal_data_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_personal_data_reads_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_personal_data_reads_request_id_service_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_reads")),
        sa.UniqueConstraint("seq", name=op.f("uq_personal_data_reads_seq")),
    )
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personal_data_reads_actor_id"), ["actor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_personal_data_reads_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_personal_data_reads_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "event_redactions",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("purge_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_redactions_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["purge_id"],
            ["privacy_purges.id"],
            name=op.f("fk_event_redactions_purge_id_privacy_purges"),
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_redactions")),
    )
    with op.batch_alter_table("event_redactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_redactions_purge_id"), ["purge_id"], unique=False
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("key_id", sa.String(length=16), server_default="", nullable=False)
        )
        # Ciphertexts are longer than the values: AES-GCM nonce and tag, base64, key id.
        for field in FIELDS:
            batch_op.alter_column(
                field,
                existing_type=sa.String(length=OLD_LENGTHS[field]),
                type_=sa.Text(),
                existing_nullable=False,
            )
        batch_op.create_index(batch_op.f("ix_contacts_key_id"), ["key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_phone_hash"), ["phone_hash"], unique=False)

    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", jiesu.db.base.UTCDateTime(), nullable=True))

    _encrypt_existing()


def _keyring() -> Keyring:
    from jiesu.config import Settings
    from jiesu.privacy.keys import keyring_for

    return keyring_for(Settings())


def _encrypt_existing() -> None:
    """Every stored contact encrypted under the newest key, with its blind index."""
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM contacts WHERE key_id = ''")).scalar() == 0:
        return
    ring = _keyring()
    update = sa.text(
        "UPDATE contacts SET name = :name, phone = :phone, email = :email, "
        "phone_hash = :phone_hash, key_id = :key_id WHERE id = :id"
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, name, phone, email FROM contacts WHERE key_id = '' AND id > :last "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).fetchall()
        if not rows:
            return
        conn.execute(
            update,
            [
                {
                    "id": rid,
                    **{
                        f: ring.encrypt(v, column=f"contacts.{f}") if v else (v or "")
                        for f, v in zip(FIELDS, values, strict=True)
                    },
                    "phone_hash": ring.blind_index(values[1] or ""),
                    "key_id": ring.newest.kid,
                }
                for rid, *values in rows
            ],
        )
        last = rows[-1][0]


def _decrypt_existing() -> None:
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM contacts")).scalar() == 0:
        return
    ring = _keyring()
    rows = conn.execute(sa.text("SELECT id, name, phone, email FROM contacts")).fetchall()
    conn.execute(
        sa.text("UPDATE contacts SET name = :name, phone = :phone, email = :email WHERE id = :id"),
        [
            {
                "id": rid,
                **{
                    f: ring.decrypt(v, column=f"contacts.{f}") if v else (v or "")
                    for f, v in zip(FIELDS, values, strict=True)
                },
            }
            for rid, *values in rows
        ],
    )


def downgrade() -> None:
    _decrypt_existing()
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_column("purged_at")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_phone_hash"))
        batch_op.drop_index(batch_op.f("ix_contacts_key_id"))
        for field in FIELDS:
            batch_op.alter_column(
                field,
                existing_type=sa.Text(),
                type_=sa.String(length=OLD_LENGTHS[field]),
                existing_nullable=False,
            )
        batch_op.drop_column("key_id")
        batch_op.drop_column("phone_hash")

    with op.batch_alter_table("event_redactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_redactions_purge_id"))
    op.drop_table("event_redactions")
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_data_reads_request_id"))
        batch_op.drop_index(batch_op.f("ix_personal_data_reads_at"))
        batch_op.drop_index(batch_op.f("ix_personal_data_reads_actor_id"))
    op.drop_table("personal_data_reads")
    op.drop_table("privacy_purges")
