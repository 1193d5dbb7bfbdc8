"""One key scheme: the vectoriser's V1 groups, the matcher's weights and its evidence agree."""

from __future__ import annotations

from diagnosis.index import CaseIndex
from diagnosis.similarity import case_similarity
from hospital.emr.records import CaseRecord, LabValue, Symptom, lab_key, normalize_term, symptom_key
from hospital.emr.schema import schema_named
from hospital.service.consortium_model import attribute_columns
from hospital.vectorize.encode import case_to_v1
from hospital.vectorize.layout import v1_layout


def test_a_term_is_normalised_as_the_emr_stores_it() -> None:
    assert normalize_term("  Chest - Pain ") == "chest_pain"
    assert normalize_term("toxic_look_(typhos)") == "toxic_look_typhos"
    assert symptom_key("Chest Pain") == "symptom:chest_pain"
    assert lab_key("Troponin I") == "lab:troponin_i"


def test_v1_groups_are_keyed_by_the_attribute_keys_of_the_schema_terms() -> None:
    schema = schema_named("general")
    groups = v1_layout(schema).groups
    expected = {symptom_key(s) for s in schema.symptoms} | {lab_key(x.name) for x in schema.labs}
    assert set(groups) == expected


def test_a_finding_lands_in_its_v1_group_however_it_is_spelt() -> None:
    layout = v1_layout(schema_named("general"))
    plain = CaseRecord(patient_id="p", symptoms=(Symptom(name="chest_pain", severity=5),))
    spelt = CaseRecord(patient_id="p", symptoms=(Symptom(name="Chest Pain", severity=5),))
    assert (case_to_v1(plain, layout) == case_to_v1(spelt, layout)).all()
    start, _ = layout.groups[symptom_key("chest pain")]
    assert case_to_v1(spelt, layout)[start] == 1.0


def test_model_importance_keys_weigh_the_matchers_attributes() -> None:
    columns = attribute_columns(v1_layout(schema_named("general")))
    weights = dict.fromkeys(columns, 0.0)  # a model that finds only chest pain worth anything
    weights[symptom_key("chest_pain")] = 2.0
    case = CaseRecord(
        case_id="c",
        patient_id="p",
        symptoms=(Symptom(name="Chest Pain"),),
        labs=(LabValue(name="heart rate", value=80.0),),
    )
    evidence = case_similarity(case, case, weights).contributions
    assert {c.attribute: c.weight for c in evidence} == {
        "symptom:chest_pain": 2.0,
        "lab:heart_rate": 0.0,
    }
    index = CaseIndex()
    index.add(case)
    ws, wl = index.weight_vectors(weights)
    assert ws.tolist() == [2.0] and wl.tolist() == [0.0]
