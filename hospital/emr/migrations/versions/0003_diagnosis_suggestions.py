"""Diagnosis suggestions in the hospital's database (feedback from any process, after restarts).

Revision ID: 0003_diagnosis_suggestions
Revises: 0002_emr_meta_salt_fingerprint
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_diagnosis_suggestions"
down_revision = "0002_emr_meta_salt_fingerprint"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the suggestions table."""
    op.create_table(
        "diagnosis_suggestions",
        sa.Column("suggestion_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pending", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("answered_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["emr_cases.case_id"],
            name=op.f("fk_diagnosis_suggestions_case_id_emr_cases"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("suggestion_id", name=op.f("pk_diagnosis_suggestions")),
    )
    op.create_index(
        op.f("ix_diagnosis_suggestions_answered_seq"),
        "diagnosis_suggestions",
        ["answered_seq"],
        unique=True,
    )


def downgrade() -> None:
    """Drop the suggestions table."""
    op.drop_index(op.f("ix_diagnosis_suggestions_answered_seq"), table_name="diagnosis_suggestions")
    op.drop_table("diagnosis_suggestions")
