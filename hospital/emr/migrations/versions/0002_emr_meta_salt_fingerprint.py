"""The emr_meta table: facts about the store, first the national-id salt's fingerprint.

Revision ID: 0002_emr_meta_salt_fingerprint
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_emr_meta_salt_fingerprint"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create emr_meta (key -> value)."""
    op.create_table(
        "emr_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_emr_meta")),
    )


def downgrade() -> None:
    """Drop emr_meta."""
    op.drop_table("emr_meta")
