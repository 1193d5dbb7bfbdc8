"""Shared helpers for the EMR tests: paths to ../shared/data and a sample case."""

from __future__ import annotations

from pathlib import Path

from hospital.emr.records import CaseRecord, Diagnosis, Disease, LabValue, Symptom, Treatment

REPO = Path(__file__).resolve().parents[3]
# ../shared/data beside the repository (the main checkout); a worktree one level deeper
# (/work/wt/<name>) finds it beside its parent.
DATA = next(
    (
        p / "shared" / "data"
        for p in (REPO.parent, REPO.parent.parent)
        if (p / "shared" / "data").is_dir()
    ),
    REPO.parent / "shared" / "data",
)
HEART = DATA / "heart"
DISEASE_SYMPTOM = DATA / "disease_symptom" / "dataset.csv"
FHIR = DATA / "fhir"
SALT = b"test-consortium-salt-0123456789"


def sample_case(patient: str = "p-1") -> CaseRecord:
    """A pneumonia case using only consortium terms."""
    return CaseRecord(
        patient_id=patient,
        symptoms=(
            Symptom(name="cough", duration_days=5.0, onset="gradual", severity=6.0),
            Symptom(name="high_fever", duration_days=3.0, onset="sudden", severity=7.5),
        ),
        labs=(
            LabValue(name="temperature", value=38.9, unit="Cel", normal_low=36.1, normal_high=37.2),
            LabValue(name="wbc", value=15.2, unit="10*9/L", normal_low=4.0, normal_high=11.0),
            LabValue(name="sex_male", value=1.0, unit="flag"),
        ),
        diagnosis=Diagnosis(
            disease=Disease(icd10="J18.9", name="Pneumonia"),
            complications=("pleural_effusion", "sepsis"),
        ),
        treatments=(
            Treatment(
                drug="amoxicillin",
                route="oral",
                dose=1000,
                dose_unit="mg",
                frequency_per_day=3,
                duration_days=7,
            ),
            Treatment(
                drug="ceftriaxone",
                route="intravenous",
                dose=2,
                dose_unit="g",
                frequency_per_day=1,
                duration_days=5,
            ),
        ),
    )
