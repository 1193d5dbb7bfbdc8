import pytest

from hospital.emr.identity import national_id_token
from hospital.emr.knowledge import load_knowledge
from hospital.emr.mapping import TermKind, VocabularyMap, map_case, unknown_terms
from hospital.emr.records import Symptom
from hospital.emr.schema import default_schema, heart_schema, schema_hash
from node.errors import ValidationFailed

from .helpers_emr import SALT, sample_case


def test_schema_hash_is_stable_and_tracks_any_change():
    schema = default_schema()
    assert schema_hash(schema) == schema_hash(default_schema().model_copy())
    assert len(schema_hash(schema)) == 64
    bumped = schema.model_copy(update={"version": "1.0.1"})
    assert schema_hash(bumped) != schema_hash(schema)
    assert schema_hash(heart_schema()) != schema_hash(schema)


def test_every_knowledge_term_is_in_the_default_schema():
    schema = default_schema()
    labs = {lab.name for lab in schema.labs}
    for disease in load_knowledge().diseases:
        assert schema.disease_by_code(disease.icd10) is not None
        assert {s.term for s in disease.symptoms} <= set(schema.symptoms)
        assert {lab.term for lab in disease.labs} <= labs
        assert {d.drug for d in disease.drugs} <= {d.name for d in schema.drugs}


def test_local_vocabulary_maps_onto_schema_and_unknown_terms_are_reported():
    case = sample_case().model_copy(
        update={"symptoms": (Symptom(name="Productive Cough"), Symptom(name="levitation"))}
    )
    vocab = VocabularyMap(symptoms={"productive cough": "cough"})
    mapped = map_case(case, vocab)
    assert [s.name for s in mapped.symptoms] == ["cough", "levitation"]  # nothing dropped
    unknown = unknown_terms(mapped, default_schema())
    assert [(u.kind, u.term) for u in unknown] == [(TermKind.SYMPTOM, "levitation")]


def test_national_id_token_is_deterministic_salted_and_normalised():
    a = national_id_token("123-45 6789", SALT)
    assert a == national_id_token("123456789", SALT)
    assert a != national_id_token("123456789", SALT + b"x")
    assert len(a) == 64 and "123456789" not in a


def test_short_salt_is_refused_with_the_field_named():
    with pytest.raises(ValidationFailed) as err:
        national_id_token("1", b"short")
    assert err.value.field == "national_id_salt"
