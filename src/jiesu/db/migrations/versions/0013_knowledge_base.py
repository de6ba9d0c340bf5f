"""knowledge base: articles and their versions, synonyms, consultations, self-service feedback

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:58:43.540410
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import jiesu.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("updated_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_synonyms")),
    )
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_format", sa.String(length=16), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("plain", sa.Text(), nullable=False),
        sa.Column("owner_unit_id", sa.Integer(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("created_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("helpful", sa.Integer(), nullable=False),
        sa.Column("not_helpful", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_unit_id"],
            ["handling_units.id"],
            name=op.f("fk_kb_articles_owner_unit_id_handling_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_articles_owner_unit_id"), ["owner_unit_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_articles_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_articles_updated_at"), ["updated_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_kb_articles_valid_until"), ["valid_until"], unique=False
        )

    op.create_table(
        "kb_consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.Column("area_code", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("article_version", sa.Integer(), nullable=True),
        sa.Column("past_ticket", sa.String(length=32), nullable=True),
        sa.Column("top_match", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_consultations_article_id_kb_articles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["users.id"], name=op.f("fk_kb_consultations_operator_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_consultations")),
    )
    with op.batch_alter_table("kb_consultations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_consultations_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_consultations_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_consultations_outcome"), ["outcome"], unique=False)

    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_format", sa.String(length=16), nullable=False),
        sa.Column("owner_unit_id", sa.Integer(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("edited_at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("edited_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_versions_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_unit_id"],
            ["handling_units.id"],
            name=op.f("fk_kb_article_versions_owner_unit_id_handling_units"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint(
            "article_id", "version", name=op.f("uq_kb_article_versions_article_id")
        ),
    )
    with op.batch_alter_table("kb_article_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_article_versions_article_id"), ["article_id"], unique=False
        )

    op.create_table(
        "kb_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("at", jiesu.db.base.UTCDateTime(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("query", sa.String(length=500), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_feedback_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_feedback")),
    )
    with op.batch_alter_table("kb_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_feedback_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_feedback_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_feedback_at"))
        batch_op.drop_index(batch_op.f("ix_kb_feedback_article_id"))

    op.drop_table("kb_feedback")
    with op.batch_alter_table("kb_article_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_article_versions_article_id"))

    op.drop_table("kb_article_versions")
    with op.batch_alter_table("kb_consultations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_consultations_outcome"))
        batch_op.drop_index(batch_op.f("ix_kb_consultations_at"))
        batch_op.drop_index(batch_op.f("ix_kb_consultations_article_id"))

    op.drop_table("kb_consultations")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_articles_valid_until"))
        batch_op.drop_index(batch_op.f("ix_kb_articles_updated_at"))
        batch_op.drop_index(batch_op.f("ix_kb_articles_status"))
        batch_op.drop_index(batch_op.f("ix_kb_articles_owner_unit_id"))

    op.drop_table("kb_articles")
    op.drop_table("kb_synonyms")
