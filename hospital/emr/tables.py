"""SQLAlchemy 2 tables of the EMR library: patients, cases and their symptoms, labs, outcome.

The library also keeps the diagnosis suggestions doctors have been shown, so that feedback
works from any service process and after a restart.

Free text (names, units, codes, references) is unbounded TEXT so that SQLite and PostgreSQL
accept the same data; only fixed-width values (keys, tokens, enums) have lengths.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints so alembic migrations are stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the EMR tables."""

    metadata = MetaData(naming_convention=NAMING)


class PatientRow(Base):
    """A patient: pseudonymous id and the salted national-id token (never the id itself)."""

    __tablename__ = "emr_patients"
    pseudonym: Mapped[str] = mapped_column(Text, primary_key=True)
    national_token: Mapped[str | None] = mapped_column(String(64), index=True)


class CaseRow(Base):
    """A case; ``case_id`` is the natural key derived from source, row and content."""

    __tablename__ = "emr_cases"
    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        ForeignKey("emr_patients.pseudonym", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date | None] = mapped_column(Date)
    origin: Mapped[str] = mapped_column(String(20), index=True)
    disease_icd10: Mapped[str | None] = mapped_column(Text, index=True)
    disease_name: Mapped[str | None] = mapped_column(Text)
    disease_snomed: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    source_ref: Mapped[str] = mapped_column(Text)
    image: Mapped[bytes | None] = mapped_column(LargeBinary)
    __table_args__ = (Index("ix_emr_cases_source_ref", "source", "source_ref"),)


class SymptomRow(Base):
    """One symptom of a case."""

    __tablename__ = "emr_symptoms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("emr_cases.case_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    duration_days: Mapped[float | None] = mapped_column(Float)
    onset: Mapped[str] = mapped_column(String(20))
    severity: Mapped[float | None] = mapped_column(Float)


class LabRow(Base):
    """One lab or vital value of a case, with unit and normal range."""

    __tablename__ = "emr_labs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("emr_cases.case_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(Text)
    normal_low: Mapped[float | None] = mapped_column(Float)
    normal_high: Mapped[float | None] = mapped_column(Float)
    loinc: Mapped[str | None] = mapped_column(Text)


class ComplicationRow(Base):
    """One complication of a case's diagnosis."""

    __tablename__ = "emr_complications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("emr_cases.case_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)


class TreatmentRow(Base):
    """One drug of a case's treatment plan."""

    __tablename__ = "emr_treatments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("emr_cases.case_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    drug: Mapped[str] = mapped_column(Text)
    route: Mapped[str] = mapped_column(String(20))
    dose: Mapped[float | None] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(Text)
    frequency_per_day: Mapped[float | None] = mapped_column(Float)
    duration_days: Mapped[float | None] = mapped_column(Float)
    rxnorm: Mapped[str | None] = mapped_column(Text)


class MetaRow(Base):
    """A fact about the store itself, e.g. the fingerprint of the salt its tokens are under."""

    __tablename__ = "emr_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SuggestionRow(Base):
    """A diagnosis suggestion shown to a doctor: what feedback needs, and what became of it.

    ``state`` is open → claimed (feedback being saved) → answered (``case_id`` holds the
    doctor-validated case). ``answered_seq`` numbers the answers 1, 2, …: every service
    process indexes the cases answered since the last number it has seen.
    """

    __tablename__ = "diagnosis_suggestions"
    suggestion_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # indexed: the hourly prune of expired suggestions reads a range, not the whole table
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    pending: Mapped[str] = mapped_column(Text)  # PendingFeedback as JSON
    state: Mapped[str] = mapped_column(String(10))
    case_id: Mapped[str | None] = mapped_column(
        ForeignKey("emr_cases.case_id", ondelete="SET NULL")
    )
    answered_seq: Mapped[int | None] = mapped_column(Integer, index=True, unique=True)


class DiagnosisStateRow(Base):
    """Diagnosis state one process publishes for every process serving the hospital.

    One row per part ('weights', 'overrides', 'model'). ``version`` grows with every
    publication of any part (one counter across the rows), so a process that has seen
    versions (a, b, c) knows which parts changed from one small read.
    """

    __tablename__ = "diagnosis_state"
    part: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
