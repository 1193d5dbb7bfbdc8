"""Deterministic synthetic EMR cases: the network's hospitals, or one demo library.

Each case draws a disease from a case mix, then symptoms (onset, duration, severity), labs
(the disease's typical values, else the normal range), complications and first-line drugs
from the knowledge table. ``generate_hospitals`` makes skewed hospital sizes and case mixes
where a person may visit several hospitals (the same national id), which gives PSI
something to find; ``synthetic_cases`` one general hospital's library (the stand-alone
diagnosis demo, tests, benchmarks).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import numpy as np
from pydantic import BaseModel, ConfigDict

from hospital.emr.knowledge import DiseaseKnowledge, load_knowledge
from hospital.emr.records import (
    CaseRecord,
    Diagnosis,
    Disease,
    LabValue,
    Onset,
    Origin,
    Symptom,
    Treatment,
)
from hospital.emr.vocabulary import LABS

VITALS = ("temperature", "heart_rate", "respiratory_rate", "systolic_bp", "diastolic_bp", "spo2")
BLOOD_ROUTINE = ("wbc", "neutrophils_pct", "lymphocytes_pct", "hemoglobin", "platelets")
# ICD-10 chapters each small hospital specialises in (hospital 1 is the large general one)
SPECIALTIES = (("I", "J"), ("A", "B", "K", "N"), ("E", "G", "M", "D"))
START_DATE = dt.date(2023, 1, 1)


class GeneratedCase(BaseModel):
    """A generated case with its (synthetic) national id and its row reference."""

    model_config = ConfigDict(frozen=True)

    case: CaseRecord
    national_id: str
    ref: str


class HospitalLibrary(BaseModel):
    """One hospital's generated library."""

    name: str
    cases: list[GeneratedCase]


def hospital_sizes(total: int, hospitals: int) -> list[int]:
    """One large hospital (weight 3) and smaller ones (weight 1): e.g. 60/20/20 % for three."""
    weights = [3.0] + [1.0] * (hospitals - 1)
    sizes = [int(total * w / sum(weights)) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def case_mix(
    diseases: tuple[DiseaseKnowledge, ...], index: int, rng: np.random.Generator
) -> np.ndarray:
    """Disease probabilities of hospital ``index``: general for 0, specialised for the rest."""
    base = np.array([d.weight for d in diseases], dtype=float)
    if index > 0:
        chapters = SPECIALTIES[(index - 1) % len(SPECIALTIES)]
        boost = np.array([4.0 if d.icd10[0] in chapters else 0.4 for d in diseases])
        base = base * boost
    noisy = rng.dirichlet(base / base.sum() * 200.0)
    return noisy / noisy.sum()


def _lab(name: str, rng: np.random.Generator, shift: tuple[float, float] | None) -> LabValue:
    unit, low, high, levels = LABS[name]
    if shift is not None:
        value = rng.normal(*shift)
    elif low is not None and high is not None:
        value = rng.normal((low + high) / 2, (high - low) / 5)
    else:
        value = 0.0
    value = max(0.0, value)
    if name == "spo2":
        value = min(100.0, value)
    digits = 2 if abs(value) < 10 else 1
    return LabValue(
        name=name, value=round(value, digits), unit=unit, normal_low=low, normal_high=high
    )


def make_case(d: DiseaseKnowledge, patient_id: str, rng: np.random.Generator) -> CaseRecord:
    """One plausible case of disease ``d``."""
    symptoms = []
    for p in d.symptoms:
        if rng.random() >= p.probability:
            continue
        onset = (
            p.onset if rng.random() < 0.85 else Onset(rng.choice(["sudden", "gradual", "unknown"]))
        )
        duration = p.duration_median_days * math.exp(rng.normal(0, p.duration_log_sd))
        severity = float(np.clip(rng.normal(p.severity_mean, p.severity_sd), 0, 10))
        symptoms.append(
            Symptom(
                name=p.term,
                onset=onset,
                duration_days=max(0.1, round(duration, 1)),
                severity=round(severity * 2) / 2,
            )
        )
    if not symptoms:
        p = max(d.symptoms, key=lambda s: s.probability)
        symptoms.append(
            Symptom(
                name=p.term,
                onset=p.onset,
                duration_days=p.duration_median_days,
                severity=p.severity_mean,
            )
        )
    shifts = {lab.term: (lab.mean, lab.sd) for lab in d.labs}
    age = float(np.clip(rng.normal(d.age_mean, d.age_sd), 1, 95))
    labs = [
        LabValue(name="age", value=round(age), unit="years"),
        LabValue(name="sex_male", value=float(rng.random() < 0.5), unit="flag"),
    ]
    names = list(VITALS) + [n for n in BLOOD_ROUTINE if rng.random() < 0.6]
    names += [n for n in shifts if n not in names]
    labs += [_lab(n, rng, shifts.get(n)) for n in names]
    complications = tuple(c for c, prob in d.complications if rng.random() < prob)
    chosen = [t for t in d.drugs if rng.random() < t.probability] or [
        max(d.drugs, key=lambda t: t.probability)
    ]
    treatments = tuple(
        Treatment(
            drug=t.drug,
            route=t.route,
            dose=t.dose,
            dose_unit=t.dose_unit,
            frequency_per_day=t.frequency_per_day,
            duration_days=t.duration_days
            if t.duration_days >= 90
            else float(max(1, round(t.duration_days * rng.uniform(0.7, 1.3)))),
        )
        for t in chosen
    )
    return CaseRecord(
        patient_id=patient_id,
        date=START_DATE + dt.timedelta(days=int(rng.integers(0, 3 * 365))),
        symptoms=tuple(symptoms),
        labs=tuple(labs),
        treatments=treatments,
        diagnosis=Diagnosis(
            disease=Disease(icd10=d.icd10, name=d.name), complications=complications
        ),
    )


def generate_hospitals(
    hospitals: int = 3, cases: int = 3000, seed: int = 7
) -> list[HospitalLibrary]:
    """Generate ``hospitals`` libraries totalling ``cases`` cases (same seed, same output)."""
    if hospitals < 1 or cases < hospitals:
        raise ValueError("need at least one hospital and one case per hospital")
    rng = np.random.default_rng(seed)
    diseases = load_knowledge().diseases
    population = max(10, int(cases * 0.8))  # fewer people than cases: some visit twice
    out = []
    for index, size in enumerate(hospital_sizes(cases, hospitals)):
        name = f"hospital-{index + 1}"
        mix = case_mix(diseases, index, rng)
        pseudonyms: dict[int, str] = {}
        library = []
        picks = rng.choice(len(diseases), size=size, p=mix)
        people = rng.integers(0, population, size=size)
        for number, (pick, person) in enumerate(zip(picks, people, strict=True), start=1):
            pseudonym = pseudonyms.setdefault(int(person), f"{name}-p{len(pseudonyms) + 1:06d}")
            case = make_case(diseases[int(pick)], pseudonym, rng)
            library.append(
                GeneratedCase(
                    case=case, national_id=f"NID{int(person):09d}", ref=f"case {number:07d}"
                )
            )
        out.append(HospitalLibrary(name=name, cases=library))
    return out


def synthetic_cases(n: int, seed: int = 7, validated_share: float = 0.2) -> Iterator[CaseRecord]:
    """``n`` cases of a general hospital's case mix, ids ``demo-000000``…, the same per seed.

    About ``validated_share`` of them are doctor-validated, the rest imported.
    """
    rng = np.random.default_rng(seed)
    diseases = load_knowledge().diseases
    weights = np.array([d.weight for d in diseases], dtype=float)
    picks = rng.choice(len(diseases), size=n, p=weights / weights.sum())
    for i, pick in enumerate(picks):
        case = make_case(diseases[int(pick)], f"demo-p{i:06d}", rng)
        validated = rng.random() < validated_share
        yield case.model_copy(
            update={
                "case_id": f"demo-{i:06d}",
                "origin": Origin.DOCTOR_VALIDATED if validated else Origin.IMPORTED,
            }
        )
