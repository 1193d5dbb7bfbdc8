"""A hospital's side of a round (train → Δ_k; apply Δ̄), and a whole federation in one process.

The round client (network, chain, encryption) calls ``round_update`` and
``apply_global_update``; ``train_federated`` runs every hospital of a consortium in one
process through an ``UpdateCodec`` — for tests and the accuracy benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from hospital.models import BPSpec, MultiHeadNetwork, VGGSpec, build_model
from hospital.training.codec import Payload, UpdateCodec, aggregate
from hospital.training.data import LocalData
from hospital.training.local import LocalUpdate, TrainConfig, local_update
from hospital.training.params import flatten, load_flat, parameter_count
from hospital.training.server_opt import ServerOptConfig, ServerOptimizer


class FederationConfig(BaseModel):
    """Rounds, each hospital's local training, and the server optimiser of a consortium."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(default=10, ge=1, le=100_000)
    local: TrainConfig = TrainConfig()
    server: ServerOptConfig = ServerOptConfig()


def round_train_config(base: TrainConfig, round_index: int, hospital_index: int) -> TrainConfig:
    """The local config for one hospital in one round: fresh, reproducible shuffling per round."""
    return base.model_copy(update={"seed": base.seed + 1_000_003 * round_index + hospital_index})


def round_update(
    global_model: MultiHeadNetwork,
    data: LocalData,
    base: TrainConfig,
    round_index: int,
    hospital_index: int,
) -> LocalUpdate:
    """Step 2 of a round for one hospital, minus the network: train from the global model."""
    return local_update(global_model, data, round_train_config(base, round_index, hospital_index))


def apply_global_update(
    model: MultiHeadNetwork, optimizer: ServerOptimizer, mean_delta: Tensor
) -> None:
    """Step 6: apply the decrypted mean update Δ̄ through the consortium's server optimiser."""
    load_flat(model, optimizer.step(flatten(model), mean_delta))


def train_federated(
    spec: BPSpec | VGGSpec,
    seed: int,
    hospitals: Sequence[LocalData],
    config: FederationConfig,
    codec: UpdateCodec[Payload],
    on_round: Callable[[int, MultiHeadNetwork], None] | None = None,
) -> MultiHeadNetwork:
    """Run ``config.rounds`` rounds over ``hospitals`` from the model built by (spec, seed).

    ``on_round(r, model)`` is called after each round r (1-based) with the new global model,
    e.g. to score checkpoints; it must not change the model.
    """
    model = build_model(spec, seed)
    optimizer = ServerOptimizer(config.server, parameter_count(model))
    for r in range(config.rounds):
        updates = [
            round_update(model, data, config.local, r, k) for k, data in enumerate(hospitals)
        ]
        apply_global_update(model, optimizer, aggregate(updates, codec))
        if on_round is not None:
            on_round(r + 1, model)
    return model
