"""Shared diagnosis state (weights, overrides, model); suggestions indexed by age.

Revision ID: 0004_diagnosis_state
Revises: 0003_diagnosis_suggestions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_diagnosis_state"
down_revision = "0003_diagnosis_suggestions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the shared diagnosis state table and index the suggestions by age."""
    op.create_table(
        "diagnosis_state",
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("part", name=op.f("pk_diagnosis_state")),
    )
    op.create_index(
        op.f("ix_diagnosis_suggestions_created_at"), "diagnosis_suggestions", ["created_at"]
    )


def downgrade() -> None:
    """Drop the shared diagnosis state table and the suggestions' age index."""
    op.drop_index(op.f("ix_diagnosis_suggestions_created_at"), table_name="diagnosis_suggestions")
    op.drop_table("diagnosis_state")
