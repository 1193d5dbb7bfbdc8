"""Finding names outside the consortium vocabulary are reported with the nearest terms."""

from diagnosis.vocabulary import Vocabulary
from hospital.emr.records import CaseRecord, LabValue, Symptom

VOCAB = Vocabulary(["high_fever", "mild_fever", "cough", "muscle_pain"], ["temperature", "wbc"])


def _query(*symptoms: str, labs: tuple[str, ...] = ()) -> CaseRecord:
    return CaseRecord(
        patient_id="q",
        symptoms=tuple(Symptom(name=s) for s in symptoms),
        labs=tuple(LabValue(name=n, value=1.0) for n in labs),
    )


def test_known_terms_in_any_spelling_are_not_reported() -> None:
    assert VOCAB.unknown_terms(_query("Cough", "muscle pain", labs=("Temperature",))) == []


def test_unknown_symptom_names_its_field_and_close_terms() -> None:
    (fever,) = VOCAB.unknown_terms(_query("cough", "fever"))
    assert fever.field == "symptoms[1].name" and fever.name == "fever"
    assert set(fever.did_you_mean) >= {"high_fever", "mild_fever"}


def test_unknown_lab_and_a_term_with_nothing_close() -> None:
    terms = VOCAB.unknown_terms(_query("zzzz", labs=("wbcc",)))
    assert [(t.field, t.did_you_mean) for t in terms] == [
        ("symptoms[0].name", []),
        ("labs[0].name", ["wbc"]),
    ]
