"""The consortium BP model over the EMR schema: a hospital trains it, diagnosis uses it."""

import numpy as np
import pytest

from diagnosis.ports import BatchDiagnosisModel, predict_all
from diagnosis.weights import WeightBook
from hospital.datagen.generate import generate_hospitals
from hospital.emr.schema import default_schema
from hospital.models import build_model
from hospital.service.consortium_model import (
    DIAGNOSIS,
    CaseTrainer,
    attribute_columns,
    case_data,
    consortium_spec,
    diagnosis_model,
)
from hospital.training import TrainConfig, parameter_count
from hospital.vectorize import v1_layout, v2_layout
from node.errors import ValidationFailed


@pytest.fixture(scope="module")
def setting():
    schema = default_schema()
    v1, v2 = v1_layout(schema), v2_layout(schema)
    cases = [g.case for g in generate_hospitals(1, 400, seed=2)[0].cases]
    spec = consortium_spec(v1, v2, hidden=(32,))
    return v1, v2, cases, spec


def test_local_training_returns_a_delta_that_improves_the_holdout(setting):
    v1, v2, cases, spec = setting
    trainer = CaseTrainer(
        spec,
        case_data(cases, v1, v2),
        TrainConfig(epochs=5, batch_size=16, optimizer="adam", lr=3e-3),
    )
    start = trainer.initial_weights()
    delta, n = trainer.train(start)
    assert delta.shape == (parameter_count(build_model(spec, 0)),) and delta.dtype == np.float32
    assert n == len(trainer.train_split) and n + len(trainer.holdout) == len(cases)
    before, after = trainer.evaluate(start), trainer.evaluate(start + delta)
    assert after > before and after > 0.8
    # the same global model and seed give the same update (every hospital is reproducible)
    again, _ = trainer.train(start)
    assert np.array_equal(delta, again)


def test_too_few_shared_samples_is_a_clear_error(setting):
    v1, v2, cases, spec = setting
    with pytest.raises(ValidationFailed) as err:
        CaseTrainer(spec, case_data(cases[:1], v1, v2), TrainConfig())
    assert err.value.field == "cases"


def test_trained_model_serves_diagnosis_probabilities_and_attribute_weights(setting):
    v1, v2, cases, spec = setting
    trainer = CaseTrainer(
        spec,
        case_data(cases, v1, v2),
        TrainConfig(epochs=8, batch_size=16, optimizer="adam", lr=3e-3),
    )
    start = trainer.initial_weights()
    delta, _ = trainer.train(start)
    model = build_model(spec, 0)
    import torch

    from hospital.training import load_flat

    load_flat(model, torch.from_numpy(start + delta))
    predict = diagnosis_model(model, v1, v2)
    right = 0
    for case in cases[:50]:
        proba = predict(case.model_copy(update={"diagnosis": None, "treatments": ()}))
        assert abs(sum(proba.values()) - 1) < 1e-5 and set(proba) == set(v2.diseases)
        right += max(proba, key=proba.get) == case.diagnosis.disease.icd10
    assert right >= 40
    book = WeightBook()
    snap = book.on_round_sealed(model, attribute_columns(v1), round_id=1)
    assert snap.round_id == 1 and snap.source.value == "model"
    assert abs(np.mean(list(snap.weights.values())) - 1) < 1e-9
    assert len(set(snap.weights.values())) > 1  # the model tells symptoms apart
    assert DIAGNOSIS in [h.name for h in spec.heads]


def test_a_case_gets_the_same_probabilities_alone_or_in_any_batch(setting):
    v1, v2, cases, spec = setting
    predict = diagnosis_model(build_model(spec, 7), v1, v2)
    queries = [c.model_copy(update={"diagnosis": None, "treatments": ()}) for c in cases[:40]]
    together = predict.predict_many(queries)  # passes of 16, 16 and 8 rows
    alone = [predict(q) for q in queries]
    assert together == alone  # bit for bit, not approximately
    assert all(abs(sum(p.values()) - 1) < 1e-5 for p in alone)

    # the service's batch entry point takes the batch pass; a plain function works one by one
    assert isinstance(predict, BatchDiagnosisModel)
    assert predict_all(predict, queries) == together
    assert predict_all(lambda case: alone[queries.index(case)], queries) == alone
