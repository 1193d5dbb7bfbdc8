from pathlib import Path

import numpy as np

from hospital.datagen.generate import generate_hospitals
from hospital.emr.importers.uci_heart import parse_heart
from hospital.emr.schema import default_schema, heart_schema
from hospital.vectorize import (
    case_to_v1,
    case_to_v2,
    v1_layout,
    v1_to_features,
    v2_layout,
    v2_to_outcome,
    vectorize_cases,
)

from .helpers_emr import HEART, sample_case


def test_v2_decodes_to_the_cases_diagnosis_and_plan():
    case = sample_case()
    layout = v2_layout(default_schema())
    outcome = v2_to_outcome(case_to_v2(case, layout), layout)
    assert (outcome.icd10, outcome.disease) == ("J18.9", "Pneumonia")
    assert set(outcome.complications) == {"pleural_effusion", "sepsis"}
    got = {t.drug: t for t in outcome.treatments}
    for t in case.treatments:
        back = got[t.drug]
        assert back.route == t.route and back.dose_unit == t.dose_unit
        assert back.dose == t.dose and back.frequency_per_day == t.frequency_per_day
        assert abs(back.duration_days - t.duration_days) < 1e-3
    assert "Pneumonia" in outcome.describe()


def test_v1_decodes_back_to_the_cases_features():
    case = sample_case()
    layout = v1_layout(default_schema())
    symptoms, labs = v1_to_features(case_to_v1(case, layout), layout)
    assert {s.name: (s.onset, s.severity) for s in symptoms} == {
        s.name: (s.onset, s.severity) for s in case.symptoms
    }
    for s in symptoms:
        orig = next(o for o in case.symptoms if o.name == s.name)
        assert abs(s.duration_days - orig.duration_days) < 1e-3
    assert {v.name: round(v.value, 3) for v in labs} == {v.name: v.value for v in case.labs}


def test_generated_cases_round_trip_through_v2():
    cases = [g.case for g in generate_hospitals(2, 200, seed=3)[0].cases]
    layout = v2_layout(default_schema())
    for case in cases:
        outcome = v2_to_outcome(case_to_v2(case, layout), layout)
        assert outcome.icd10 == case.diagnosis.disease.icd10
        assert set(outcome.complications) == set(case.diagnosis.complications)
        assert {t.drug for t in outcome.treatments} == {t.drug for t in case.treatments}


def test_v1_groups_tile_the_columns_by_attribute():
    layout = v1_layout(default_schema())
    spans = sorted(layout.groups.values())
    assert spans[0][0] == 0 and spans[-1][1] == layout.width
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    for attribute, (start, stop) in layout.groups.items():
        assert all(c.startswith(attribute + ":") for c in layout.columns[start:stop])


def test_heart_cases_vectorise_with_missing_values_left_empty():
    cases = [p.case for p in parse_heart(Path(HEART / "processed.va.data"))]
    x, y = vectorize_cases(cases, v1_layout(heart_schema()), v2_layout(heart_schema()))
    assert x.shape == (200, 73) and y.shape == (200, 2)
    assert np.all(y.sum(axis=1) == 1)  # every case has exactly one diagnosis
    layout = v1_layout(heart_schema())
    ca = layout.groups["lab:major_vessels_fluoroscopy"][0]
    assert x[0, ca] == 0.0  # VA row 1 has ca = '?'
