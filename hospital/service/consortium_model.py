"""The consortium's BP model over the EMR schema: its spec, a hospital's trainer, its uses.

V1 (features) is the input; V2 (outcome) gives three heads: the diagnosis (softmax over
the schema's diseases), complications (multi-label) and which drugs are given
(multi-label); doses, routes and durations come from matched validated cases, not the
model. The round client calls ``CaseTrainer.train`` / ``evaluate`` with flat weight
vectors; diagnosis gets a ``DiagnosisModel`` and attribute weights from the same model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hospital.emr.records import CaseRecord
from hospital.emr.schema import schema_named
from hospital.models import BPSpec, HeadKind, HeadSpec, MultiHeadNetwork, build_model
from hospital.models.heads import head_probabilities
from hospital.training import (
    LocalData,
    TrainConfig,
    evaluate,
    flatten,
    load_flat,
    model_delta,
    stratified_split,
    train_local,
)
from hospital.vectorize import v1_layout, v2_layout
from hospital.vectorize.encode import case_to_v1, vectorize_cases
from hospital.vectorize.layout import V1Layout, V2Layout
from node.errors import ValidationFailed

DIAGNOSIS, COMPLICATIONS, DRUGS = "diagnosis", "complications", "drugs"


def consortium_spec(v1: V1Layout, v2: V2Layout, hidden: tuple[int, ...] = (64,)) -> BPSpec:
    """The BP network every hospital of the consortium trains (V1 in, up to three heads out).

    A schema without complications or drugs (the UCI heart schema) has no such head.
    """
    extra = [
        HeadSpec(name=name, kind=HeadKind.MULTILABEL, size=size)
        for name, size in ((COMPLICATIONS, len(v2.complications)), (DRUGS, len(v2.drugs)))
        if size > 0
    ]
    return BPSpec(
        input_dim=v1.width,
        hidden=hidden,
        heads=(HeadSpec(name=DIAGNOSIS, kind=HeadKind.SOFTMAX, size=len(v2.diseases)), *extra),
    )


def model_layout(
    hidden: Sequence[int], schema_name: str = "general"
) -> tuple[V1Layout, V2Layout, BPSpec]:
    """The consortium BP model over the named schema with these hidden sizes."""
    schema = schema_named(schema_name)
    v1, v2 = v1_layout(schema), v2_layout(schema)
    return v1, v2, consortium_spec(v1, v2, hidden=tuple(hidden))


def sealed_network(
    weights: np.ndarray, hidden: Sequence[int], schema_name: str = "general"
) -> tuple[MultiHeadNetwork, V1Layout, V2Layout]:
    """The consortium network holding a flat weight vector, with its V1/V2 layouts."""
    v1, v2, spec = model_layout(hidden, schema_name)
    net = build_model(spec, 0)
    load_flat(net, torch.from_numpy(np.array(weights, np.float32)))  # a writable copy
    return net, v1, v2


def case_data(cases: Sequence[CaseRecord], v1: V1Layout, v2: V2Layout) -> LocalData:
    """V1 rows and the three heads' targets of diagnosed cases."""
    diagnosed = [c for c in cases if c.diagnosis is not None]
    x, y = vectorize_cases(diagnosed, v1, v2)
    given = [first for first, _ in sorted(v2.drugs.values(), key=lambda d: d[0])]
    return LocalData(
        torch.from_numpy(x),
        {
            DIAGNOSIS: torch.from_numpy(y[:, v2.disease_slice].argmax(axis=1)),
            COMPLICATIONS: torch.from_numpy(np.ascontiguousarray(y[:, v2.complication_slice])),
            DRUGS: torch.from_numpy(np.ascontiguousarray(y[:, given])),
        },
    )


@dataclass
class CaseTrainer:
    """One hospital's local training on its shared samples, with a held-out split.

    ``train`` and ``evaluate`` take the global model as a flat float32 vector in the
    documented parameter order (hospital/training/params.py), as the round client holds it.
    """

    spec: BPSpec
    data: LocalData
    config: TrainConfig
    holdout_fraction: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.data) < 2:
            raise ValidationFailed(
                f"{len(self.data)} shared samples: too few to train and hold out",
                field="cases",
                fix="align with the consortium first; a hospital needs shared samples",
            )
        rest, held = stratified_split(
            self.data.targets[DIAGNOSIS], self.holdout_fraction, self.seed
        )
        self.train_split = self.data.subset(rest)
        self.holdout = self.data.subset(held)
        self._model = build_model(self.spec, self.seed)

    def _with(self, weights: np.ndarray) -> MultiHeadNetwork:
        load_flat(self._model, torch.as_tensor(np.asarray(weights, np.float32)))
        return self._model

    def train(self, global_weights: np.ndarray) -> tuple[np.ndarray, int]:
        """Δ = w_local − w_global after local training, and the number of samples used."""
        start = self._with(global_weights)
        local = train_local(start, self.train_split, self.config)
        delta = model_delta(local, start)
        return delta.numpy(), len(self.train_split)

    def evaluate(self, weights: np.ndarray) -> float:
        """Diagnosis accuracy of ``weights`` on the held-out split (higher is better)."""
        return evaluate(self._with(weights), self.holdout, DIAGNOSIS).accuracy

    def initial_weights(self) -> np.ndarray:
        """The seeded initial model as a flat vector (round 1's global model)."""
        return flatten(build_model(self.spec, self.seed)).numpy()


PASS_ROWS = 16  # rows of every diagnosis forward pass (the micro-batcher's largest batch)


@dataclass(frozen=True)
class ConsortiumDiagnosisModel:
    """The consortium model as diagnosis needs it: findings → ICD-10 → probability.

    ``predict_many`` runs one forward pass for up to 16 queries (a pass costs ~0.07 ms of
    torch overhead whatever the rows); a single call is a batch of one.
    """

    model: MultiHeadNetwork
    v1: V1Layout
    codes: tuple[str, ...]

    def __call__(self, case: CaseRecord) -> Mapping[str, float]:
        """Disease code → probability for one feature-only case."""
        return self.predict_many([case])[0]

    def predict_many(self, cases: Sequence[CaseRecord]) -> list[dict[str, float]]:
        """Disease code → probability for each case, one forward pass per 16 cases.

        Every pass has exactly ``PASS_ROWS`` rows (zero-padded): a matrix product's rounding
        depends on its shape, so a case gets the same floats alone or in any batch.
        """
        heads = [h for h in self.model.spec.heads if h.name == DIAGNOSIS]
        out: list[dict[str, float]] = []
        self.model.eval()
        for start in range(0, len(cases), PASS_ROWS):
            chunk = cases[start : start + PASS_ROWS]
            x = np.zeros((PASS_ROWS, self.v1.width), dtype=np.float32)
            for row, case in enumerate(chunk):
                x[row] = case_to_v1(case, self.v1)
            with torch.no_grad():
                proba = head_probabilities(self.model(torch.from_numpy(x)), heads)[DIAGNOSIS]
            out.extend(dict(zip(self.codes, r, strict=True)) for r in proba[: len(chunk)].tolist())
        return out


def diagnosis_model(
    model: MultiHeadNetwork, v1: V1Layout, v2: V2Layout
) -> ConsortiumDiagnosisModel:
    """The consortium model as diagnosis needs it (see ``ConsortiumDiagnosisModel``)."""
    codes = tuple(code for code, _ in sorted(v2.diseases.items(), key=lambda kv: kv[1][0]))
    return ConsortiumDiagnosisModel(model, v1, codes)


def attribute_columns(v1: V1Layout) -> dict[str, range]:
    """V1 columns per case attribute, in the form diagnosis's weight refresh takes."""
    return {name: range(start, stop) for name, (start, stop) in v1.groups.items()}
