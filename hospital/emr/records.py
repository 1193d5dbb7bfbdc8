"""The case record of patent claim 3, as validated domain models (no storage, no I/O).

A case holds pathological features (symptoms, lab and vital values) and an outcome
(diagnosis, complications, treatments). Vectorisation turns the features into V1 and
the outcome into V2. Storage, importers, the vectoriser and the diagnosis matcher all speak
these models, and name a case's attributes by the same keys (``symptom_key``, ``lab_key``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_NON_WORD = re.compile(r"[^0-9a-z]+")


@functools.lru_cache(maxsize=8192)  # names repeat across cases: each is normalised once
def normalize_term(raw: str) -> str:
    """Lower-case, turn every run of non-alphanumerics into one '_', strip the ends.

    ``" dischromic _patches"`` → ``"dischromic_patches"``, ``"toxic_look_(typhos)"`` →
    ``"toxic_look_typhos"``, ``"Chest pain"`` → ``"chest_pain"``.
    """
    return _NON_WORD.sub("_", raw.strip().lower()).strip("_")


def symptom_key(name: str) -> str:
    """The attribute key of a symptom: V1 column groups, weight maps, evidence."""
    return f"symptom:{normalize_term(name)}"


def lab_key(name: str) -> str:
    """The attribute key of a lab or vital value: V1 column groups, weight maps, evidence."""
    return f"lab:{normalize_term(name)}"


class Origin(StrEnum):
    """Where a case came from; only imported and doctor-validated cases train the model."""

    IMPORTED = "imported"
    DOCTOR_VALIDATED = "doctor_validated"
    PENDING = "pending"


class Onset(StrEnum):
    """How a symptom began (the patent's onset condition)."""

    SUDDEN = "sudden"
    GRADUAL = "gradual"
    EXERTIONAL = "exertional"
    AT_REST = "at_rest"
    POSTPRANDIAL = "postprandial"
    NOCTURNAL = "nocturnal"
    UNKNOWN = "unknown"


class Route(StrEnum):
    """Route of administration of a drug."""

    ORAL = "oral"
    INTRAVENOUS = "intravenous"
    INTRAMUSCULAR = "intramuscular"
    SUBCUTANEOUS = "subcutaneous"
    TOPICAL = "topical"
    INHALED = "inhaled"
    SUBLINGUAL = "sublingual"
    RECTAL = "rectal"
    OTHER = "other"


class _Strict(BaseModel):
    # NaN / Infinity (which JSON parsers accept) are never a measurement: refused by field
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, frozen=True, allow_inf_nan=False
    )


class Symptom(_Strict):
    """One symptom: name, how long, how it began, how severe (0-10)."""

    name: str = Field(min_length=1, description="consortium symptom term, e.g. 'chest_pain'")
    duration_days: float | None = Field(default=None, ge=0, le=36500)
    onset: Onset = Onset.UNKNOWN
    severity: float | None = Field(
        default=None, ge=0, le=10, description="0-10 scale; ordinal grades map onto it"
    )


class LabValue(_Strict):
    """A lab or vital measurement with its unit and the normal range it is read against."""

    name: str = Field(min_length=1, description="consortium lab term, e.g. 'temperature'")
    value: float
    unit: str = ""
    normal_low: float | None = None
    normal_high: float | None = None
    loinc: str | None = Field(default=None, description="LOINC code when the source had one")

    @model_validator(mode="after")
    def _range_ordered(self) -> LabValue:
        if (
            self.normal_low is not None
            and self.normal_high is not None
            and self.normal_low > self.normal_high
        ):
            raise ValueError("normal_low must not exceed normal_high")
        return self


class Disease(_Strict):
    """A diagnosed disease: ICD-10 code and name."""

    icd10: str = Field(min_length=1, description="ICD-10 code, e.g. 'I20.9'")
    name: str = Field(min_length=1)
    snomed: str | None = Field(default=None, description="SNOMED CT code when the source had one")

    @field_validator("icd10")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class Diagnosis(_Strict):
    """The outcome's diagnosis half: the disease and its complications."""

    disease: Disease
    complications: tuple[str, ...] = ()


class Treatment(_Strict):
    """One drug in a treatment plan: drug, route, dose with unit, frequency, duration."""

    drug: str = Field(min_length=1)
    route: Route = Route.ORAL
    dose: float | None = Field(default=None, ge=0)
    dose_unit: str = ""
    frequency_per_day: float | None = Field(default=None, ge=0, le=48)
    duration_days: float | None = Field(default=None, ge=0, le=36500)
    rxnorm: str | None = Field(default=None, description="RxNorm code when the source had one")


class CaseRecord(_Strict):
    """One sample of the EMR library: features (V1 side) and outcome (V2 side)."""

    case_id: str | None = Field(default=None, description="local id; assigned by the store")
    patient_id: str = Field(min_length=1, description="pseudonymous patient id")
    date: dt.date | None = None
    symptoms: tuple[Symptom, ...] = ()
    labs: tuple[LabValue, ...] = ()
    diagnosis: Diagnosis | None = None
    treatments: tuple[Treatment, ...] = ()
    origin: Origin = Origin.IMPORTED
    image: bytes | None = Field(default=None, description="optional image (e.g. 32x32 PNG)")
