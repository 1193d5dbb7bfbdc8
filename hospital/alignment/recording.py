"""The relay's last step: record each hospital's signed alignment outcome on the ledger.

The relay (the admin or a miner: the accounts the ledger lets record) sends
``recordAlignment`` with exactly the values a hospital signed in its receipt; the relay has
already checked each signature and its binding to this ledger (``receipts``), and the ledger
checks the signature again. A hospital never records its own weight, and a relay cannot
record one the hospital did not sign. The record is always of the hospital's latest
pathology run (a patient-token run re-signs it with the new unique fraction u).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hospital.alignment.messages import LedgerAlignment
from node.chain.client import LedgerClient


@dataclass(frozen=True)
class Recorded:
    """One hospital's outcome as recorded on chain."""

    party: str
    hospital: str
    shared_size: int
    unique_ppm: int
    tx_hash: str


def record_on_chain(ledger: LedgerClient, records: Mapping[str, LedgerAlignment]) -> list[Recorded]:
    """Send ``recordAlignment`` as the relay (``ledger``'s account) for every signed record."""
    out = []
    for party, record in records.items():
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
