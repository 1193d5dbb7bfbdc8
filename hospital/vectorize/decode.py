"""Pure functions back from vectors: V2 → a readable diagnosis and plan, V1 → features."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from hospital.emr.records import LabValue, Onset, Route, Symptom, Treatment
from hospital.vectorize.encode import unscale_lab
from hospital.vectorize.layout import DRUG_PARTS, FREQ_SCALE, LOG_DAYS, V1Layout, V2Layout


class Outcome(BaseModel):
    """A readable diagnosis and treatment plan decoded from V2."""

    icd10: str | None
    disease: str | None
    confidence: float
    complications: tuple[str, ...]
    treatments: tuple[Treatment, ...]

    def describe(self) -> str:
        """One human-readable paragraph."""
        lines = [
            f"Diagnosis: {self.disease} ({self.icd10}), score {self.confidence:.2f}"
            if self.icd10
            else "Diagnosis: none"
        ]
        if self.complications:
            lines.append("Complications: " + ", ".join(self.complications))
        for t in self.treatments:
            dose = f"{t.dose:g} {t.dose_unit}" if t.dose is not None else "dose ?"
            freq = f"{t.frequency_per_day:g}x/day" if t.frequency_per_day is not None else ""
            days = f"for {t.duration_days:g} days" if t.duration_days is not None else ""
            lines.append(f"- {t.drug} {dose} {t.route.value} {freq} {days}".rstrip())
        return "\n".join(lines)


def v2_to_outcome(v: NDArray[np.floating], layout: V2Layout, *, threshold: float = 0.5) -> Outcome:
    """Decode V2 (or a model's output): argmax disease, complications and drugs above threshold."""
    block = v[layout.disease_slice]
    icd10 = name = None
    confidence = 0.0
    if block.size and float(block.max()) > 0:
        best = int(block.argmax())
        icd10 = next(code for code, (i, _) in layout.diseases.items() if i == best)
        name = layout.diseases[icd10][1]
        confidence = float(block[best])
    complications = tuple(c for c, i in layout.complications.items() if v[i] >= threshold)
    treatments = []
    for drug, (start, term) in layout.drugs.items():
        if v[start] < threshold:
            continue
        routes = v[start + len(DRUG_PARTS) : start + len(DRUG_PARTS) + len(layout.routes)]
        route = Route(layout.routes[int(routes.argmax())]) if routes.max() > 0 else term.route
        treatments.append(
            Treatment(
                drug=drug,
                route=route,
                dose=round(float(v[start + 1]) * term.reference_dose, 4)
                if v[start + 1] > 0
                else None,
                dose_unit=term.dose_unit,
                frequency_per_day=round(float(v[start + 2]) * FREQ_SCALE, 4)
                if v[start + 2] > 0
                else None,
                duration_days=round(math.expm1(float(v[start + 3]) * LOG_DAYS), 3)
                if v[start + 3] > 0
                else None,
            )
        )
    return Outcome(
        icd10=icd10,
        disease=name,
        confidence=confidence,
        complications=complications,
        treatments=tuple(treatments),
    )


def v1_to_features(
    v: NDArray[np.floating], layout: V1Layout
) -> tuple[tuple[Symptom, ...], tuple[LabValue, ...]]:
    """Decode V1 back to symptoms and labs (in schema order)."""
    symptoms = []
    labs = []
    for attribute, (start, stop) in layout.groups.items():
        if v[start] < 0.5:
            continue
        kind, name = attribute.split(":", 1)
        if kind == "symptom":
            onsets = v[start + 3 : stop]
            symptoms.append(
                Symptom(
                    name=name,
                    severity=round(float(v[start + 1]) * 10, 4) if v[start + 1] > 0 else None,
                    duration_days=round(math.expm1(float(v[start + 2]) * LOG_DAYS), 3)
                    if v[start + 2] > 0
                    else None,
                    onset=Onset(layout.onsets[int(onsets.argmax())]),
                )
            )
        else:
            lab = layout.labs[name]
            value = (
                lab.levels[int(v[start + 1 : stop].argmax())]
                if lab.levels
                else unscale_lab(lab, float(v[start + 1]))
            )
            labs.append(
                LabValue(
                    name=name,
                    value=round(value, 4),
                    unit=lab.unit,
                    normal_low=lab.normal_low,
                    normal_high=lab.normal_high,
                )
            )
    return tuple(symptoms), tuple(labs)
