"""Typed models of the ledger's events, decoded from receipts and logs."""

from __future__ import annotations

from typing import Annotated, Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from hexbytes import HexBytes
from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel
from web3.contract import Contract

from node.chain.artifact import abi_type


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value)


Hex = Annotated[str, BeforeValidator(_hex)]


class LedgerEvent(BaseModel):
    """Where an event was logged; subclasses add its arguments (snake_case names)."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    event: str
    block_number: int
    tx_hash: Hex
    log_index: int


class AdminChanged(LedgerEvent):
    """The admin role moved (from address(0) at deployment)."""

    previous_admin: str
    new_admin: str


class PairRegistered(LedgerEvent):
    """A hospital and its miner were registered under pair ``index``."""

    hospital: str
    miner: str
    index: int


class PairRemoved(PairRegistered):
    """A pair was deactivated."""


class QuorumChanged(LedgerEvent):
    """The quorum override changed (0 = default ceil(2m/3))."""

    quorum_override: int
    effective_quorum: int


class RatesChanged(LedgerEvent):
    """The credit rates changed."""

    hospital_rate: int
    verifier_rate: int
    packer_rate: int


class ProposerTimeoutChanged(LedgerEvent):
    """The rotation timeout changed."""

    proposer_timeout: int


class PolicyFixed(LedgerEvent):
    """The policies fixed at deployment: the hold-out gate and the per-update weight share."""

    holdout_quorum: int
    holdout_margin: int
    max_share_ppm: int
    schema_hash: Hex = "0x" + "00" * 32


class ChangeVoted(LedgerEvent):
    """A miner voted for a governed change; ``votes`` counts the active miners that did."""

    change_id: Hex
    miner: str
    kind: int
    a: str
    b: str
    value: int
    votes: int


class ChangeExecuted(LedgerEvent):
    """A governed change reached its quorum of miners and took effect."""

    change_id: Hex
    kind: int
    a: str
    b: str
    value: int


class AlignmentRecorded(LedgerEvent):
    """A relay recorded a hospital's sample-alignment outcome, signed by the hospital."""

    hospital: str
    run: int
    shared_set_hash: Hex
    shared_size: int
    unique_ppm: int  # unique-patient fraction of the shared samples (ppm)
    recorder: str  # the relay (admin or miner) that sent it


class RoundOpened(LedgerEvent):
    """The admin opened a round."""

    round: int
    prev_model_hash: Hex
    deadline: int
    min_updates: int
    model_spec_hash: Hex
    max_total_weight: int
    max_updates: int


class UpdateProposed(LedgerEvent):
    """A miner proposed its hospital's signed update (counts as its approval)."""

    round: int
    update_id: int
    hospital: str
    miner: str
    blob_hash: Hex
    sample_count: int
    signature: Hex


class UpdateApproved(LedgerEvent):
    """A miner approved an update; ``approvals`` counts the proposal too."""

    update_id: int
    miner: str
    approvals: int


class UpdateRejected(LedgerEvent):
    """A miner voted against an update, with its reason."""

    update_id: int
    miner: str
    reason: str


class UpdateAccepted(LedgerEvent):
    """An update reached the quorum."""

    round: int
    update_id: int
    hospital: str


class UpdateRefused(UpdateAccepted):
    """An update can no longer reach the quorum."""


class RoundReady(LedgerEvent):
    """The round reached its minimum of accepted updates."""

    round: int
    ready_at: int


class AggregateCommitted(LedgerEvent):
    """The packer committed the aggregate hash (counts as its attestation)."""

    round: int
    packer: str
    aggregate_hash: Hex
    accepted_updates: int


class AggregateAttested(LedgerEvent):
    """A miner attested the committed aggregate."""

    round: int
    miner: str
    attestations: int


class PartialDecryptionSubmitted(LedgerEvent):
    """A miner published its partial decryption (blob by hash)."""

    round: int
    miner: str
    blob_hash: Hex


class CandidateAttested(LedgerEvent):
    """A miner attested the candidate model it derived from the round's partials."""

    round: int
    miner: str
    candidate_hash: Hex
    votes: int


class RoundSealed(LedgerEvent):
    """The round was sealed with the new model hash; credits were minted."""

    round: int
    new_model_hash: Hex
    packer: str
    hospital_credits: int
    miner_credits: int


class RoundRejected(LedgerEvent):
    """The round was recorded as rejected."""

    round: int
    by: str
    reason: str


class HoldoutReported(LedgerEvent):
    """A hospital's hold-out metrics (ppm) before/after a committed round's candidate."""

    round: int
    hospital: str
    candidate_hash: Hex
    metric_before: int
    metric_after: int
    worse: bool


class SubmissionRefused(LedgerEvent):
    """A miner refused a submission at its edge (it was never proposed)."""

    round: int
    hospital: str
    miner: str
    blob_hash: Hex
    reason: str


class Transfer(LedgerEvent):
    """ERC-20 Transfer: credits minted from address(0) at a seal."""

    from_: str
    to: str
    value: int

    model_config = ConfigDict(
        frozen=True,
        alias_generator=lambda name: "from" if name == "from_" else to_camel(name),
        populate_by_name=True,
    )


EVENT_MODELS: dict[str, type[LedgerEvent]] = {
    cls.__name__: cls
    for cls in (
        AdminChanged,
        PairRegistered,
        PairRemoved,
        QuorumChanged,
        RatesChanged,
        ProposerTimeoutChanged,
        PolicyFixed,
        ChangeVoted,
        ChangeExecuted,
        AlignmentRecorded,
        RoundOpened,
        UpdateProposed,
        UpdateApproved,
        UpdateRejected,
        UpdateAccepted,
        UpdateRefused,
        RoundReady,
        AggregateCommitted,
        AggregateAttested,
        PartialDecryptionSubmitted,
        CandidateAttested,
        RoundSealed,
        RoundRejected,
        Transfer,
        HoldoutReported,
        SubmissionRefused,
    )
}


class _EventAbi:
    """Pre-computed decoding plan of one event: indexed types, data types, names."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.name = str(entry["name"])
        inputs = entry["inputs"]
        self.indexed = [(i["name"], abi_type(i)) for i in inputs if i.get("indexed")]
        self.data = [(i["name"], abi_type(i)) for i in inputs if not i.get("indexed")]

    def args(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (name, typ), topic in zip(self.indexed, topics[1:], strict=True):
            out[name] = abi_decode([typ], topic)[0]
        values = abi_decode([t for _, t in self.data], data) if self.data else ()
        for (name, _typ), value in zip(self.data, values, strict=True):
            out[name] = value
        for name, typ in self.indexed + self.data:
            if typ == "address":
                out[name] = to_checksum_address(out[name])
        return out


class EventDecoder:
    """Decodes raw logs of one ledger contract into the models above.

    Decodes with eth-abi directly from a plan built once per event (web3's
    ``process_log`` costs several times more per log, which matters to auditors).
    """

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._by_topic: dict[bytes, _EventAbi] = {}
        for entry in contract.abi:
            if entry.get("type") == "event":
                topic = bytes(event_abi_to_log_topic(entry))  # type: ignore[arg-type]
                self._by_topic[topic] = _EventAbi(entry)  # type: ignore[arg-type]

    def decode(self, log: Any) -> LedgerEvent | None:
        """One log to its model (None for a log this ABI does not declare)."""
        topics = [bytes(HexBytes(t)) for t in log["topics"]]
        if not topics:
            return None
        plan = self._by_topic.get(topics[0])
        if plan is None or plan.name not in EVENT_MODELS:
            return None
        return EVENT_MODELS[plan.name].model_validate(
            {
                **plan.args(topics, bytes(HexBytes(log["data"]))),
                "event": plan.name,
                "blockNumber": log["blockNumber"],
                "txHash": log["transactionHash"],
                "logIndex": log["logIndex"],
            }
        )

    def decode_all(self, logs: list[Any]) -> list[LedgerEvent]:
        """Decode the logs this contract emitted, skipping any other contract's."""
        address = self.contract.address.lower()
        out = []
        for log in logs:
            if str(log["address"]).lower() != address:
                continue
            event = self.decode(log)
            if event is not None:
                out.append(event)
        return out
