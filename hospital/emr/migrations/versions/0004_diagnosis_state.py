"""Diagnosis state shared by a hospital's serving processes (weights, overrides, model).

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
    """Create the shared diagnosis state table."""
    op.create_table(
        "diagnosis_state",
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("part", name=op.f("pk_diagnosis_state")),
    )


def downgrade() -> None:
    """Drop the shared diagnosis state table."""
    op.drop_table("diagnosis_state")
