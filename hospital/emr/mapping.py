"""Mapping a hospital's local vocabulary onto the consortium schema; unknown terms are reported."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from hospital.emr.records import CaseRecord, Diagnosis, Disease, normalize_term
from hospital.emr.schema import ConsortiumSchema


class TermKind(StrEnum):
    """Which vocabulary a term belongs to."""

    SYMPTOM = "symptom"
    LAB = "lab"
    DISEASE = "disease"
    COMPLICATION = "complication"
    DRUG = "drug"


class UnknownTerm(BaseModel):
    """A term a case uses that the schema does not know (kept in the store, left out of V1/V2)."""

    model_config = ConfigDict(frozen=True)

    kind: TermKind
    term: str


class VocabularyMap(BaseModel):
    """A hospital's local → consortium synonyms, per kind (keys are normalised before lookup)."""

    model_config = ConfigDict(frozen=True)

    symptoms: dict[str, str] = Field(default_factory=dict)
    labs: dict[str, str] = Field(default_factory=dict)
    diseases: dict[str, str] = Field(default_factory=dict, description="local code → ICD-10")
    complications: dict[str, str] = Field(default_factory=dict)
    drugs: dict[str, str] = Field(default_factory=dict)


def _lookup(table: dict[str, str], raw: str) -> str:
    norm = normalize_term(raw)
    normalised = {normalize_term(k): v for k, v in table.items()}
    return normalised.get(norm, norm)


def map_case(case: CaseRecord, vocab: VocabularyMap) -> CaseRecord:
    """Rename a case's terms through ``vocab`` (unmapped terms are normalised, never dropped)."""
    symptoms = tuple(
        s.model_copy(update={"name": _lookup(vocab.symptoms, s.name)}) for s in case.symptoms
    )
    labs = tuple(
        lab.model_copy(update={"name": _lookup(vocab.labs, lab.name)}) for lab in case.labs
    )
    treatments = tuple(
        t.model_copy(update={"drug": _lookup(vocab.drugs, t.drug)}) for t in case.treatments
    )
    diagnosis = case.diagnosis
    if diagnosis is not None:
        code = vocab.diseases.get(diagnosis.disease.icd10, diagnosis.disease.icd10)
        diagnosis = Diagnosis(
            disease=Disease(
                icd10=code, name=diagnosis.disease.name, snomed=diagnosis.disease.snomed
            ),
            complications=tuple(_lookup(vocab.complications, c) for c in diagnosis.complications),
        )
    return case.model_copy(
        update={
            "symptoms": symptoms,
            "labs": labs,
            "treatments": treatments,
            "diagnosis": diagnosis,
        }
    )


def unknown_terms(case: CaseRecord, schema: ConsortiumSchema) -> list[UnknownTerm]:
    """Every term of ``case`` that ``schema`` lacks, in the order they appear."""
    symptoms = set(schema.symptoms)
    labs = {lab.name for lab in schema.labs}
    drugs = {d.name for d in schema.drugs}
    complications = set(schema.complications)
    found: list[UnknownTerm] = []
    found += [
        UnknownTerm(kind=TermKind.SYMPTOM, term=s.name)
        for s in case.symptoms
        if s.name not in symptoms
    ]
    found += [UnknownTerm(kind=TermKind.LAB, term=v.name) for v in case.labs if v.name not in labs]
    if case.diagnosis is not None:
        if schema.disease_by_code(case.diagnosis.disease.icd10) is None:
            found.append(UnknownTerm(kind=TermKind.DISEASE, term=case.diagnosis.disease.icd10))
        found += [
            UnknownTerm(kind=TermKind.COMPLICATION, term=c)
            for c in case.diagnosis.complications
            if c not in complications
        ]
    found += [
        UnknownTerm(kind=TermKind.DRUG, term=t.drug) for t in case.treatments if t.drug not in drugs
    ]
    return found


def count_unknown(cases: Iterable[CaseRecord], schema: ConsortiumSchema) -> dict[UnknownTerm, int]:
    """How many times each unknown term occurs across ``cases``."""
    counts: dict[UnknownTerm, int] = {}
    for case in cases:
        for term in unknown_terms(case, schema):
            counts[term] = counts.get(term, 0) + 1
    return counts
