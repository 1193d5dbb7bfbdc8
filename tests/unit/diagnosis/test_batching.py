"""Batched matching and micro-batched requests: each query gets exactly what it gets alone."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence

import pytest

from diagnosis.api.batching import SuggestionBatcher
from diagnosis.index import CaseIndex, MatchQuery
from diagnosis.ports import InMemoryCaseLibrary
from diagnosis.schemas import DiagnosisRequest, DiagnosisSuggestion, to_json
from diagnosis.service import DiagnosisService
from hospital.datagen.generate import synthetic_cases
from hospital.emr.records import CaseRecord, Diagnosis, Disease, LabValue, Onset, Symptom

NAMES = ["cough", "fever", "chest pain", "sweating", "wheezing", "nausea", "rash", "unheard_of"]
LABS = ["crp", "troponin", "ldl", "glucose", "sodium"]


def random_findings(rng: random.Random) -> tuple[list[Symptom], list[LabValue]]:
    """Findings that reach every branch: no/zero/positive duration, unknown onset, no
    severity, labs with and without a normal range, repeated and unknown names."""
    symptoms = [
        Symptom(
            name=rng.choice(NAMES),
            duration_days=rng.choice([None, 0.0, rng.uniform(0.1, 30)]),
            onset=rng.choice(list(Onset)),
            severity=rng.choice([None, float(rng.randint(0, 10))]),
        )
        for _ in range(rng.randint(0, 5))
    ]
    labs = []
    for _ in range(rng.randint(0 if symptoms else 1, 3)):
        ranged = rng.random() < 0.6
        labs.append(
            LabValue(
                name=rng.choice(LABS),
                value=rng.choice([0.0, rng.uniform(-5, 200)]),
                normal_low=0.0 if ranged else None,
                normal_high=rng.choice([0.0, 5.0, 40.0]) if ranged else None,
            )
        )
    return symptoms, labs


@pytest.fixture(scope="module")
def library() -> InMemoryCaseLibrary:
    rng = random.Random(4)
    odd = []
    for i in range(150):
        symptoms, labs = random_findings(rng)
        odd.append(
            CaseRecord(
                case_id=f"odd-{i}",
                patient_id="p",
                symptoms=tuple(symptoms),
                labs=tuple(labs),
                diagnosis=Diagnosis(disease=Disease(icd10="R69", name="odd")),
            )
        )
    return InMemoryCaseLibrary([*synthetic_cases(300, seed=2), *odd])


def queries(n: int, seed: int) -> list[DiagnosisRequest]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        symptoms, labs = random_findings(rng)
        if symptoms or labs:
            out.append(
                DiagnosisRequest(
                    patient_id=f"q{len(out)}",
                    symptoms=symptoms,
                    labs=labs,
                    top_k=rng.choice([1, 5, 10]),
                    threshold=rng.choice([0.0, 0.3]),
                )
            )
    return out


def test_a_batch_of_queries_matches_each_exactly_as_alone(library: InMemoryCaseLibrary) -> None:
    index = CaseIndex()
    index.add_many(library.iter_cases())
    weights = {"symptom:cough": 2.0, "lab:crp": 0.5, "symptom:fever": 0.0}
    batch = [MatchQuery(r.as_case(), r.top_k, r.threshold) for r in queries(120, seed=9)]

    together = index.top_k_many(batch, weights, version=1)

    alone = [index.top_k(q.query, weights, k=q.k, threshold=q.threshold, version=1) for q in batch]
    assert together == alone
    assert sum(len(m) for m in together) > 300  # most queries found cases


def without_identity(s: DiagnosisSuggestion) -> dict[str, object]:
    reply = json.loads(to_json(s))
    del reply["suggestion_id"], reply["created_at"]
    return reply


class CountingService(DiagnosisService):
    """The real service, remembering how many requests each batch carried."""

    batches: list[int]

    def suggest_many(self, requests: Sequence[DiagnosisRequest]) -> list[DiagnosisSuggestion]:
        self.batches.append(len(requests))
        return super().suggest_many(requests)


def test_concurrent_requests_are_answered_together_each_as_if_alone(
    library: InMemoryCaseLibrary,
) -> None:
    service = CountingService(library=library, sink=library)
    service.batches = []
    requests = queries(30, seed=5)

    async def all_at_once() -> list[DiagnosisSuggestion]:
        batcher = SuggestionBatcher(service, max_batch=16)
        return await asyncio.gather(*(batcher.suggest(r) for r in requests))

    answers = asyncio.run(all_at_once())
    assert service.batches == [16, 14]
    alone = [service.suggest(r) for r in requests]
    assert [without_identity(a) for a in answers] == [without_identity(a) for a in alone]
    assert len({a.suggestion_id for a in answers}) == 30


def test_a_request_that_fails_in_a_batch_fails_alone(library: InMemoryCaseLibrary) -> None:
    def model(case: CaseRecord) -> dict[str, float]:
        if case.patient_id == "q3":
            raise RuntimeError("model cannot read this case")
        return {"J18.9": 1.0}

    service = DiagnosisService(library=library, sink=library, model=model)
    requests = queries(6, seed=1)

    async def all_at_once() -> list[DiagnosisSuggestion | BaseException]:
        batcher = SuggestionBatcher(service)
        return await asyncio.gather(*(batcher.suggest(r) for r in requests), return_exceptions=True)

    answers = asyncio.run(all_at_once())
    assert isinstance(answers[3], RuntimeError)
    assert all(isinstance(a, DiagnosisSuggestion) for i, a in enumerate(answers) if i != 3)


def test_a_batch_is_replied_to_before_the_next_batch_is_computed(
    library: InMemoryCaseLibrary,
) -> None:
    """Under a backlog, batch 1's requests resume (and reply) before batch 2 is computed."""
    events: list[str] = []

    class Recording(DiagnosisService):
        def suggest_many(self, requests: Sequence[DiagnosisRequest]) -> list[DiagnosisSuggestion]:
            events.append(f"compute {[r.patient_id for r in requests]}")
            return super().suggest_many(requests)

    service = Recording(library=library, sink=library)
    requests = queries(6, seed=8)

    async def backlog() -> None:
        batcher = SuggestionBatcher(service, max_batch=2)

        async def ask(r: DiagnosisRequest) -> None:
            await batcher.suggest(r)
            events.append(f"reply {r.patient_id}")

        await asyncio.gather(*(ask(r) for r in requests))

    asyncio.run(backlog())
    assert events == [
        "compute ['q0', 'q1']",
        "reply q0",
        "reply q1",
        "compute ['q2', 'q3']",
        "reply q2",
        "reply q3",
        "compute ['q4', 'q5']",
        "reply q4",
        "reply q5",
    ]
