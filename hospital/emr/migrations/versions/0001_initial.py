"""Initial EMR tables: patients, cases, symptoms, labs, complications, treatments.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the EMR tables."""
    op.create_table(
        "emr_patients",
        sa.Column("pseudonym", sa.Text(), nullable=False),
        sa.Column("national_token", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_emr_patients")),
    )
    op.create_index(
        op.f("ix_emr_patients_national_token"), "emr_patients", ["national_token"], unique=False
    )
    op.create_table(
        "emr_cases",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("disease_icd10", sa.Text(), nullable=True),
        sa.Column("disease_name", sa.Text(), nullable=True),
        sa.Column("disease_snomed", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["emr_patients.pseudonym"],
            name=op.f("fk_emr_cases_patient_id_emr_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_emr_cases")),
    )
    op.create_index(
        op.f("ix_emr_cases_disease_icd10"), "emr_cases", ["disease_icd10"], unique=False
    )
    op.create_index(op.f("ix_emr_cases_origin"), "emr_cases", ["origin"], unique=False)
    op.create_index(op.f("ix_emr_cases_patient_id"), "emr_cases", ["patient_id"], unique=False)
    op.create_index("ix_emr_cases_source_ref", "emr_cases", ["source", "source_ref"], unique=False)
    op.create_table(
        "emr_complications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["emr_cases.case_id"],
            name=op.f("fk_emr_complications_case_id_emr_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emr_complications")),
    )
    op.create_index(
        op.f("ix_emr_complications_case_id"), "emr_complications", ["case_id"], unique=False
    )
    op.create_table(
        "emr_labs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("normal_low", sa.Float(), nullable=True),
        sa.Column("normal_high", sa.Float(), nullable=True),
        sa.Column("loinc", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["emr_cases.case_id"],
            name=op.f("fk_emr_labs_case_id_emr_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emr_labs")),
    )
    op.create_index(op.f("ix_emr_labs_case_id"), "emr_labs", ["case_id"], unique=False)
    op.create_table(
        "emr_symptoms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("duration_days", sa.Float(), nullable=True),
        sa.Column("onset", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["emr_cases.case_id"],
            name=op.f("fk_emr_symptoms_case_id_emr_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emr_symptoms")),
    )
    op.create_index(op.f("ix_emr_symptoms_case_id"), "emr_symptoms", ["case_id"], unique=False)
    op.create_table(
        "emr_treatments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("drug", sa.Text(), nullable=False),
        sa.Column("route", sa.String(length=20), nullable=False),
        sa.Column("dose", sa.Float(), nullable=True),
        sa.Column("dose_unit", sa.Text(), nullable=False),
        sa.Column("frequency_per_day", sa.Float(), nullable=True),
        sa.Column("duration_days", sa.Float(), nullable=True),
        sa.Column("rxnorm", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["emr_cases.case_id"],
            name=op.f("fk_emr_treatments_case_id_emr_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emr_treatments")),
    )
    op.create_index(op.f("ix_emr_treatments_case_id"), "emr_treatments", ["case_id"], unique=False)


def downgrade() -> None:
    """Drop the EMR tables."""
    op.drop_index(op.f("ix_emr_treatments_case_id"), table_name="emr_treatments")
    op.drop_table("emr_treatments")
    op.drop_index(op.f("ix_emr_symptoms_case_id"), table_name="emr_symptoms")
    op.drop_table("emr_symptoms")
    op.drop_index(op.f("ix_emr_labs_case_id"), table_name="emr_labs")
    op.drop_table("emr_labs")
    op.drop_index(op.f("ix_emr_complications_case_id"), table_name="emr_complications")
    op.drop_table("emr_complications")
    op.drop_index("ix_emr_cases_source_ref", table_name="emr_cases")
    op.drop_index(op.f("ix_emr_cases_patient_id"), table_name="emr_cases")
    op.drop_index(op.f("ix_emr_cases_origin"), table_name="emr_cases")
    op.drop_index(op.f("ix_emr_cases_disease_icd10"), table_name="emr_cases")
    op.drop_table("emr_cases")
    op.drop_index(op.f("ix_emr_patients_national_token"), table_name="emr_patients")
    op.drop_table("emr_patients")
