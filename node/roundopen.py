"""The operator's round opening: which spec and start model a round names, published first.

``plan_round`` is pure: from what the chain says (current round, its status and spec, the
last sealed model hash) and what the operator gives (a spec, initial weights), it decides
the next round's id, its ``prevModelHash``, its ``modelSpecHash`` and the blobs miners must
hold before ``openRound``. ``publish`` pushes those blobs to every miner (signed POST
/blobs; miners accept the admin) and ``open_planned_round`` records the round on chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from node.blobnet import BlobPeers
from node.blobstore import blob_hash
from node.chain.client import DEFAULT_MAX_TOTAL_WEIGHT, DEFAULT_MAX_UPDATES, LedgerClient
from node.chain.events import RoundOpened
from node.chain.models import RoundStatus, TxResult
from node.errors import ConfigError, FedchainError, ValidationFailed
from node.fedopt import encode_global_model, initial_model, model_hash
from node.modelspec import ModelSpec

ZERO_HASH = "0" * 64


@dataclass(frozen=True)
class RoundPlan:
    """What ``openRound`` will name and the blobs that must be replicated before it."""

    round_id: int
    prev_model_hash: str  # hex, no 0x
    spec_hash: str  # hex, no 0x
    blobs: list[bytes] = field(default_factory=list)
    max_total_weight: int = DEFAULT_MAX_TOTAL_WEIGHT  # the spec's: the ledger bounds the round
    max_updates: int = DEFAULT_MAX_UPDATES  # the spec's, as well

    @property
    def genesis(self) -> bool:
        """True when this round starts from the operator's initial model."""
        return any(b.startswith(b"FCGM1") for b in self.blobs)


def plan_round(
    *,
    current_round: int,
    current_status: RoundStatus,
    current_spec_hash: str,
    sealed_hash: str,
    spec: ModelSpec | None,
    initial_weights: np.ndarray | None,
    current_max_total_weight: int = DEFAULT_MAX_TOTAL_WEIGHT,
    current_max_updates: int = DEFAULT_MAX_UPDATES,
) -> RoundPlan:
    """The next round: start from the last sealed model, or (none yet) from a genesis model.

    Without a new ``spec`` a later round reuses the current round's spec (and its max total
    weight and max updates). The genesis model is built from ``initial_weights`` under
    ``spec`` (both needed until a round has sealed).
    """
    if current_round > 0 and current_status in (RoundStatus.OPEN, RoundStatus.COMMITTED):
        raise FedchainError(
            f"round {current_round} is still {current_status.name.lower()}",
            fix="wait until it is sealed or rejected before opening the next",
        )
    sealed = sealed_hash.removeprefix("0x")
    blobs: list[bytes] = []
    max_weight, max_updates = current_max_total_weight, current_max_updates
    if spec is not None:
        spec_hash = blob_hash(spec.canonical())
        blobs.append(spec.canonical())
        max_weight, max_updates = spec.max_total_weight, spec.max_updates
    elif current_round > 0 and int(current_spec_hash.removeprefix("0x") or "0", 16) != 0:
        spec_hash = current_spec_hash.removeprefix("0x")
    else:
        raise ConfigError(
            "the first round needs a model spec",
            fix="pass the consortium public key and the initial weights",
        )
    if int(sealed or "0", 16) != 0:
        return RoundPlan(current_round + 1, sealed, spec_hash, blobs, max_weight, max_updates)
    if spec is None or initial_weights is None:
        raise ValidationFailed(
            "no round has sealed yet, so the round starts from a genesis model",
            field="initial_weights",
            fix="pass --init-weights (a float32 .npy of the flat initial model) and the spec",
        )
    genesis = initial_model(initial_weights, spec, spec_hash)
    blobs.append(encode_global_model(genesis))
    return RoundPlan(
        current_round + 1, model_hash(genesis).hex(), spec_hash, blobs, max_weight, max_updates
    )


def publish(plan: RoundPlan, peers: BlobPeers, *, miners: int) -> None:
    """Push the plan's blobs to every miner; all ``miners`` must have taken each one."""
    for blob in plan.blobs:
        taken = peers.push(blob)
        if taken < miners:
            raise FedchainError(
                f"only {taken} of {miners} miners took blob {blob_hash(blob)[:12]}…",
                fix="check that every miner is up (GET /status) and knows the admin",
            )


def open_planned_round(
    ledger: LedgerClient, plan: RoundPlan, *, deadline_in: int, min_updates: int
) -> TxResult:
    """``openRound`` as the admin, the deadline counted from the latest block's time."""
    now = int(ledger.w3.eth.get_block("latest")["timestamp"])
    return ledger.open_round(
        plan.round_id,
        plan.prev_model_hash,
        now + deadline_in,
        min_updates,
        plan.spec_hash,
        plan.max_total_weight,
        plan.max_updates,
    )


def plan_from_chain(
    ledger: LedgerClient, *, spec: ModelSpec | None, initial_weights: np.ndarray | None
) -> RoundPlan:
    """``plan_round`` fed from the ledger's current state."""
    current = ledger.current_round()
    info = ledger.round(current) if current else None
    opened = _opened(ledger, current)
    return plan_round(
        current_round=current,
        current_status=info.status if info else RoundStatus.NONE,
        current_spec_hash=_hex(info.model_spec_hash) if info else ZERO_HASH,
        sealed_hash=ledger.model_hash(),
        spec=spec,
        initial_weights=initial_weights,
        current_max_total_weight=opened.max_total_weight if opened else DEFAULT_MAX_TOTAL_WEIGHT,
        current_max_updates=opened.max_updates if opened else DEFAULT_MAX_UPDATES,
    )


def _opened(ledger: LedgerClient, round_id: int) -> RoundOpened | None:
    """The RoundOpened event of ``round_id`` (None before the first round)."""
    if round_id == 0:
        return None
    opened = [
        e
        for e in ledger.events(names={"RoundOpened"})
        if isinstance(e, RoundOpened) and e.round == round_id
    ]
    return opened[-1] if opened else None


def _hex(value: bytes | str) -> str:
    return value.hex() if isinstance(value, bytes) else value.removeprefix("0x")
