"""The consortium feature schema: the versioned vocabulary every hospital's V1/V2 is built on.

Its canonical-JSON SHA-256 (`schema_hash`) is the ``modelSpecHash`` the ledger records, so
two hospitals train the same model only if they hash the same schema.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from hospital.emr.knowledge import load_knowledge
from hospital.emr.records import Onset, Route
from hospital.emr.vocabulary import DISEASES, LABS, SEVERITIES, SYMPTOMS
from node.errors import ValidationFailed


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabTerm(_Frozen):
    """A lab or vital: unit and normal range; ``levels`` lists the codes of a categorical one."""

    name: str
    unit: str
    normal_low: float | None = None
    normal_high: float | None = None
    levels: tuple[float, ...] = ()


class DiseaseTerm(_Frozen):
    """A disease the model can output: ICD-10 code and name."""

    icd10: str
    name: str


class DrugTerm(_Frozen):
    """A drug with the reference dose V2 scales doses by, and its usual route."""

    name: str
    reference_dose: float = Field(gt=0)
    dose_unit: str
    route: Route


class ConsortiumSchema(_Frozen):
    """Vocabulary of symptoms, onsets, severities, labs, diseases, complications, drugs, routes."""

    name: str
    version: str
    symptoms: tuple[str, ...]
    onsets: tuple[str, ...] = tuple(o.value for o in Onset)
    severities: dict[str, float] = Field(default_factory=lambda: dict(SEVERITIES))
    labs: tuple[LabTerm, ...]
    diseases: tuple[DiseaseTerm, ...]
    complications: tuple[str, ...]
    drugs: tuple[DrugTerm, ...]
    routes: tuple[str, ...] = tuple(r.value for r in Route)

    def lab(self, name: str) -> LabTerm | None:
        """The lab term called ``name``, or None."""
        return next((lab for lab in self.labs if lab.name == name), None)

    def disease_by_code(self, icd10: str) -> DiseaseTerm | None:
        """The disease with this ICD-10 code (case-insensitive), or None."""
        code = icd10.upper()
        return next((d for d in self.diseases if d.icd10 == code), None)


def canonical_json(schema: ConsortiumSchema) -> bytes:
    """The schema as canonical JSON: sorted keys, no spaces, ASCII only."""
    return json.dumps(
        schema.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode("ascii")


def schema_hash(schema: ConsortiumSchema) -> str:
    """SHA-256 of the canonical JSON, 64 hex digits: the ledger's ``modelSpecHash`` (bytes32)."""
    return hashlib.sha256(canonical_json(schema)).hexdigest()


def _lab_terms(names: list[str] | None = None) -> tuple[LabTerm, ...]:
    chosen = names if names is not None else list(LABS)
    return tuple(
        LabTerm(
            name=n,
            unit=LABS[n][0],
            normal_low=LABS[n][1],
            normal_high=LABS[n][2],
            levels=LABS[n][3],
        )
        for n in chosen
    )


@cache
def default_schema() -> ConsortiumSchema:
    """The general consortium schema: the base vocabulary plus the knowledge table's terms."""
    knowledge = load_knowledge()
    diseases: dict[str, str] = {code: name for code, name in DISEASES.values()}
    symptoms = set(SYMPTOMS)
    complications: set[str] = set()
    drugs: dict[str, DrugTerm] = {}
    for d in knowledge.diseases:
        if diseases.setdefault(d.icd10, d.name) != d.name:
            raise ValueError(f"ICD-10 {d.icd10} has two names: {diseases[d.icd10]!r}, {d.name!r}")
        symptoms.update(s.term for s in d.symptoms)
        complications.update(c for c, _ in d.complications)
        for drug in d.drugs:
            drugs.setdefault(
                drug.drug,
                DrugTerm(
                    name=drug.drug,
                    reference_dose=drug.dose,
                    dose_unit=drug.dose_unit,
                    route=drug.route,
                ),
            )
    return ConsortiumSchema(
        name="fedchain-general",
        version=f"1.0.0+knowledge.{knowledge.version}",
        symptoms=tuple(sorted(symptoms)),
        labs=_lab_terms(),
        diseases=tuple(DiseaseTerm(icd10=c, name=n) for c, n in sorted(diseases.items())),
        complications=tuple(sorted(complications)),
        drugs=tuple(drugs[k] for k in sorted(drugs)),
    )


HEART_LABS = [
    "age",
    "sex_male",
    "systolic_bp",
    "total_cholesterol",
    "fasting_blood_sugar_high",
    "resting_ecg",
    "max_heart_rate",
    "st_depression",
    "st_slope",
    "major_vessels_fluoroscopy",
    "thallium_scan",
]


@cache
def heart_schema() -> ConsortiumSchema:
    """The compact schema of the UCI heart-disease federation (13 attributes, 2 outcomes)."""
    return ConsortiumSchema(
        name="fedchain-uci-heart",
        version="1.0.0",
        symptoms=(
            "atypical_angina",
            "exercise_induced_angina",
            "non_anginal_chest_pain",
            "typical_angina",
        ),
        labs=_lab_terms(HEART_LABS),
        diseases=tuple(
            DiseaseTerm(icd10=code, name=name)
            for code, name in (DISEASES["uci:num>0"], DISEASES["uci:num=0"])
        ),
        complications=(),
        drugs=(),
    )


SCHEMAS = {"general": default_schema, "uci-heart": heart_schema}


def schema_named(name: str) -> ConsortiumSchema:
    """The consortium schema called ``name`` ('general' or 'uci-heart')."""
    if name not in SCHEMAS:
        raise ValidationFailed(
            f"unknown consortium schema {name!r}",
            field="schema",
            fix=f"use one of {', '.join(sorted(SCHEMAS))}",
        )
    return SCHEMAS[name]()
