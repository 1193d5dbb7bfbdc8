"""A suggestion's JSON from msgspec is what pydantic writes for the documented schema."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pydantic import BaseModel, TypeAdapter

from diagnosis.ports import InMemoryCaseLibrary
from diagnosis.schemas import DiagnosisRequest, DiagnosisSuggestion, to_json
from diagnosis.service import DiagnosisService
from diagnosis.vocabulary import Vocabulary
from hospital.datagen.generate import synthetic_cases

SYMPTOMS = [
    ("chest_pain", 0.5, "exertional", 6),
    ("breathlessness", 2, "gradual", 5),
    ("cough", 5, "gradual", 6),
    ("fever", 3, "sudden", 6),
    ("wheezing", 1, "sudden", 6),
    ("heartburn", 40, "postprandial", 5),
    ("sweating", 0.1, "sudden", 5),
]


def findings(rng: random.Random) -> dict[str, object]:
    """A doctor's findings as they arrive over REST (the load benchmark's shape)."""
    return {
        "patient_id": f"json-{rng.randrange(10**6)}",
        "symptoms": [
            {"name": n, "duration_days": d * rng.uniform(0.5, 1.5), "onset": o, "severity": s}
            for n, d, o, s in rng.sample(SYMPTOMS, rng.randint(2, 4))
        ],
        "labs": [{"name": "crp", "value": rng.uniform(1, 150), "normal_low": 0, "normal_high": 5}],
        "top_k": 10,
        "threshold": 0.3,
    }


def test_to_json_writes_the_bytes_pydantic_writes_and_they_validate_against_the_schema() -> None:
    cases = list(synthetic_cases(800, seed=4))
    library = InMemoryCaseLibrary(cases)
    names = {s.name for c in cases for s in c.symptoms} - {"cough"}  # some unknown terms
    vocabulary = Vocabulary(names, {lab.name for c in cases for lab in c.labs})
    service = DiagnosisService(library=library, sink=library, vocabulary=vocabulary)
    rng = random.Random(8)
    requests = [DiagnosisRequest.model_validate(findings(rng)) for _ in range(60)]
    schema = TypeAdapter(DiagnosisSuggestion)
    suggestions = service.suggest_many(requests)
    assert any(s.unknown_terms for s in suggestions) and any(s.treatment_plan for s in suggestions)
    for suggestion in suggestions:
        reply = to_json(suggestion)
        assert reply == schema.dump_json(suggestion)
        assert schema.dump_json(schema.validate_json(reply)) == reply  # extra fields refused


def test_to_json_refuses_a_model_it_does_not_know_to_be_plain() -> None:
    class Other(BaseModel):
        x: int = 1

    with pytest.raises(TypeError, match="Other"):
        to_json({"part": Other()})


def test_a_pending_feedback_is_written_as_pydantic_writes_it_and_reads_back() -> None:
    from diagnosis.ports import PendingFeedback
    from hospital.emr.records import CaseRecord, Diagnosis, Disease, Treatment

    cases = list(synthetic_cases(200, seed=6))
    rng = random.Random(2)
    for case in cases[:60]:
        query = DiagnosisRequest.model_validate(findings(rng)).as_case()
        leader = case.diagnosis.disease if case.diagnosis else None
        pending = PendingFeedback(query=query, leader=leader, plan=case.treatments)
        assert to_json(pending) == pending.model_dump_json().encode()
        assert PendingFeedback.model_validate_json(to_json(pending)) == pending
    full = CaseRecord(
        patient_id="p",
        date=dt.date(2026, 12, 4),
        diagnosis=Diagnosis(
            disease=Disease(icd10="J18.9", name="Pneumonia"), complications=("sepsis",)
        ),
        treatments=(Treatment(drug="amoxicillin", dose=500, dose_unit="mg"),),
    )
    assert to_json(full) == full.model_dump_json().encode()
    with pytest.raises(TypeError, match="CaseRecord"):  # bytes: pydantic writes text
        to_json(full.model_copy(update={"image": b"\x89PNG"}))
