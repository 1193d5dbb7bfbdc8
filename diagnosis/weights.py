"""Attribute weights w_p: importance from the consortium model, clinician overrides, fallbacks.

The model half is pure torch over a network and the V1 column groups of each attribute
(attribute key → V1 column indices, as the vectoriser lays them out). ``WeightBook`` holds
the weights in force and bumps a version on every change so cached denominators refresh.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from enum import StrEnum

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from hospital.emr.records import lab_key, symptom_key
from node.errors import ValidationFailed


class WeightSource(StrEnum):
    """Where the weights in force came from."""

    UNIFORM = "uniform"
    SEVERITY_TABLE = "severity_table"
    MODEL = "model"


class WeightSnapshot(BaseModel):
    """The weights in force: model/fallback importances with clinician overrides applied."""

    model_config = ConfigDict(frozen=True)

    version: int
    source: WeightSource
    round_id: int | None = None
    weights: dict[str, float] = Field(description="attribute key → w_p (missing keys: 1.0)")
    overrides: dict[str, float] = Field(default_factory=dict)


def first_linear(model: nn.Module) -> nn.Linear:
    """The network's first nn.Linear (the layer that reads V1)."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            return module
    raise ValidationFailed(
        "the model has no nn.Linear layer to read V1 importances from",
        field="model",
        fix="pass the consortium MLP, or use importance_from_input_gradients",
    )


def _check_groups(groups: Mapping[str, Sequence[int]], width: int) -> None:
    for key, cols in groups.items():
        if not cols:
            raise ValidationFailed(f"attribute {key!r} has no V1 columns", field=key, fix="drop it")
        bad = [c for c in cols if not 0 <= c < width]
        if bad:
            raise ValidationFailed(
                f"attribute {key!r} names V1 columns {bad} outside 0..{width - 1}",
                field=key,
                fix="use the column groups of the vectoriser that built the model's input",
            )


def normalise_mean_one(importance: Mapping[str, float]) -> dict[str, float]:
    """Scale importances to mean 1 (Sim is scale-invariant; this keeps the numbers readable)."""
    if not importance:
        return {}
    mean = sum(importance.values()) / len(importance)
    if mean <= 0:
        return dict.fromkeys(importance, 1.0)
    return {k: v / mean for k, v in importance.items()}


def importance_from_first_layer(
    model: nn.Module, groups: Mapping[str, Sequence[int]]
) -> dict[str, float]:
    """Mean over an attribute's V1 columns of the L2 norm of the first layer's weight column."""
    layer = first_linear(model)
    w = layer.weight.detach().to(torch.float64)
    _check_groups(groups, w.shape[1])
    col_norm = torch.linalg.vector_norm(w, dim=0)
    return normalise_mean_one({k: float(col_norm[list(c)].mean()) for k, c in groups.items()})


def importance_from_input_gradients(
    model: nn.Module, inputs: torch.Tensor, groups: Mapping[str, Sequence[int]]
) -> dict[str, float]:
    """Mean |x · ∂(Σ outputs)/∂x| over the samples and an attribute's V1 columns."""
    _check_groups(groups, inputs.shape[1])
    x = inputs.detach().clone().to(torch.float32).requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        model(x).sum().backward()
    finally:
        model.train(was_training)
    assert x.grad is not None
    attribution = (x.grad * x.detach()).abs().mean(dim=0).to(torch.float64)
    return normalise_mean_one({k: float(attribution[list(c)].mean()) for k, c in groups.items()})


def weights_from_severity_table(severity: Mapping[str, float]) -> dict[str, float]:
    """Fallback weights from a symptom → severity-weight table (e.g. Kaggle's 1–7 weights)."""
    return normalise_mean_one({symptom_key(k): float(v) for k, v in severity.items()})


def checked_overrides(overrides: Mapping[str, float]) -> dict[str, float]:
    """Clinician overrides with normalised keys, or ValidationFailed naming the bad one."""
    for key, v in overrides.items():
        if not (key.startswith("symptom:") or key.startswith("lab:")):
            raise ValidationFailed(
                f"override key {key!r} is not an attribute key",
                field=key,
                fix="write 'symptom:<name>' or 'lab:<name>'",
            )
        if not (v >= 0 and math.isfinite(v)):  # an infinite weight voids every match
            raise ValidationFailed(
                f"override {key!r} = {v}", field=key, fix="use a finite weight ≥ 0"
            )
    return {_normalised_key(k): float(v) for k, v in overrides.items()}


def _normalised_key(key: str) -> str:
    kind, _, name = key.partition(":")
    return symptom_key(name) if kind == "symptom" else lab_key(name)


class SharedWeights(BaseModel):
    """Weights as one process publishes them for the others serving the same hospital.

    ``importance`` is the sealed model's attribute importance (None: no round applied yet,
    each process keeps its fallback); ``overrides`` the clinicians' current overrides.
    """

    model_config = ConfigDict(frozen=True)

    importance: dict[str, float] | None = None
    round_id: int | None = None
    overrides: dict[str, float] = Field(default_factory=dict)


class WeightBook:
    """The weights in force for one hospital's matcher; thread-safe, versioned."""

    def __init__(self, fallback: Mapping[str, float] | None = None) -> None:
        self._lock = threading.Lock()
        self._base: dict[str, float] = dict(fallback or {})
        self._source = WeightSource.SEVERITY_TABLE if fallback else WeightSource.UNIFORM
        self._round: int | None = None
        self._overrides: dict[str, float] = {}
        self._version = 0
        self._snapshot = self._make()

    def _make(self) -> WeightSnapshot:
        merged = {**self._base, **self._overrides}
        return WeightSnapshot(
            version=self._version,
            source=self._source,
            round_id=self._round,
            weights=merged,
            overrides=dict(self._overrides),
        )

    def current(self) -> WeightSnapshot:
        """The snapshot in force (immutable; safe to use while another thread refreshes)."""
        return self._snapshot

    def on_round_sealed(
        self,
        model: nn.Module,
        groups: Mapping[str, Sequence[int]],
        *,
        round_id: int,
        inputs: torch.Tensor | None = None,
    ) -> WeightSnapshot:
        """Refresh from the newly applied global model (input gradients when inputs are given)."""
        if inputs is not None:
            imp = importance_from_input_gradients(model, inputs, groups)
        else:
            imp = importance_from_first_layer(model, groups)
        with self._lock:
            self._base, self._source, self._round = imp, WeightSource.MODEL, round_id
            self._version += 1
            self._snapshot = self._make()
            return self._snapshot

    def set_overrides(self, overrides: Mapping[str, float]) -> WeightSnapshot:
        """Replace the clinician overrides (attribute key → w ≥ 0); they win over the model."""
        checked = checked_overrides(overrides)
        with self._lock:
            self._overrides = checked
            self._version += 1
            self._snapshot = self._make()
            return self._snapshot

    def load(self, state: SharedWeights, *, version: int) -> WeightSnapshot:
        """Take the weights another process published, under the version it implies."""
        with self._lock:
            if state.importance is not None:
                self._base, self._source = dict(state.importance), WeightSource.MODEL
                self._round = state.round_id
            self._overrides = dict(state.overrides)
            # the index caches per version: never reuse a number this book has had (a local
            # change since the last load could have taken it), even if that makes this
            # process's number differ from the published one
            self._version = max(version, self._version + 1)
            self._snapshot = self._make()
            return self._snapshot
