"""surge mode: declared events, their master cases per area, the callers attached;
caller profiles: flags on vulnerable callers (their reasons encrypted like contacts)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:01:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import jiesu.db.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "surge_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("starts_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("ends_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("response_limit", sa.String(length=16), nullable=True),
        sa.Column("handling_limit", sa.String(length=16), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("auto_dispatch", sa.Boolean(), nullable=False),
        sa.Column("declared_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("declared_by", sa.String(length=100), nullable=False),
        sa.Column("declared_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", jiesu.db.base.UTCDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("end_note", sa.Text(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("report_html", sa.Text(), nullable=True),
        sa.Column("updated_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["declared_by_id"], ["users.id"], name=op.f("fk_surge_events_declared_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surge_events")),
    )
    with op.batch_alter_table("surge_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surge_events_kind"), ["kind"], unique=False)
        batch_op.create_index(
            "ix_surge_events_span", ["ended_at", "starts_at", "ends_at"], unique=False
        )

    op.create_table(
        "surge_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_surge_cases_area_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["surge_events.id"], name=op.f("fk_surge_cases_event_id_surge_events")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_surge_cases_request_id_service_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surge_cases")),
        sa.UniqueConstraint("event_id", "area_id", name=op.f("uq_surge_cases_event_id")),
        sa.UniqueConstraint("request_id", name=op.f("uq_surge_cases_request_id")),
    )
    with op.batch_alter_table("surge_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surge_cases_event_id"), ["event_id"], unique=False)

    op.create_table(
        "surge_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("attached_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("attached_by", sa.String(length=100), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["surge_cases.id"], name=op.f("fk_surge_attachments_case_id_surge_cases")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["surge_events.id"],
            name=op.f("fk_surge_attachments_event_id_surge_events"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_surge_attachments_request_id_service_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surge_attachments")),
        sa.UniqueConstraint("request_id", name=op.f("uq_surge_attachments_request_id")),
    )
    with op.batch_alter_table("surge_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_surge_attachments_attached_at"), ["attached_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_surge_attachments_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_surge_attachments_event_id"), ["event_id"], unique=False
        )

    op.create_table(
        "caller_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("flagged_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("flagged_by", sa.String(length=100), nullable=False),
        sa.Column("flagged_by_id", sa.Integer(), nullable=True),
        sa.Column("removed_at", jiesu.db.base.UTCDateTime(), nullable=True),
        sa.Column("removed_by", sa.String(length=100), nullable=True),
        sa.Column("removed_reason", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["flagged_by_id"], ["users.id"], name=op.f("fk_caller_flags_flagged_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_caller_flags_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caller_flags")),
    )
    with op.batch_alter_table("caller_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_caller_flags_key_id"), ["key_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_caller_flags_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("caller_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_caller_flags_request_id"))
        batch_op.drop_index(batch_op.f("ix_caller_flags_key_id"))
    op.drop_table("caller_flags")
    with op.batch_alter_table("surge_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_surge_attachments_event_id"))
        batch_op.drop_index(batch_op.f("ix_surge_attachments_case_id"))
        batch_op.drop_index(batch_op.f("ix_surge_attachments_attached_at"))

    op.drop_table("surge_attachments")
    with op.batch_alter_table("surge_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_surge_cases_event_id"))

    op.drop_table("surge_cases")
    with op.batch_alter_table("surge_events", schema=None) as batch_op:
        batch_op.drop_index("ix_surge_events_span")
        batch_op.drop_index(batch_op.f("ix_surge_events_kind"))

    op.drop_table("surge_events")
