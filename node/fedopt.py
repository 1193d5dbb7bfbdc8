"""Server-side optimisers and the global-model blob: pure, deterministic numpy over float32.

Every miner and hospital applies ``server_step`` to the same decrypted mean delta and gets
the same bytes, so the new global model's hash can be sealed on chain and checked by all.
FedAvg: w + lr·Δ. FedAdam / FedYogi (Reddi et al., "Adaptive Federated Optimization"):
m = β1·m + (1-β1)·Δ; v = β2·v + (1-β2)·Δ² (Adam) or v - (1-β2)·Δ²·sign(v - Δ²) (Yogi);
w + lr·m / (√v + τ).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from node.errors import ValidationFailed
from node.modelspec import ModelSpec, ServerOptimiser

MAGIC = b"FCGM1\n"


@dataclass(frozen=True)
class GlobalModel:
    """Weights, optimiser state, the round that produced it and the spec it follows."""

    round: int
    spec_hash: str  # hex sha256 of the ModelSpec blob
    weights: np.ndarray  # float32
    m: np.ndarray  # float32 first moment (zeros for FedAvg)
    v: np.ndarray  # float32 second moment


def initial_model(weights: np.ndarray, spec: ModelSpec, spec_hash: str) -> GlobalModel:
    """Round 0's model: the given weights and zero optimiser state."""
    w = np.ascontiguousarray(weights, dtype=np.float32).ravel()
    if w.size != spec.n_params:
        raise ValidationFailed(
            f"{w.size} weights, the spec says {spec.n_params}",
            field="weights",
            fix="initialise the model the spec describes",
        )
    zeros = np.zeros_like(w)
    return GlobalModel(0, spec_hash, w, zeros, zeros.copy())


def server_step(model: GlobalModel, mean_delta: np.ndarray, spec: ModelSpec) -> GlobalModel:
    """The next global model from the decrypted weighted-mean delta (pure, deterministic)."""
    d = np.asarray(mean_delta, dtype=np.float32).ravel()
    if d.shape != model.weights.shape:
        raise ValidationFailed(
            f"delta has {d.size} values, the model {model.weights.size}", field="mean_delta"
        )
    lr = np.float32(spec.server_lr)
    if spec.optimiser is ServerOptimiser.FEDAVG:
        return GlobalModel(
            model.round + 1, model.spec_hash, model.weights + lr * d, model.m, model.v
        )
    b1, b2, tau = np.float32(spec.beta1), np.float32(spec.beta2), np.float32(spec.tau)
    one = np.float32(1)
    m = b1 * model.m + (one - b1) * d
    d2 = d * d
    if spec.optimiser is ServerOptimiser.FEDADAM:
        v = b2 * model.v + (one - b2) * d2
    else:
        v = model.v - (one - b2) * d2 * np.sign(model.v - d2)
    w = model.weights + lr * m / (np.sqrt(v) + tau)
    return GlobalModel(
        model.round + 1,
        model.spec_hash,
        w.astype(np.float32),
        m.astype(np.float32),
        v.astype(np.float32),
    )


def encode_global_model(model: GlobalModel) -> bytes:
    """Canonical bytes: magic, one JSON header line, then weights, m, v as little-endian f32."""
    header = json.dumps(
        {"round": model.round, "spec_hash": model.spec_hash, "n": int(model.weights.size)},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    arrays = b"".join(
        np.asarray(a, dtype="<f4").tobytes() for a in (model.weights, model.m, model.v)
    )
    return MAGIC + header + b"\n" + arrays


def decode_global_model(blob: bytes) -> GlobalModel:
    """Parse a global-model blob (refusing anything that is not canonical)."""
    if not blob.startswith(MAGIC) or b"\n" not in blob[len(MAGIC) :]:
        raise ValidationFailed("not a global-model blob", field="global_model")
    head, _, body = blob[len(MAGIC) :].partition(b"\n")
    try:
        meta = json.loads(head)
        n, round_, spec_hash = int(meta["n"]), int(meta["round"]), str(meta["spec_hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(f"bad global-model header: {exc}", field="global_model") from exc
    if len(body) != 12 * n:
        raise ValidationFailed(
            f"global-model body is {len(body)} bytes, expected {12 * n}", field="global_model"
        )
    w, m, v = (
        np.frombuffer(body[i * 4 * n : (i + 1) * 4 * n], dtype="<f4").astype(np.float32)
        for i in range(3)
    )
    model = GlobalModel(round_, spec_hash, w, m, v)
    if encode_global_model(model) != blob:
        raise ValidationFailed("global-model blob is not canonical", field="global_model")
    return model


def model_hash(model: GlobalModel) -> bytes:
    """The 32-byte hash sealed on chain: sha256 of the canonical blob."""
    return hashlib.sha256(encode_global_model(model)).digest()
