"""The disease knowledge table (package data): typical symptoms, labs, complications, drugs."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hospital.emr.records import Onset, Route


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SymptomPattern(_Frozen):
    """How often a symptom appears in a disease and how it usually presents."""

    term: str
    probability: float = Field(ge=0, le=1)
    onset: Onset
    duration_median_days: float = Field(gt=0)
    duration_log_sd: float = Field(ge=0)
    severity_mean: float = Field(ge=0, le=10)
    severity_sd: float = Field(ge=0)


class LabShift(_Frozen):
    """A lab value typical of the disease (mean and spread), replacing the normal range."""

    term: str
    mean: float
    sd: float = Field(ge=0)


class DrugPattern(_Frozen):
    """A first-line drug with its usual route, dose, frequency and course length."""

    drug: str
    route: Route
    dose: float = Field(gt=0)
    dose_unit: str
    frequency_per_day: float = Field(gt=0)
    duration_days: float = Field(gt=0)
    probability: float = Field(ge=0, le=1)


class DiseaseKnowledge(_Frozen):
    """One disease of the knowledge table."""

    icd10: str
    name: str
    weight: float = Field(gt=0, description="relative frequency in a general hospital")
    age_mean: float
    age_sd: float
    symptoms: tuple[SymptomPattern, ...]
    labs: tuple[LabShift, ...]
    complications: tuple[tuple[str, float], ...]
    drugs: tuple[DrugPattern, ...]


class KnowledgeTable(_Frozen):
    """The whole table, versioned."""

    version: str
    diseases: tuple[DiseaseKnowledge, ...]


def _disease(raw: dict[str, Any]) -> DiseaseKnowledge:
    symptoms = [
        SymptomPattern(
            term=s[0],
            probability=s[1],
            onset=s[2],
            duration_median_days=s[3][0],
            duration_log_sd=s[3][1],
            severity_mean=s[4][0],
            severity_sd=s[4][1],
        )
        for s in raw["symptoms"]
    ]
    labs = [LabShift(term=k, mean=v[0], sd=v[1]) for k, v in raw["labs"].items()]
    drugs = [
        DrugPattern(
            drug=d[0],
            route=d[1],
            dose=d[2],
            dose_unit=d[3],
            frequency_per_day=d[4],
            duration_days=d[5],
            probability=d[6],
        )
        for d in raw["drugs"]
    ]
    age = raw["age"]
    return DiseaseKnowledge(
        icd10=str(raw["icd10"]),
        name=str(raw["name"]),
        weight=float(raw["weight"]),
        age_mean=age[0],
        age_sd=age[1],
        symptoms=tuple(symptoms),
        labs=tuple(labs),
        complications=tuple((c[0], c[1]) for c in raw["complications"]),
        drugs=tuple(drugs),
    )


@cache
def load_knowledge() -> KnowledgeTable:
    """Load and validate the shipped knowledge table (cached; it is immutable)."""
    text = files("hospital.emr").joinpath("data/knowledge_v1.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return KnowledgeTable(
        version=raw["version"], diseases=tuple(_disease(d) for d in raw["diseases"])
    )
