"""Wire models of assisted diagnosis: findings in, suggestions out, the doctor's feedback."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import msgspec
from pydantic import BaseModel, ConfigDict, Field, model_validator

from diagnosis.ports import PendingFeedback
from diagnosis.similarity import AttributeContribution
from diagnosis.vocabulary import UnknownTerm
from diagnosis.weights import WeightSource
from hospital.emr.records import (
    CaseRecord,
    Diagnosis,
    Disease,
    LabValue,
    Origin,
    Symptom,
    Treatment,
)

FINDINGS_EXAMPLE: dict[str, Any] = {
    "patient_id": "p-0042",
    "symptoms": [
        {"name": "chest_pain", "duration_days": 0.5, "onset": "exertional", "severity": 7},
        {"name": "breathlessness", "duration_days": 2, "onset": "gradual", "severity": 4},
    ],
    "labs": [
        {"name": "troponin", "value": 0.02, "unit": "ng/mL", "normal_low": 0, "normal_high": 0.04}
    ],
    "top_k": 5,
    "threshold": 0.3,
}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Findings(_Wire):
    """A new patient's findings: what the doctor enters (the query case j)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [FINDINGS_EXAMPLE]}
    )

    patient_id: str = Field(min_length=1, max_length=128, description="pseudonymous patient id")
    symptoms: list[Symptom] = Field(default_factory=list, max_length=64)
    labs: list[LabValue] = Field(default_factory=list, max_length=64)

    @model_validator(mode="after")
    def _has_something(self) -> Findings:
        if not self.symptoms and not self.labs:
            raise ValueError("give at least one symptom or lab value")
        return self

    def as_case(self) -> CaseRecord:
        """The findings as a feature-only CaseRecord (the query of the matcher)."""
        return CaseRecord(
            patient_id=self.patient_id,
            symptoms=tuple(self.symptoms),
            labs=tuple(self.labs),
            origin=Origin.PENDING,
        )


class DiagnosisRequest(Findings):
    """Findings plus how many similar cases to return and the similarity threshold."""

    top_k: int = Field(default=10, ge=1, le=100, description="most similar cases to consider")
    threshold: float = Field(default=0.3, ge=0, le=1, description="minimum Sim(i, j) of a match")


# The suggestion family is outbound only, and one is built and written for every query:
# plain slotted dataclasses (pydantic documents them for the OpenAPI; ``to_json`` writes
# them with msgspec), not models validated on construction. Building and writing a
# suggestion this way costs a fraction of the models' (see docs/diagnosis.md).
_OUT = ConfigDict(extra="forbid")


@dataclass(slots=True, kw_only=True)
class CaseEvidence:
    """A matched library case and why it matched."""

    __pydantic_config__ = _OUT

    case_id: str
    similarity: float
    disease: Disease | None = None
    origin: Origin
    contributions: list[AttributeContribution]


@dataclass(slots=True, kw_only=True)
class DiagnosisCandidate:
    """A ranked diagnosis: combined score from the matched cases and the model."""

    __pydantic_config__ = _OUT

    disease: Disease
    score: Annotated[
        float, Field(description="α·P_model + (1−α)·case vote (see docs/diagnosis.md)")
    ]
    case_vote: Annotated[
        float, Field(description="share of the matches' similarity that has this disease")
    ]
    model_probability: float | None = None
    supporting_cases: int


@dataclass(slots=True, kw_only=True)
class ComplicationWatch:
    """A complication seen in matched cases of the leading diagnosis."""

    __pydantic_config__ = _OUT

    name: str
    support: Annotated[float, Field(description="share of those cases' similarity that had it")]
    cases: int


@dataclass(slots=True, kw_only=True)
class TreatmentPlan:
    """The plan of the best-matching case with the leading diagnosis (validated cases first)."""

    __pydantic_config__ = _OUT

    source_case_id: str
    similarity: float
    doctor_validated: bool
    treatments: list[Treatment]


@dataclass(slots=True, kw_only=True)
class WeightInfo:
    """Which weights scored the matches."""

    __pydantic_config__ = _OUT

    version: int
    source: WeightSource
    round_id: int | None = None


@dataclass(slots=True, kw_only=True)
class DiagnosisSuggestion:
    """The recommendation shown to the doctor, stored so feedback can refer to it."""

    __pydantic_config__ = _OUT

    suggestion_id: str
    created_at: dt.datetime
    patient_id: str
    diagnoses: list[DiagnosisCandidate]
    complications: list[ComplicationWatch]
    treatment_plan: TreatmentPlan | None
    evidence: list[CaseEvidence]
    weights: WeightInfo
    library_size: int
    model_used: bool
    unknown_terms: Annotated[
        list[UnknownTerm],
        Field(
            description="finding names outside the consortium vocabulary (they matched "
            "nothing), with the closest known terms"
        ),
    ] = field(default_factory=list)


def _plain_model(obj: object) -> object:
    # The EMR's own models inside a suggestion (and a pending feedback) are plain fields,
    # written as their dict: the bytes pydantic writes (tested). A case's image is bytes,
    # which pydantic writes as text and msgspec as base64, so a case with one is refused.
    kind = type(obj)
    if kind in _PLAIN_MODELS or (kind is CaseRecord and getattr(obj, "image", 0) is None):
        return obj.__dict__
    raise TypeError(f"cannot write {kind.__name__} as JSON")


_PLAIN_MODELS = frozenset({Disease, Treatment, Symptom, LabValue, Diagnosis, PendingFeedback})
_ENCODER = msgspec.json.Encoder(enc_hook=_plain_model)


def to_json(obj: object) -> bytes:
    """The JSON pydantic writes for a suggestion, a part of one or a pending feedback.

    Byte for byte: what the API replies and what the suggestion store keeps.
    """
    return _ENCODER.encode(obj)


class SimilarCases(_Wire):
    """Library cases most similar to one library case."""

    case_id: str
    matches: list[CaseEvidence]


class Decision(StrEnum):
    """The doctor's verdict on a suggestion."""

    ACCEPT = "accept"
    ADJUST = "adjust"


class Feedback(_Wire):
    """Accept the leading suggestion, or adjust it with the final diagnosis and plan."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {"decision": "accept"},
                {
                    "decision": "adjust",
                    "final_diagnosis": {
                        "disease": {"icd10": "I20.0", "name": "Unstable angina"},
                        "complications": ["myocardial infarction"],
                    },
                    "treatments": [
                        {
                            "drug": "aspirin",
                            "route": "oral",
                            "dose": 75,
                            "dose_unit": "mg",
                            "frequency_per_day": 1,
                            "duration_days": 365,
                        }
                    ],
                },
            ]
        },
    )

    decision: Decision
    final_diagnosis: Diagnosis | None = None
    treatments: list[Treatment] | None = None

    @model_validator(mode="after")
    def _adjust_needs_diagnosis(self) -> Feedback:
        if self.decision is Decision.ADJUST and self.final_diagnosis is None:
            raise ValueError("decision 'adjust' needs final_diagnosis")
        return self


class FeedbackReceipt(_Wire):
    """The doctor-validated case created from the feedback and handed to the EMR."""

    suggestion_id: str
    case_id: str
    case: CaseRecord


class WeightOverrides(_Wire):
    """Clinician overrides of attribute weights; an empty map removes them all."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [{"overrides": {"symptom:chest_pain": 2.0, "lab:crp": 0.5}}]
        },
    )

    overrides: dict[str, float] = Field(
        description="attribute key ('symptom:<name>' or 'lab:<name>') → weight ≥ 0"
    )
