"""The relay's last step: record each hospital's signed alignment outcome on the ledger.

The relay (the admin or a miner: the accounts the ledger lets record) sends
``recordAlignment`` with the values a hospital signed in its receipt; it checks the
signature first, so a record not signed by the hospital it names is refused before it
costs gas, and the ledger checks it again. The record is always of the hospital's latest
pathology run (a patient-token run re-signs it with the new unique fraction u).
"""

from __future__ import annotations

from dataclasses import dataclass

from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.messages import AlignmentReceipt, LedgerRecord
from node.chain.client import LedgerClient
from node.chain.signing import recover_alignment_signer


@dataclass(frozen=True)
class Recorded:
    """One hospital's outcome as recorded on chain (or why it was not)."""

    party: str
    hospital: str
    shared_size: int
    unique_ppm: int
    tx_hash: str


def signer_of(record: LedgerRecord, ledger: LedgerClient) -> str:
    """The account that signed ``record`` for this ledger (checksummed)."""
    return recover_alignment_signer(
        bytes.fromhex(record.signature[2:]),
        chain_id=ledger.sender.chain_id,
        ledger=ledger.address,
        hospital=record.hospital,
        run=record.run,
        shared_set_hash=bytes.fromhex(record.shared_set_hash[2:]),
        shared_size=record.shared_size,
        unique_ppm=record.unique_ppm,
    )


def record_receipts(ledger: LedgerClient, receipts: dict[str, AlignmentReceipt]) -> list[Recorded]:
    """Record every receipt's signed outcome as the relay (``ledger``'s account)."""
    out = []
    for party, receipt in receipts.items():
        record = receipt.record
        if record is None:
            continue  # a hospital without a ledger: nothing to record
        if signer_of(record, ledger).lower() != record.hospital.lower():
            raise AlignmentRefused(
                f"{party}'s ledger record is not signed by {record.hospital}",
                field="record.signature",
                fix="the hospital signs its own record with its account key",
            )
        result = ledger.record_alignment(
            record.hospital,
            record.run,
            record.shared_set_hash,
            record.shared_size,
            record.unique_ppm,
            bytes.fromhex(record.signature[2:]),
        )
        out.append(
            Recorded(party, record.hospital, record.shared_size, record.unique_ppm, result.tx_hash)
        )
    return out
