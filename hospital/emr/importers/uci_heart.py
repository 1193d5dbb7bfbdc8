"""The UCI heart-disease `processed.*.data` format (14 columns, '?' missing) → CaseRecords.

Mapping (docs/emr-import.md): cp 1/2/3 → symptom typical_angina / atypical_angina /
non_anginal_chest_pain (cp 4, asymptomatic, adds none); exang 1 → exercise_induced_angina;
age, sex, trestbps, chol, fbs, restecg, thalach, oldpeak, slope, ca, thal → labs;
num > 0 → I25.10 coronary artery disease, num = 0 → Z03.89 (ruled out). A 0 for trestbps or
chol is the sources' missing-value code (Switzerland records chol as 0) and is left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hospital.emr.importers.report import Parsed, RowError, errors_from
from hospital.emr.records import CaseRecord, Diagnosis, Disease, LabValue, Onset, Symptom
from hospital.emr.store import NewCase
from hospital.emr.vocabulary import DISEASES, LABS

COLUMNS = (
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
CHEST_PAIN = {1: "typical_angina", 2: "atypical_angina", 3: "non_anginal_chest_pain"}
LAB_OF_COLUMN = {
    "age": "age",
    "sex": "sex_male",
    "trestbps": "systolic_bp",
    "chol": "total_cholesterol",
    "fbs": "fasting_blood_sugar_high",
    "restecg": "resting_ecg",
    "thalach": "max_heart_rate",
    "oldpeak": "st_depression",
    "slope": "st_slope",
    "ca": "major_vessels_fluoroscopy",
    "thal": "thallium_scan",
}


class HeartRow(BaseModel):
    """One row of a processed.*.data file, range-checked; None = missing ('?')."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age: float = Field(ge=1, le=120)
    sex: int = Field(ge=0, le=1)
    cp: int | None = Field(default=None, ge=1, le=4)
    trestbps: float | None = Field(default=None, ge=0, le=300)
    chol: float | None = Field(default=None, ge=0, le=1000)
    fbs: int | None = Field(default=None, ge=0, le=1)
    restecg: int | None = Field(default=None, ge=0, le=2)
    thalach: float | None = Field(default=None, ge=30, le=250)
    exang: int | None = Field(default=None, ge=0, le=1)
    oldpeak: float | None = Field(default=None, ge=-5, le=10)
    slope: int | None = Field(default=None, ge=1, le=3)
    ca: int | None = Field(default=None, ge=0, le=3)
    thal: int | None = None
    num: int = Field(ge=0, le=4)

    @field_validator("thal")
    @classmethod
    def _thal_code(cls, v: int | None) -> int | None:
        if v is not None and v not in (3, 6, 7):
            raise ValueError("thal must be 3 (normal), 6 (fixed defect) or 7 (reversible defect)")
        return v

    @field_validator("trestbps", "chol")
    @classmethod
    def _zero_is_missing(cls, v: float | None) -> float | None:
        return None if v == 0 else v


def _number(raw: str) -> float | None:
    text = raw.strip()
    if text == "?":
        return None
    value = float(text)
    if math.isnan(value):
        raise ValueError("NaN")
    return value


def heart_case(row: HeartRow, patient_id: str) -> CaseRecord:
    """The case of one UCI heart-disease row."""
    symptoms = []
    if row.cp in CHEST_PAIN:
        onset = Onset.EXERTIONAL if row.cp == 1 else Onset.UNKNOWN
        symptoms.append(Symptom(name=CHEST_PAIN[row.cp], onset=onset))
    if row.exang == 1:
        symptoms.append(Symptom(name="exercise_induced_angina", onset=Onset.EXERTIONAL))
    labs = []
    for column, lab in LAB_OF_COLUMN.items():
        value = getattr(row, column)
        if value is None:
            continue
        unit, low, high, _levels = LABS[lab]
        labs.append(
            LabValue(name=lab, value=float(value), unit=unit, normal_low=low, normal_high=high)
        )
    code, name = DISEASES["uci:num>0" if row.num > 0 else "uci:num=0"]
    return CaseRecord(
        patient_id=patient_id,
        symptoms=tuple(symptoms),
        labs=tuple(labs),
        diagnosis=Diagnosis(disease=Disease(icd10=code, name=name)),
    )


def centre_of(path: Path) -> str:
    """'processed.cleveland.data' → 'cleveland'."""
    parts = path.name.split(".")
    return parts[1] if len(parts) >= 3 and parts[0] == "processed" else path.stem


def parse_heart(path: Path) -> Iterator[Parsed]:
    """Parse a processed.*.data file row by row (1-based row numbers)."""
    centre = centre_of(path)
    with path.open(encoding="ascii", errors="replace", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            cells = line.strip().split(",")
            if len(cells) != len(COLUMNS):
                yield [
                    RowError(
                        row=number,
                        field="row",
                        reason=f"expected {len(COLUMNS)} comma-separated values, "
                        f"found {len(cells)}",
                    )
                ]
                continue
            values: dict[str, float | None] = {}
            bad: list[RowError] = []
            for column, cell in zip(COLUMNS, cells, strict=True):
                try:
                    values[column] = _number(cell)
                except ValueError:
                    bad.append(
                        RowError(
                            row=number, field=column, reason=f"{cell!r} is not a number or '?'"
                        )
                    )
            if bad:
                yield bad
                continue
            try:
                row = HeartRow.model_validate(values)
            except ValidationError as exc:
                yield errors_from(exc, number)
                continue
            case = heart_case(row, f"uci-{centre}-{number:04d}")
            yield NewCase(case=case, source=path.name, ref=f"row {number:06d}")
