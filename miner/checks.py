"""Cross-validation of one encrypted update: pure checks, each failing with a reason code.

Every miner runs ``check_update`` on every update independently (the paired miner at its
edge before proposing, the others on the UpdateProposed event); the first failing check's
code goes on chain (``refuseSubmission`` or ``rejectUpdate``). No I/O here: the caller
gathers the chain facts into ``RoundFacts`` / ``HospitalFacts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from node.blobstore import blob_hash
from node.chain.signing import recover_update_signer
from node.crypto import MalformedBlob, ThresholdPublicKey, read_update
from node.crypto.codec import public_key_id
from node.modelspec import ModelSpec

PPM = 1_000_000


class RejectReason(StrEnum):
    """Why an update was refused; the value is what the ledger records."""

    UNKNOWN_SIGNER = "UNKNOWN_SIGNER"  # not an active registered hospital
    BAD_SIGNATURE = "BAD_SIGNATURE"  # EIP-712 signature not by the hospital
    WRONG_ROUND = "WRONG_ROUND"  # not the ledger's current round
    ROUND_CLOSED = "ROUND_CLOSED"  # round not open, or past its deadline
    DUPLICATE = "DUPLICATE"  # hospital already proposed this round, or blob seen before
    HASH_MISMATCH = "HASH_MISMATCH"  # blob bytes do not hash to the claimed hash
    MALFORMED = "MALFORMED"  # does not parse as an encrypted update for this key
    CIPHERTEXT_RANGE = "CIPHERTEXT_RANGE"  # a ciphertext outside Z*_{n^2}
    WRONG_SPEC = "WRONG_SPEC"  # packing spec / value count differ from the round's spec
    WEIGHT_MISMATCH = "WEIGHT_MISMATCH"  # blob's weight differs from the signed sample count
    NOT_ALIGNED = "NOT_ALIGNED"  # no alignment recorded for the hospital: its weight is 0
    SAMPLES_EXCEED_ALIGNMENT = "SAMPLES_EXCEED_ALIGNMENT"  # more than the aligned shared count
    ROUND_WEIGHT_FULL = "ROUND_WEIGHT_FULL"  # more than the ledger's share of the room left
    ROUND_FULL = "ROUND_FULL"  # the round already holds the spec's max_updates proposals


class UpdateRefused(Exception):  # noqa: N818 - a verdict, not a programming error
    """A check failed; ``reason`` is the code, ``detail`` says what exactly."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Claim:
    """What a hospital claims: round, blob hash, sample count, signature (and the blob)."""

    hospital: str
    round: int
    blob_hash: bytes
    sample_count: int
    signature: bytes


@dataclass(frozen=True)
class RoundFacts:
    """The chain's view of the round at check time."""

    chain_id: int
    ledger: str
    current_round: int
    open: bool
    deadline: int
    now: int  # latest block timestamp
    spec: ModelSpec
    weight_left: int  # the round's max total weight minus the other proposed, unrefused updates
    max_share_ppm: int  # one update may take at most this share of the room left (ledger)
    proposed: int  # proposals in the round besides the one checked
    max_updates: int  # the round's (spec's) max_updates


@dataclass(frozen=True)
class HospitalFacts:
    """The chain's view of the hospital, and what was already proposed this round."""

    registered: bool  # an active hospital
    aligned: bool
    shared_size: int
    proposed_this_round: bool  # by a proposal other than the one being checked
    blob_seen: bool  # this blob hash already appeared in another proposal


def check_claim(claim: Claim, round_: RoundFacts, hospital: HospitalFacts) -> None:
    """Signer, signature, round, replay and sample-count checks (no blob needed)."""
    if not hospital.registered:
        raise UpdateRefused(RejectReason.UNKNOWN_SIGNER, f"{claim.hospital} is no active hospital")
    try:
        signer = recover_update_signer(
            claim.signature,
            chain_id=round_.chain_id,
            ledger=round_.ledger,
            round_id=claim.round,
            blob_hash=claim.blob_hash,
            sample_count=claim.sample_count,
        )
    except Exception as exc:  # eth-keys raises several types for a malformed signature
        raise UpdateRefused(RejectReason.BAD_SIGNATURE, f"signature does not parse: {exc}") from exc
    if signer.lower() != claim.hospital.lower():
        raise UpdateRefused(RejectReason.BAD_SIGNATURE, f"signed by {signer}, not {claim.hospital}")
    if claim.round != round_.current_round:
        raise UpdateRefused(
            RejectReason.WRONG_ROUND, f"round {claim.round}, current is {round_.current_round}"
        )
    if not round_.open or round_.now > round_.deadline:
        raise UpdateRefused(RejectReason.ROUND_CLOSED, f"round {claim.round} takes no updates")
    if hospital.proposed_this_round or hospital.blob_seen:
        raise UpdateRefused(RejectReason.DUPLICATE, "already proposed (replay or duplicate)")
    if not hospital.aligned:
        raise UpdateRefused(
            RejectReason.NOT_ALIGNED,
            f"{claim.hospital} has no alignment recorded on chain: its weight is 0",
        )
    if claim.sample_count > hospital.shared_size:
        raise UpdateRefused(
            RejectReason.SAMPLES_EXCEED_ALIGNMENT,
            f"{claim.sample_count} samples claimed, {hospital.shared_size} aligned on chain",
        )
    if round_.proposed >= round_.max_updates:
        raise UpdateRefused(
            RejectReason.ROUND_FULL,
            f"the round holds {round_.proposed} proposals, its max_updates",
        )
    if claim.sample_count * PPM > round_.weight_left * round_.max_share_ppm:
        raise UpdateRefused(
            RejectReason.ROUND_WEIGHT_FULL,
            f"{claim.sample_count} samples claimed; one update may take "
            f"{round_.max_share_ppm / PPM:.0%} of the {round_.weight_left} the round has left "
            "(the spec's max_total_weight)",
        )


def check_blob(claim: Claim, blob: bytes, spec: ModelSpec, public_key: ThresholdPublicKey) -> None:
    """Hash, format, key, spec, ciphertext range and weight checks of the blob itself."""
    if bytes.fromhex(blob_hash(blob)) != claim.blob_hash:
        raise UpdateRefused(RejectReason.HASH_MISMATCH, "blob does not hash to the claimed hash")
    if spec.public_key_id != public_key_id(public_key).hex():
        raise UpdateRefused(RejectReason.WRONG_SPEC, "the round's spec names another key")
    try:
        update = read_update(blob, public_key)
    except MalformedBlob as exc:
        reason = (
            RejectReason.CIPHERTEXT_RANGE if "Z*_(n^2)" in exc.message else RejectReason.MALFORMED
        )
        raise UpdateRefused(reason, exc.message) from exc
    if update.spec != spec.packing() or update.n_values != spec.n_params:
        raise UpdateRefused(
            RejectReason.WRONG_SPEC,
            f"{update.n_values} values under {update.spec}; the round wants {spec.n_params} "
            f"under {spec.packing()}",
        )
    if update.weight != claim.sample_count:
        raise UpdateRefused(
            RejectReason.WEIGHT_MISMATCH,
            f"blob weight {update.weight}, signed sample count {claim.sample_count}",
        )


def check_update(
    claim: Claim,
    blob: bytes,
    round_: RoundFacts,
    hospital: HospitalFacts,
    public_key: ThresholdPublicKey,
) -> None:
    """Every check in order; raises UpdateRefused with the first failing reason."""
    check_claim(claim, round_, hospital)
    check_blob(claim, blob, round_.spec, public_key)
