"""A small synthetic case library the product ships for its demo, page and tests (no real data).

Each disease profile lists typical symptoms (duration, onset, severity), labs with their
normal ranges, complications and a plan; ``synthetic_cases`` samples noisy cases from them.
``create_demo_app`` is a uvicorn factory (``--factory``) configured from the environment.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hospital.emr.records import (
    CaseRecord,
    Diagnosis,
    Disease,
    LabValue,
    Onset,
    Origin,
    Route,
    Symptom,
    Treatment,
)

if TYPE_CHECKING:
    from fastapi import FastAPI


@dataclass(frozen=True)
class Profile:
    """A disease as the demo generator draws it."""

    icd10: str
    name: str
    symptoms: tuple[tuple[str, float, Onset, float, float], ...]  # name, days, onset, severity, p
    labs: tuple[tuple[str, float, float, float, str], ...]  # name, typical, low, high, unit
    complications: tuple[str, ...]
    plan: tuple[Treatment, ...]


def _t(
    drug: str, dose: float, unit: str, per_day: float, days: float, route: Route = Route.ORAL
) -> Treatment:
    return Treatment(
        drug=drug,
        route=route,
        dose=dose,
        dose_unit=unit,
        frequency_per_day=per_day,
        duration_days=days,
    )


PROFILES: tuple[Profile, ...] = (
    Profile(
        "I20.9",
        "Angina pectoris",
        (
            ("chest_pain", 0.5, Onset.EXERTIONAL, 6, 0.95),
            ("breathlessness", 3, Onset.EXERTIONAL, 4, 0.6),
            ("sweating", 0.2, Onset.SUDDEN, 3, 0.3),
        ),
        (("troponin", 0.02, 0.0, 0.04, "ng/mL"), ("ldl", 4.2, 0.0, 3.0, "mmol/L")),
        ("myocardial infarction", "arrhythmia"),
        (
            _t("aspirin", 75, "mg", 1, 365),
            _t("glyceryl trinitrate", 0.4, "mg", 2, 30, Route.SUBLINGUAL),
        ),
    ),
    Profile(
        "I21.9",
        "Acute myocardial infarction",
        (
            ("chest_pain", 0.1, Onset.SUDDEN, 9, 0.98),
            ("sweating", 0.1, Onset.SUDDEN, 6, 0.7),
            ("nausea", 0.1, Onset.SUDDEN, 4, 0.5),
            ("breathlessness", 0.1, Onset.SUDDEN, 6, 0.6),
        ),
        (("troponin", 2.5, 0.0, 0.04, "ng/mL"), ("wbc", 11.5, 4.0, 11.0, "10^9/L")),
        ("heart failure", "cardiogenic shock", "arrhythmia"),
        (_t("aspirin", 300, "mg", 1, 1), _t("ticagrelor", 90, "mg", 2, 365)),
    ),
    Profile(
        "J18.9",
        "Pneumonia",
        (
            ("cough", 5, Onset.GRADUAL, 6, 0.95),
            ("fever", 4, Onset.SUDDEN, 6, 0.9),
            ("breathlessness", 3, Onset.GRADUAL, 5, 0.6),
            ("chest_pain", 2, Onset.GRADUAL, 3, 0.3),
        ),
        (
            ("temperature", 38.9, 36.1, 37.2, "°C"),
            ("wbc", 15.0, 4.0, 11.0, "10^9/L"),
            ("crp", 120, 0.0, 5.0, "mg/L"),
        ),
        ("sepsis", "pleural effusion"),
        (_t("amoxicillin", 500, "mg", 3, 7),),
    ),
    Profile(
        "J45.9",
        "Asthma",
        (
            ("wheezing", 1, Onset.SUDDEN, 6, 0.9),
            ("breathlessness", 1, Onset.SUDDEN, 6, 0.9),
            ("cough", 7, Onset.NOCTURNAL, 4, 0.7),
        ),
        (("peak_flow", 280, 400, 600, "L/min"),),
        ("status asthmaticus",),
        (
            _t("salbutamol", 100, "µg", 4, 30, Route.INHALED),
            _t("budesonide", 200, "µg", 2, 90, Route.INHALED),
        ),
    ),
    Profile(
        "K21.9",
        "Gastro-oesophageal reflux",
        (
            ("chest_pain", 30, Onset.POSTPRANDIAL, 3, 0.7),
            ("heartburn", 60, Onset.POSTPRANDIAL, 5, 0.95),
            ("cough", 30, Onset.NOCTURNAL, 2, 0.3),
        ),
        (),
        ("oesophagitis",),
        (_t("omeprazole", 20, "mg", 1, 56),),
    ),
    Profile(
        "A09",
        "Gastroenteritis",
        (
            ("diarrhoea", 2, Onset.SUDDEN, 6, 0.95),
            ("vomiting", 1, Onset.SUDDEN, 5, 0.7),
            ("fever", 2, Onset.SUDDEN, 4, 0.5),
            ("abdominal_pain", 2, Onset.SUDDEN, 5, 0.7),
        ),
        (("temperature", 38.0, 36.1, 37.2, "°C"), ("sodium", 133, 135, 145, "mmol/L")),
        ("dehydration",),
        (_t("oral rehydration salts", 200, "mL", 6, 3),),
    ),
)


def _jitter(rng: random.Random, x: float, rel: float) -> float:
    return max(0.0, x * (1 + rng.gauss(0, rel)))


def synthetic_case(
    rng: random.Random, profile: Profile, case_id: str, *, validated: bool = False
) -> CaseRecord:
    """One noisy case of a profile (symptoms kept with their probability, values jittered)."""
    symptoms: list[Symptom] = []
    for name, days, onset, sev, p in profile.symptoms:
        if rng.random() < p or not symptoms and name == profile.symptoms[-1][0]:
            symptoms.append(
                Symptom(
                    name=name,
                    duration_days=round(_jitter(rng, days, 0.4), 2) if rng.random() < 0.9 else None,
                    onset=onset if rng.random() < 0.85 else Onset.UNKNOWN,
                    severity=min(10.0, round(_jitter(rng, sev, 0.25), 1))
                    if rng.random() < 0.9
                    else None,
                )
            )
    labs = [
        LabValue(
            name=name,
            value=round(_jitter(rng, typ, 0.1), 3),
            unit=unit,
            normal_low=lo,
            normal_high=hi,
        )
        for name, typ, lo, hi, unit in profile.labs
        if rng.random() < 0.8
    ]
    comps = tuple(c for c in profile.complications if rng.random() < 0.3)
    return CaseRecord(
        case_id=case_id,
        patient_id=f"demo-{case_id}",
        symptoms=tuple(symptoms),
        labs=tuple(labs),
        diagnosis=Diagnosis(
            disease=Disease(icd10=profile.icd10, name=profile.name), complications=comps
        ),
        treatments=profile.plan,
        origin=Origin.DOCTOR_VALIDATED if validated else Origin.IMPORTED,
    )


def synthetic_cases(n: int, seed: int = 7, validated_share: float = 0.2) -> Iterator[CaseRecord]:
    """``n`` demo cases cycling through the profiles, reproducible from ``seed``."""
    rng = random.Random(seed)
    for i in range(n):
        profile = PROFILES[i % len(PROFILES)]
        yield synthetic_case(
            rng, profile, f"demo-{i:06d}", validated=rng.random() < validated_share
        )


def create_demo_app() -> FastAPI:
    """Uvicorn factory: the diagnosis app over FEDCHAIN_DIAGNOSIS_DEMO_CASES synthetic cases."""
    from diagnosis.api.app import create_app, settle_heap
    from diagnosis.api.settings import DiagnosisSettings
    from diagnosis.ports import InMemoryCaseLibrary
    from diagnosis.service import DiagnosisService
    from diagnosis.vocabulary import Vocabulary

    settings = DiagnosisSettings()
    n = int(os.environ.get("FEDCHAIN_DIAGNOSIS_DEMO_CASES", "600"))
    cases = list(synthetic_cases(n))
    library = InMemoryCaseLibrary(cases)
    vocabulary = Vocabulary(
        {s.name for c in cases for s in c.symptoms}, {lab.name for c in cases for lab in c.labs}
    )
    service = DiagnosisService(
        library=library, sink=library, alpha=settings.alpha, vocabulary=vocabulary
    )
    # The library is long-lived: keep it out of the collector's full passes (a gen-2 pass
    # over ~100k case objects stalled requests for up to a second on a loaded machine).
    settle_heap()
    return create_app(service, settings)
