"""Top-1 / top-3 diagnosis accuracy on held-out real data: cases, model weights, model mix.

A tiny benchmark-side vectoriser and logistic-regression model stand in for the consortium
model (the product's belong to the EMR and training areas); they exercise the same
interfaces: ``importance_from_first_layer`` for w_p and a distribution callable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from benchmarks.diagnosis.datasets import (
    heart_case,
    heart_ranges,
    load_disease_symptom,
    load_heart,
    load_severity,
    stratified_split,
    symptom_case,
)
from diagnosis.index import CaseIndex
from diagnosis.recommend import case_votes, combine
from diagnosis.similarity import first_by_name
from diagnosis.weights import importance_from_first_layer, weights_from_severity_table
from hospital.emr.records import CaseRecord

Model = Callable[[CaseRecord], Mapping[str, float]]


@dataclass
class AccuracyRow:
    dataset: str
    method: str
    n_train: int
    n_test: int
    top1: float
    top3: float


class V1:
    """Symptom presence + standardised lab columns (missing → 0), fitted on training cases."""

    def __init__(self, cases: Sequence[CaseRecord]) -> None:
        self.symptoms = sorted({s for c in cases for s in first_by_name(c.symptoms)})
        self.labs = sorted({lab for c in cases for lab in first_by_name(c.labs)})
        self.col = {f"symptom:{s}": i for i, s in enumerate(self.symptoms)}
        self.col |= {f"lab:{x}": len(self.symptoms) + i for i, x in enumerate(self.labs)}
        raw = self._raw(cases)
        lab_part = raw[:, len(self.symptoms) :]
        self.mean = np.nanmean(lab_part, axis=0) if self.labs else np.zeros(0)
        self.std = (np.nanstd(lab_part, axis=0) + 1e-6) if self.labs else np.ones(0)

    def _raw(self, cases: Sequence[CaseRecord]) -> np.ndarray:
        x = np.zeros((len(cases), len(self.col)))
        x[:, len(self.symptoms) :] = np.nan
        for i, c in enumerate(cases):
            for s in first_by_name(c.symptoms):
                if (j := self.col.get(f"symptom:{s}")) is not None:
                    x[i, j] = 1.0
            for name, lab in first_by_name(c.labs).items():
                if (j := self.col.get(f"lab:{name}")) is not None:
                    x[i, j] = lab.value
        return x

    def transform(self, cases: Sequence[CaseRecord]) -> torch.Tensor:
        x = self._raw(cases)
        k = len(self.symptoms)
        x[:, k:] = np.nan_to_num((x[:, k:] - self.mean) / self.std, nan=0.0)
        return torch.tensor(x, dtype=torch.float32)

    def groups(self) -> dict[str, list[int]]:
        return {key: [j] for key, j in self.col.items()}


def train_model(v1: V1, cases: Sequence[CaseRecord], seed: int = 0) -> tuple[nn.Module, Model]:
    """Logistic regression on V1 (full batch, Adam); returns the module and a distribution fn."""
    torch.manual_seed(seed)
    labels = sorted({label(c) for c in cases})
    y = torch.tensor([labels.index(label(c)) for c in cases])
    x = v1.transform(cases)
    model = nn.Sequential(nn.Linear(x.shape[1], len(labels)))
    opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-4)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()

    def distribution(case: CaseRecord) -> dict[str, float]:
        with torch.no_grad():
            p = torch.softmax(model(v1.transform([case])), dim=1)[0]
        return {lab: float(v) for lab, v in zip(labels, p, strict=True)}

    return model, distribution


def label(case: CaseRecord) -> str:
    assert case.diagnosis is not None
    return case.diagnosis.disease.icd10


def evaluate(
    train: Sequence[CaseRecord],
    test: Sequence[CaseRecord],
    weights: Mapping[str, float],
    *,
    model: Model | None = None,
    alpha: float = 0.0,
    k: int = 10,
) -> tuple[float, float]:
    """(top-1, top-3) accuracy; alpha = 1 is the model alone, 0 the cases alone."""
    index = CaseIndex()
    index.add_many(train)
    records = {c.case_id: c for c in train if c.case_id}
    hit1 = hit3 = 0
    for case in test:
        if alpha < 1:
            matches = index.top_k(case, weights, k=k, version=1)
            votes = case_votes(matches, records)
        else:
            votes = {}
        dist = model(case) if model is not None and alpha > 0 else None
        scores = combine(votes, dist, alpha)
        ranked = [d for d, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]
        hit1 += ranked[:1] == [label(case)]
        hit3 += label(case) in ranked[:3]
    return hit1 / len(test), hit3 / len(test)


def _methods(
    name: str,
    train: list[CaseRecord],
    test: list[CaseRecord],
    fallback: Mapping[str, float] | None,
) -> list[AccuracyRow]:
    v1 = V1(train)
    module, dist = train_model(v1, train)
    model_w = importance_from_first_layer(module, v1.groups())
    runs: list[tuple[str, Mapping[str, float], Model | None, float]] = [
        ("cases, uniform w", {}, None, 0.0)
    ]
    if fallback is not None:
        runs.append(("cases, severity-table w", fallback, None, 0.0))
    runs += [
        ("cases, model w (first layer)", model_w, None, 0.0),
        ("model alone", {}, dist, 1.0),
        ("cases (model w) + model, α=0.5", model_w, dist, 0.5),
    ]
    rows = []
    for method, w, m, alpha in runs:
        t1, t3 = evaluate(train, test, w, model=m, alpha=alpha)
        rows.append(AccuracyRow(name, method, len(train), len(test), t1, t3))
    return rows


def disease_symptom_rows(seed: int = 0) -> list[AccuracyRow]:
    """Row split (duplicates leak into test) and distinct-row split of the Kaggle table."""
    data = load_disease_symptom()
    severity = weights_from_severity_table(load_severity())
    out = []
    distinct = sorted(set(data), key=lambda r: (r[0], sorted(r[1])))
    for name, rows in (("symptoms, row split", data), ("symptoms, distinct rows", distinct)):
        cases = [symptom_case(f"r{i}", d, s) for i, (d, s) in enumerate(rows)]
        tr, te = stratified_split([d for d, _ in rows], 0.2, seed)
        out += _methods(name, [cases[i] for i in tr], [cases[i] for i in te], severity)
    return out


def heart_rows(seed: int = 43) -> list[AccuracyRow]:
    """Per-centre stratified 66/34 split, pooled library; labels num>0 and num 0–4."""
    data = load_heart()
    strata = [f"{c}:{int(r['num'] or 0) > 0}" for c, r in data]
    tr, te = stratified_split(strata, 0.34, seed)
    ranges = heart_ranges([data[i][1] for i in tr])
    out = []
    for name, lab in (
        ("heart, num>0", lambda r: "disease" if (r["num"] or 0) > 0 else "none"),
        ("heart, num 0-4", lambda r: f"num{int(r['num'] or 0)}"),
    ):
        cases = [heart_case(f"h{i}", r, ranges, lab(r)) for i, (_, r) in enumerate(data)]
        out += _methods(name, [cases[i] for i in tr], [cases[i] for i in te], None)
    return out
