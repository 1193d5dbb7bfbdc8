"""Typed models of the ledger's events, decoded from receipts and logs."""

from __future__ import annotations

from typing import Annotated, Any

from hexbytes import HexBytes
from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel
from web3.contract import Contract


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
    previous_admin: str
    new_admin: str


class PairRegistered(LedgerEvent):
    hospital: str
    miner: str
    index: int


class PairRemoved(PairRegistered):
    pass


class QuorumChanged(LedgerEvent):
    quorum_override: int
    effective_quorum: int


class RatesChanged(LedgerEvent):
    hospital_rate: int
    verifier_rate: int
    packer_rate: int


class ProposerTimeoutChanged(LedgerEvent):
    proposer_timeout: int


class AlignmentRecorded(LedgerEvent):
    hospital: str
    run: int
    shared_set_hash: Hex
    shared_size: int


class RoundOpened(LedgerEvent):
    round: int
    prev_model_hash: Hex
    deadline: int
    min_updates: int
    model_spec_hash: Hex


class UpdateProposed(LedgerEvent):
    round: int
    update_id: int
    hospital: str
    miner: str
    blob_hash: Hex
    sample_count: int
    signature: Hex


class UpdateApproved(LedgerEvent):
    update_id: int
    miner: str
    approvals: int


class UpdateRejected(LedgerEvent):
    update_id: int
    miner: str
    reason: str


class UpdateAccepted(LedgerEvent):
    round: int
    update_id: int
    hospital: str


class UpdateRefused(UpdateAccepted):
    pass


class RoundReady(LedgerEvent):
    round: int
    ready_at: int


class AggregateCommitted(LedgerEvent):
    round: int
    packer: str
    aggregate_hash: Hex
    accepted_updates: int


class AggregateAttested(LedgerEvent):
    round: int
    miner: str
    attestations: int


class PartialDecryptionSubmitted(LedgerEvent):
    round: int
    miner: str
    blob_hash: Hex


class RoundSealed(LedgerEvent):
    round: int
    new_model_hash: Hex
    packer: str
    hospital_credits: int
    miner_credits: int


class RoundRejected(LedgerEvent):
    round: int
    by: str
    reason: str


class Transfer(LedgerEvent):
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
        AdminChanged, PairRegistered, PairRemoved, QuorumChanged, RatesChanged,
        ProposerTimeoutChanged, AlignmentRecorded, RoundOpened, UpdateProposed,
        UpdateApproved, UpdateRejected, UpdateAccepted, UpdateRefused, RoundReady,
        AggregateCommitted, AggregateAttested, PartialDecryptionSubmitted, RoundSealed,
        RoundRejected, Transfer,
    )
}  # fmt: skip


class EventDecoder:
    """Decodes raw logs of one ledger contract into the models above."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._by_topic: dict[bytes, str] = {}
        from eth_utils import event_abi_to_log_topic

        for entry in contract.abi:
            if entry.get("type") == "event":
                self._by_topic[bytes(event_abi_to_log_topic(entry))] = entry["name"]  # type: ignore[arg-type]

    def decode(self, log: Any) -> LedgerEvent | None:
        """One log to its model (None for a log this ABI does not declare)."""
        topics = log["topics"]
        if not topics:
            return None
        name = self._by_topic.get(bytes(HexBytes(topics[0])))
        if name is None or name not in EVENT_MODELS:
            return None
        decoded = self.contract.events[name]().process_log(log)
        return EVENT_MODELS[name].model_validate(
            {
                **dict(decoded["args"]),
                "event": name,
                "blockNumber": decoded["blockNumber"],
                "txHash": decoded["transactionHash"],
                "logIndex": decoded["logIndex"],
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
