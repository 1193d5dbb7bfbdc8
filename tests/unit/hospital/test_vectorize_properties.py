from hypothesis import given, settings
from hypothesis import strategies as st

from hospital.emr.records import CaseRecord, Diagnosis, Disease, Onset, Route, Symptom, Treatment
from hospital.emr.schema import default_schema
from hospital.vectorize import (
    case_to_v1,
    case_to_v2,
    v1_layout,
    v1_to_features,
    v2_layout,
    v2_to_outcome,
)

SCHEMA = default_schema()
V1, V2 = v1_layout(SCHEMA), v2_layout(SCHEMA)
days = st.one_of(st.none(), st.floats(min_value=0.1, max_value=3650).map(lambda x: round(x, 1)))


@st.composite
def cases(draw):
    symptoms = draw(st.lists(st.sampled_from(SCHEMA.symptoms), max_size=6, unique=True))
    drugs = draw(st.lists(st.sampled_from(SCHEMA.drugs), max_size=4, unique_by=lambda d: d.name))
    disease = draw(st.sampled_from(SCHEMA.diseases))
    return CaseRecord(
        patient_id="p",
        symptoms=tuple(
            Symptom(
                name=s,
                onset=draw(st.sampled_from(list(Onset))),
                duration_days=draw(days),
                severity=draw(st.one_of(st.none(), st.integers(1, 20).map(lambda x: x / 2))),
            )
            for s in symptoms
        ),
        diagnosis=Diagnosis(
            disease=Disease(icd10=disease.icd10, name=disease.name),
            complications=tuple(
                draw(st.lists(st.sampled_from(SCHEMA.complications), max_size=3, unique=True))
            ),
        ),
        treatments=tuple(
            Treatment(
                drug=d.name,
                route=draw(st.sampled_from(list(Route))),
                dose=d.reference_dose * draw(st.sampled_from([0.5, 1, 2])),
                dose_unit=d.dose_unit,
                frequency_per_day=draw(st.sampled_from([1, 2, 3, 4])),
                duration_days=draw(days),
            )
            for d in drugs
        ),
    )


@settings(max_examples=60, deadline=None)
@given(cases())
def test_any_schema_case_survives_v1_and_v2_round_trips(case):
    outcome = v2_to_outcome(case_to_v2(case, V2), V2)
    assert outcome.icd10 == case.diagnosis.disease.icd10
    assert set(outcome.complications) == set(case.diagnosis.complications)
    back = {t.drug: t for t in outcome.treatments}
    assert set(back) == {t.drug for t in case.treatments}
    for t in case.treatments:
        b = back[t.drug]
        assert (b.route, b.dose, b.frequency_per_day) == (t.route, t.dose, t.frequency_per_day)
        assert (b.duration_days is None) == (t.duration_days is None)
        if t.duration_days is not None:
            assert abs(b.duration_days - t.duration_days) < 1e-2 * max(1, t.duration_days)
    symptoms, _ = v1_to_features(case_to_v1(case, V1), V1)
    assert {(s.name, s.onset, s.severity) for s in symptoms} == {
        (s.name, s.onset, s.severity) for s in case.symptoms
    }
