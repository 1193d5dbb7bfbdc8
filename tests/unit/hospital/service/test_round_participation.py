"""A hospital's round participation: trains on its shared cases, claims no more than aligned,
and hands each applied model to diagnosis."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from diagnosis.service import DiagnosisService
from hospital.alignment import AlignmentPurpose, LocalLink, WireLog, run_alignment
from hospital.alignment.party import AlignmentParty
from hospital.datagen.generate import generate_hospitals
from hospital.emr.store import NewCase, open_store
from hospital.service.alignment import AlignmentBook
from hospital.service.library import EmrCaseLibrary
from hospital.service.rounds import HospitalRounds, RoundSettings, initial_weights
from hospital.training import TrainConfig
from node.errors import ValidationFailed

HIDDEN = [8]


@pytest.fixture
def books(tmp_path):
    books = []
    for lib in generate_hospitals(2, 300, seed=3):
        store = open_store(f"sqlite:///{tmp_path / (lib.name + '.sqlite')}")
        store.add_cases([NewCase(case=g.case, source="gen", ref=g.ref) for g in lib.cases])
        books.append(AlignmentBook(store, tmp_path / "align" / lib.name))
    log = WireLog()
    parties = [
        AlignmentParty(f"h{k}", b.items_for, secret=b"test-salt", on_result=b.on_result)
        for k, b in enumerate(books)
    ]
    run_alignment(
        [LocalLink(p, log) for p in parties],
        run="1",
        purpose=AlignmentPurpose.PATHOLOGY,
        min_other_holders=1,
        log=log,
    )
    yield books
    for b in books:
        b.store.close()


def _rounds(book: AlignmentBook) -> tuple[HospitalRounds, DiagnosisService]:
    library = EmrCaseLibrary(book.store)
    service = DiagnosisService(library=library, sink=library)
    settings = RoundSettings(hidden=HIDDEN, train=TrainConfig(epochs=2, batch_size=16))
    rounds = HospitalRounds(
        book=book,
        service=service,
        settings=settings,
        client_factory=lambda train, evaluate: SimpleNamespace(),
    )  # type: ignore[arg-type,return-value]
    return rounds, service


def test_update_weight_is_capped_at_the_shared_cases_recorded_on_chain(books):
    rounds, _ = _rounds(books[0])
    start = initial_weights(HIDDEN)
    delta, claimed = rounds.train(start)
    trained = len(rounds.trainer().train_split)
    assert delta.shape == start.shape
    assert claimed == min(trained, rounds.aligned_size()) and claimed > 0
    # the recorded size counts the hospital's cases with a shared signature, not the signatures
    items = books[0].latest(AlignmentPurpose.PATHOLOGY).shared_items()
    shared_cases = books[0].training_cases(min_other_holders=1)
    assert rounds.aligned_size() == len(shared_cases) > len(items)


def test_a_model_of_another_size_is_refused_naming_the_setting(books):
    rounds, _ = _rounds(books[0])
    with pytest.raises(ValidationFailed) as err:
        rounds.train(np.zeros(10, np.float32))
    assert err.value.field == "FEDCHAIN_ROUND_HIDDEN"


def test_an_applied_model_reaches_diagnosis_with_its_attribute_weights(books):
    rounds, service = _rounds(books[0])
    start = initial_weights(HIDDEN)
    delta, _ = rounds.train(start)
    rounds.refresh_diagnosis(start + delta, round_id=2)
    assert service.model is not None
    snap = service.weights.current()
    assert snap.round_id == 2 and snap.source.value == "model"
    assert rounds._applied == 2 and rounds._holdout is not None


def test_the_applied_model_is_reported_with_its_sealed_hash(books):
    from node.chain.ledgerview import LedgerView
    from node.fedopt import GlobalModel, model_hash

    start = initial_weights(HIDDEN)
    zeros = np.zeros_like(start)
    model = GlobalModel(round=3, spec_hash="ab" * 32, weights=start, m=zeros, v=zeros)
    client = SimpleNamespace(
        tick=lambda: None,
        model=model,
        applied_round=3,
        view=LedgerView(),
        receipts={},
        refused={},
    )
    library = EmrCaseLibrary(books[0].store)
    rounds = HospitalRounds(
        book=books[0],
        service=DiagnosisService(library=library, sink=library),
        settings=RoundSettings(hidden=HIDDEN),
        client_factory=lambda train, evaluate: client,
    )  # type: ignore[arg-type,return-value]
    assert rounds.status().applied_model_hash == ""
    rounds.tick()  # a restarted hospital's first tick: the chain's sealed model is applied
    status = rounds.status()
    assert status.applied_round == 3
    assert status.applied_model_hash == model_hash(model).hex()


def test_an_applied_model_reaches_every_process_serving_the_database(books, tmp_path):
    from diagnosis.schemas import DiagnosisRequest
    from hospital.emr.store import open_store
    from hospital.service.diagnosis_app import diagnosis_service

    url = str(books[0].store.engine.url)
    hospital = diagnosis_service(books[0].store)
    settings = RoundSettings(hidden=HIDDEN, train=TrainConfig(epochs=2, batch_size=16))
    rounds = HospitalRounds(
        book=books[0],
        service=hospital,
        settings=settings,
        client_factory=lambda train, evaluate: SimpleNamespace(),
    )  # type: ignore[arg-type,return-value]
    other_store = open_store(url)  # another worker: its own engine on the same file
    try:
        worker = diagnosis_service(other_store)
        assert worker.model is None and worker.current_weights().source.value == "uniform"

        rounds.refresh_diagnosis(initial_weights(HIDDEN) * 1.5, round_id=2)
        mine, theirs = hospital.current_weights(), worker.current_weights()
        assert theirs.source.value == "model" and theirs.round_id == 2
        assert theirs == mine  # same weights under the same version in both processes
        case = next(books[0].store.iter_cases())
        request = DiagnosisRequest(
            patient_id="p", symptoms=list(case.symptoms), labs=list(case.labs)
        )
        a, b = hospital.suggest(request), worker.suggest(request)
        assert a.model_used and b.model_used
        assert a.diagnoses == b.diagnoses and a.evidence == b.evidence

        # overrides set in one process are in force in the other, under one version
        with pytest.raises(ValidationFailed):
            worker.set_overrides({"colour": 2.0})
        assert hospital.current_weights() == mine  # nothing published by the refusal
        worker.set_overrides({"symptom:Chest Pain": 3.0})
        now = hospital.current_weights()
        assert now.overrides == {"symptom:chest_pain": 3.0}
        assert now.weights["symptom:chest_pain"] == 3.0 and now.version > mine.version
        assert now == worker.current_weights()
    finally:
        other_store.close()
