"""Pure functions: case → V1 (features) and case → V2 (outcome).

Unknown terms are skipped here; `hospital.emr.mapping.unknown_terms` reports them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from hospital.emr.records import CaseRecord, lab_key, normalize_term, symptom_key
from hospital.emr.schema import LabTerm
from hospital.vectorize.layout import CLIP, DRUG_PARTS, FREQ_SCALE, LOG_DAYS, V1Layout, V2Layout


def scale_lab(lab: LabTerm, value: float) -> float:
    """A numeric lab's value with its normal range mapped to [0, 1] (value/100 without one)."""
    if (
        lab.normal_low is not None
        and lab.normal_high is not None
        and lab.normal_high > lab.normal_low
    ):
        scaled = (value - lab.normal_low) / (lab.normal_high - lab.normal_low)
    else:
        scaled = value / 100.0
    return max(-CLIP, min(CLIP, scaled))


def unscale_lab(lab: LabTerm, scaled: float) -> float:
    """Inverse of `scale_lab` (for values inside the clip)."""
    if (
        lab.normal_low is not None
        and lab.normal_high is not None
        and lab.normal_high > lab.normal_low
    ):
        return lab.normal_low + scaled * (lab.normal_high - lab.normal_low)
    return scaled * 100.0


def case_to_v1(case: CaseRecord, layout: V1Layout) -> NDArray[np.float32]:
    """The feature vector V1 of a case."""
    v = np.zeros(layout.width, dtype=np.float32)
    for s in case.symptoms:
        group = layout.groups.get(symptom_key(s.name))
        if group is None:
            continue
        start = group[0]
        v[start] = 1.0
        if s.severity is not None:
            v[start + 1] = s.severity / 10.0
        if s.duration_days is not None:
            v[start + 2] = math.log1p(s.duration_days) / LOG_DAYS
        v[start + 3 + layout.onsets.index(s.onset.value)] = 1.0
    for value in case.labs:
        group = layout.groups.get(lab_key(value.name))
        if group is None:
            continue
        start = group[0]
        lab = layout.labs[normalize_term(value.name)]
        if lab.levels:
            if value.value in lab.levels:
                v[start] = 1.0
                v[start + 1 + lab.levels.index(value.value)] = 1.0
        else:
            v[start] = 1.0
            v[start + 1] = scale_lab(lab, value.value)
    return v


def case_to_v2(case: CaseRecord, layout: V2Layout) -> NDArray[np.float32]:
    """The outcome vector V2 of a case: diagnosis, complications, treatment components."""
    v = np.zeros(layout.width, dtype=np.float32)
    if case.diagnosis is not None:
        hit = layout.diseases.get(case.diagnosis.disease.icd10)
        if hit is not None:
            v[hit[0]] = 1.0
        for c in case.diagnosis.complications:
            if c in layout.complications:
                v[layout.complications[c]] = 1.0
    for t in case.treatments:
        hit_drug = layout.drugs.get(t.drug)
        if hit_drug is None:
            continue
        start, term = hit_drug
        v[start] = 1.0
        if t.dose is not None:
            v[start + 1] = t.dose / term.reference_dose
        if t.frequency_per_day is not None:
            v[start + 2] = t.frequency_per_day / FREQ_SCALE
        if t.duration_days is not None:
            v[start + 3] = math.log1p(t.duration_days) / LOG_DAYS
        v[start + len(DRUG_PARTS) + layout.routes.index(t.route.value)] = 1.0
    return v


def vectorize_cases(
    cases: Iterable[CaseRecord], v1: V1Layout, v2: V2Layout
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Stack V1 and V2 of many cases into two matrices (rows = cases)."""
    xs, ys = [], []
    for case in cases:
        xs.append(case_to_v1(case, v1))
        ys.append(case_to_v2(case, v2))
    if not xs:
        return np.zeros((0, v1.width), np.float32), np.zeros((0, v2.width), np.float32)
    return np.stack(xs), np.stack(ys)
