"""Read models of the ledger's storage (members, rounds, updates) and transaction results."""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict

from node.chain.events import Hex, LedgerEvent

#: Update ids are (round << 16) | sequence-in-round.
SEQ_BITS = 16


class Role(IntEnum):
    """A member's role on the ledger."""

    NONE = 0
    HOSPITAL = 1
    MINER = 2


class RoundStatus(IntEnum):
    """Where a round is in its life."""

    NONE = 0
    OPEN = 1
    COMMITTED = 2
    SEALED = 3
    REJECTED = 4


class UpdateStatus(IntEnum):
    """Where an update is: pending votes, accepted at quorum, or refused."""

    NONE = 0
    PENDING = 1
    ACCEPTED = 2
    REJECTED = 3


def update_id(round_id: int, sequence: int) -> int:
    """The ledger id of the ``sequence``-th update proposed in ``round_id``."""
    return (round_id << SEQ_BITS) | sequence


def round_of(update_id_: int) -> int:
    """The round an update id belongs to."""
    return update_id_ >> SEQ_BITS


def bitmap_indexes(bitmap: int) -> list[int]:
    """Pair indexes set in a 16-bit vote bitmap."""
    return [i for i in range(16) if bitmap >> i & 1]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Member(_Frozen):
    """A registered account: its role, its pair index and the other member of its pair."""

    address: str
    paired: str
    role: Role
    index: int
    active: bool
    aligned: bool
    shared_size: int
    unique_ppm: int  # recorded unique-patient fraction, ppm (0 until aligned)


class RoundInfo(_Frozen):
    """One round's state as stored (the sealed model hash is in the RoundSealed event)."""

    round: int
    status: RoundStatus
    min_updates: int
    max_updates: int
    proposed: int
    accepted: int
    proposed_by: list[int]
    attestations: list[int]
    packer: int
    quorum: int
    miners: int
    deadline: int
    ready_at: int
    committed_at: int
    holdout_reports: list[int]  # pair indexes of hospitals that reported (any candidate)
    weight_left: int  # the max total weight minus the proposed, unrefused updates' weights
    prev_model_hash: Hex
    model_spec_hash: Hex
    aggregate_hash: Hex


class DecryptionVotes(_Frozen):
    """Pair indexes of the miners that posted partials, covers, candidate votes in a round."""

    partials: list[int]
    covers: list[int]
    candidate_voters: list[int]


class UpdateInfo(_Frozen):
    """One proposed update as stored; the blob hash and signature are in UpdateProposed."""

    update_id: int
    round: int
    hospital: str
    sample_count: int
    approvals: list[int]
    rejections: list[int]
    status: UpdateStatus


class HoldoutTally(_Frozen):
    """The hold-out reports on one candidate of a round (clipped gains summed, ppm)."""

    reports: int
    worse: int
    gain_sum: int


class Rates(_Frozen):
    """Credits per accepted sample, per approval of an accepted update, per packed round."""

    hospital_rate: int
    verifier_rate: int
    packer_rate: int


class TxResult(_Frozen):
    """A mined transaction: its hash, gas and the ledger events it emitted."""

    tx_hash: Hex
    block_number: int
    gas_used: int
    events: list[LedgerEvent]

    def of(self, name: str) -> list[LedgerEvent]:
        """The events named ``name`` this transaction emitted."""
        return [e for e in self.events if e.event == name]
