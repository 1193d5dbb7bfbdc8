"""The service over real parts: weight refreshes reach the matcher; bulk columns are checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from diagnosis.columns import CaseColumns
from diagnosis.index import CaseIndex
from diagnosis.ports import InMemoryCaseLibrary
from diagnosis.schemas import Decision, DiagnosisRequest, Feedback
from diagnosis.service import DiagnosisService
from diagnosis.weights import WeightBook, WeightSource
from hospital.emr.records import CaseRecord, Diagnosis, Disease, LabValue, Symptom
from node.errors import AlreadyExists, ValidationFailed


def case(cid: str, code: str, *names: str) -> CaseRecord:
    return CaseRecord(
        case_id=cid,
        patient_id="p",
        symptoms=tuple(Symptom(name=n) for n in names),
        diagnosis=Diagnosis(disease=Disease(icd10=code, name=code)),
    )


def test_a_sealed_round_changes_the_weights_the_next_suggestion_uses() -> None:
    library = InMemoryCaseLibrary(
        [case("flu", "J11", "fever", "cough"), case("cold", "J00", "cough", "sneeze")]
    )
    book = WeightBook()
    service = DiagnosisService(library=library, sink=library, weights=book)
    request = DiagnosisRequest(patient_id="q", symptoms=[Symptom(name="cough")], threshold=0)
    before = service.suggest(request)
    assert before.evidence[0].similarity == pytest.approx(0.5)
    assert before.weights.source is WeightSource.UNIFORM

    # the new global model reads only the 'cough' column of V1
    model = nn.Sequential(nn.Linear(3, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]))
    groups = {"symptom:fever": [0], "symptom:cough": [1], "symptom:sneeze": [2]}
    book.on_round_sealed(model, groups, round_id=3)

    after = service.suggest(request)
    assert (after.weights.version, after.weights.round_id) == (1, 3)
    assert [e.similarity for e in after.evidence] == pytest.approx([1.0, 1.0])


def test_bulk_columns_of_the_wrong_shape_are_refused_with_the_field() -> None:
    n = 3
    cols = CaseColumns(
        symptoms=["fever"],
        labs=[],
        present=np.ones((1, n), bool),
        duration=np.full((1, n), np.nan, np.float32),
        onset=np.full((1, n), -1, np.int8),
        severity=np.full((2, n), np.nan, np.float32),  # wrong: two symptom rows
        lab_value=np.zeros((0, n), np.float32),
        lab_width=np.zeros((0, n), np.float32),
        case_ids=["a", "b", "c"],
        diseases=["X", "X", "Y"],
        validated=np.zeros(n, bool),
    )
    with pytest.raises(ValidationFailed) as err:
        CaseIndex.from_columns(cols)
    assert err.value.field == "severity" and "(1, 3)" in (err.value.fix or "")
    cols.severity = np.full((1, n), np.nan, np.float32)
    idx = CaseIndex.from_columns(cols)
    assert [m.case_id for m in idx.top_k(case("q", "X", "fever"), {}, k=2)] == ["a", "b"]


class FlakySink(InMemoryCaseLibrary):
    """A case store whose first write fails (a database hiccup)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def add_validated_case(self, case: CaseRecord) -> CaseRecord:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        return super().add_validated_case(case)


def test_feedback_that_fails_to_store_can_be_sent_again() -> None:
    library = InMemoryCaseLibrary([case("flu", "J11", "fever", "cough")])
    sink = FlakySink()
    service = DiagnosisService(library=library, sink=sink)
    s = service.suggest(DiagnosisRequest(patient_id="q", symptoms=[Symptom(name="fever")]))
    with pytest.raises(OSError):
        service.feedback(s.suggestion_id, Feedback(decision=Decision.ACCEPT))
    assert len(service.index) == 1  # nothing half-written
    receipt = service.feedback(s.suggestion_id, Feedback(decision=Decision.ACCEPT))
    assert sink.get_case(receipt.case_id) is not None and len(service.index) == 2
    with pytest.raises(AlreadyExists, match=receipt.case_id):
        service.feedback(s.suggestion_id, Feedback(decision=Decision.ACCEPT))


def test_the_same_findings_accepted_twice_are_one_validated_case(tmp_path) -> None:
    from hospital.emr.store import open_store
    from hospital.service.diagnosis_app import diagnosis_service

    store = open_store(f"sqlite:///{tmp_path / 'emr.sqlite'}")
    try:
        service = diagnosis_service(store)
        request = DiagnosisRequest(patient_id="q", symptoms=[Symptom(name="cough")], threshold=0)
        adjust = Feedback(
            decision=Decision.ADJUST,
            final_diagnosis=Diagnosis(disease=Disease(icd10="J11", name="flu")),
        )
        first = service.feedback(service.suggest(request).suggestion_id, adjust)
        second = service.feedback(service.suggest(request).suggestion_id, adjust)
        assert first.case_id == second.case_id
        assert len(service.index) == store.count() == 1
    finally:
        store.close()


def test_a_heart_consortium_checks_terms_and_names_diseases_by_its_own_schema(tmp_path) -> None:
    from hospital.emr.store import open_store
    from hospital.service.diagnosis_app import diagnosis_service

    store = open_store(f"sqlite:///{tmp_path / 'emr.sqlite'}")
    try:
        request = DiagnosisRequest(
            patient_id="q",
            symptoms=[Symptom(name="typical_angina"), Symptom(name="cough")],
            labs=[LabValue(name="total_cholesterol", value=260.0)],
            threshold=0,
        )
        heart = diagnosis_service(store, schema_name="uci-heart")
        unknown = heart.suggest(request).unknown_terms
        assert [u.field for u in unknown] == ["symptoms[1].name"]  # cough is not a heart term
        assert heart.disease_names["I25.10"].startswith("Coronary artery disease")

        general = diagnosis_service(store)  # the general schema holds the heart terms and cough
        assert general.suggest(request).unknown_terms == []
    finally:
        store.close()
