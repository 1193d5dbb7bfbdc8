"""The heart federation's round model: the UCI heart schema, one 2-class diagnosis head."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hospital.emr.importers.uci_heart import parse_heart
from hospital.emr.store import NewCase
from hospital.service.consortium_model import DIAGNOSIS, CaseTrainer, case_data
from hospital.service.rounds import RoundSettings, initial_weights, model_layout
from hospital.training import TrainConfig
from node.netup import NetworkOptions

from ..helpers_emr import HEART


def test_heart_schema_model_has_only_a_two_class_diagnosis_head():
    v1, v2, spec = model_layout([16], "uci-heart")
    assert [(h.name, h.size) for h in spec.heads] == [(DIAGNOSIS, 2)]
    assert sorted(v2.diseases) == ["I25.10", "Z03.89"]
    assert initial_weights([16], 0, "uci-heart").size == (v1.width + 1) * 16 + 17 * 2
    assert initial_weights([16]).size > 10 * initial_weights([16], 0, "uci-heart").size


def test_round_settings_read_the_schema_from_the_environment(monkeypatch):
    monkeypatch.setenv("FEDCHAIN_ROUND_SCHEMA", "uci-heart")
    assert RoundSettings().schema_name == "uci-heart"
    monkeypatch.setenv("FEDCHAIN_ROUND_SCHEMA", "cardio")
    with pytest.raises(ValidationError):
        RoundSettings()


def test_cleveland_cases_train_the_heart_model_above_the_majority_class():
    cases = [
        p.case for p in parse_heart(HEART / "processed.cleveland.data") if isinstance(p, NewCase)
    ]
    v1, v2, spec = model_layout([16], "uci-heart")
    trainer = CaseTrainer(spec, case_data(cases, v1, v2), TrainConfig(**NetworkOptions().train))
    start = initial_weights([16], 0, "uci-heart")
    weights = start
    for _ in range(3):  # three rounds of one hospital alone
        delta, n = trainer.train(weights)
        weights = weights + delta
    labels = trainer.holdout.targets[DIAGNOSIS]
    majority = max(float(labels.float().mean()), 1 - float(labels.float().mean()))
    assert n == len(trainer.train_split) > 200
    assert trainer.evaluate(weights) > max(majority, trainer.evaluate(start)) + 0.1
