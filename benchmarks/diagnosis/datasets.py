"""Benchmark-side loaders of the shared real data (the product's importers belong to the EMR).

disease_symptom: CRLF, leading spaces in symptom tokens, two spellings of one hemorrhoids
label. heart: UCI processed.*.data, '?' = missing, num 0–4. Both become CaseRecords.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from hospital.emr.records import CaseRecord, Diagnosis, Disease, LabValue, Symptom, normalize_term

REPO = Path(__file__).resolve().parents[2]


def shared_data(repo: Path = REPO) -> Path:
    """``<repo>/../shared/data``; from a git worktree, beside the main checkout instead."""
    direct = repo.parent / "shared" / "data"
    if direct.is_dir():
        return direct
    git = repo / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text().split(":", 1)[1].strip())
        main = gitdir.parents[2]
        if (main.parent / "shared" / "data").is_dir():
            return main.parent / "shared" / "data"
    return direct


DATA = shared_data()
HEART_CENTRES = ("cleveland", "hungarian", "switzerland", "va")
HEART_COLUMNS = (
    "age",
    "sex",
    "cp",
    "trestbps",
    "chol",
    "fbs",
    "restecg",
    "thalach",
    "exang",
    "oldpeak",
    "slope",
    "ca",
    "thal",
    "num",
)
HEART_NUMERIC = ("age", "trestbps", "chol", "thalach", "oldpeak")
HEART_CATEGORICAL = ("sex", "cp", "fbs", "restecg", "exang", "slope", "ca", "thal")


def disease_label(raw: str) -> str:
    """One label per disease: trimmed, the misspelt hemorrhoids label merged."""
    return raw.strip().replace("hemmorhoids", "hemorrhoids")


def load_disease_symptom(root: Path = DATA) -> list[tuple[str, frozenset[str]]]:
    """(disease, symptom set) per row of dataset.csv."""
    rows = []
    with open(root / "disease_symptom" / "dataset.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            symptoms = frozenset(normalize_term(t) for t in row[1:] if t.strip())
            rows.append((disease_label(row[0]), symptoms))
    return rows


def load_severity(root: Path = DATA) -> dict[str, float]:
    """Symptom → severity weight 1–7 from Symptom-severity.csv."""
    with open(root / "disease_symptom" / "Symptom-severity.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        return {normalize_term(r[0]): float(r[1]) for r in reader if r and r[0].strip()}


def symptom_case(case_id: str, disease: str, symptoms: frozenset[str]) -> CaseRecord:
    """A presence-only case; the disease name doubles as its code."""
    return CaseRecord(
        case_id=case_id,
        patient_id=case_id,
        symptoms=tuple(Symptom(name=s) for s in sorted(symptoms)),
        diagnosis=Diagnosis(disease=Disease(icd10=disease, name=disease)),
    )


def load_heart(root: Path = DATA) -> list[tuple[str, dict[str, float | None]]]:
    """(centre, attribute → value or None) per patient of the four UCI hospitals."""
    out = []
    for centre in HEART_CENTRES:
        text = (root / "heart" / f"processed.{centre}.data").read_text()
        for line in text.splitlines():
            if not line.strip():
                continue
            values = [None if v.strip() == "?" else float(v) for v in line.split(",")]
            out.append((centre, dict(zip(HEART_COLUMNS, values, strict=True))))
    return out


def heart_ranges(rows: list[dict[str, float | None]]) -> dict[str, tuple[float, float]]:
    """Per numeric attribute, the 5–95 % span of the given (training) rows: its 'normal range'."""
    spans = {}
    for name in HEART_NUMERIC:
        vals = np.array([r[name] for r in rows if r[name] is not None], dtype=float)
        lo, hi = np.percentile(vals, [5, 95])
        spans[name] = (float(lo), float(hi))
    return spans


def heart_case(
    case_id: str, row: dict[str, float | None], ranges: dict[str, tuple[float, float]], label: str
) -> CaseRecord:
    """Categorical attributes as present/absent findings ('cp_4'), numeric ones as lab values."""
    symptoms = tuple(
        Symptom(name=f"{name}_{int(v)}")
        for name in HEART_CATEGORICAL
        if (v := row[name]) is not None
    )
    labs = tuple(
        LabValue(name=name, value=v, normal_low=ranges[name][0], normal_high=ranges[name][1])
        for name in HEART_NUMERIC
        if (v := row[name]) is not None
    )
    return CaseRecord(
        case_id=case_id,
        patient_id=case_id,
        symptoms=symptoms,
        labs=labs,
        diagnosis=Diagnosis(disease=Disease(icd10=label, name=label)),
    )


def stratified_split(
    labels: list[str], test_share: float, seed: int
) -> tuple[list[int], list[int]]:
    """Row indices (train, test), the test share taken within each label (at least one if ≥ 2)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in sorted(set(labels)):
        idx = np.flatnonzero(np.array(labels) == label)
        rng.shuffle(idx)
        k = int(round(test_share * len(idx)))
        if len(idx) >= 2:
            k = max(1, k)
        test.extend(idx[:k].tolist())
        train.extend(idx[k:].tolist())
    return sorted(train), sorted(test)
