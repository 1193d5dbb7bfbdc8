"""The hospitals' signed ledger records: made by a hospital after its checks, checked by the relay.

A hospital signs (EIP-712, ``node/chain/signing.py``) the alignment outcome it would record
about itself; the relay checks the signature before collecting it, so it can later send
``recordAlignment(hospital, run, sharedSetHash, sharedSize, uniquePpm, signature)`` but not
change any of those values.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.messages import AlignmentReceipt, LedgerAlignment
from node.chain.signing import recover_alignment_signer, sign_alignment


@dataclass(frozen=True)
class LedgerDomain:
    """The EIP-712 domain records are bound to: chain id and ledger address."""

    chain_id: int
    ledger: str


def signed_record(
    account: LocalAccount,
    domain: LedgerDomain,
    *,
    run: int,
    shared_set_hash: bytes,
    shared_size: int,
    unique_ppm: int,
) -> LedgerAlignment:
    """The hospital's record of its own alignment outcome, signed with its account."""
    signature = sign_alignment(
        account,
        chain_id=domain.chain_id,
        ledger=domain.ledger,
        run=run,
        shared_set_hash=shared_set_hash,
        shared_size=shared_size,
        unique_ppm=unique_ppm,
    )
    return LedgerAlignment(
        hospital=account.address,
        run=run,
        shared_set_hash="0x" + shared_set_hash.hex(),
        shared_size=shared_size,
        unique_ppm=unique_ppm,
        chain_id=domain.chain_id,
        ledger=domain.ledger,
        signature="0x" + signature.hex(),
    )


def record_signer(record: LedgerAlignment) -> str | None:
    """The address that signed ``record`` (None when the signature is malformed)."""
    try:
        return recover_alignment_signer(
            bytes.fromhex(record.signature[2:]),
            chain_id=record.chain_id,
            ledger=record.ledger,
            hospital=record.hospital,
            run=record.run,
            shared_set_hash=bytes.fromhex(record.shared_set_hash[2:]),
            shared_size=record.shared_size,
            unique_ppm=record.unique_ppm,
        )
    except Exception:  # eth-keys raises several types for a malformed signature
        return None


def check_ledger_record(
    receipt: AlignmentReceipt,
    *,
    party: str,
    purpose: AlignmentPurpose,
    domain: LedgerDomain | None,
) -> None:
    """Refuse a receipt whose ledger record is not signed by the hospital it names.

    Also bound to this relay's ledger (when it knows it) and, for a pathology run, to the
    receipt's own run and shared-set hash. A patient-token run re-signs the latest
    pathology run's record with the new unique fraction, so its run number is earlier.
    """
    record = receipt.ledger_record
    if record is None:
        return
    signer = record_signer(record)
    if signer is None or signer.lower() != record.hospital.lower():
        raise AlignmentRefused(
            f"{party}'s ledger record is not signed by the hospital it names ({record.hospital})",
            field="ledger_record.signature",
            fix="sign the record with the hospital's own account",
        )
    if domain is not None and (
        record.chain_id != domain.chain_id or record.ledger.lower() != domain.ledger.lower()
    ):
        raise AlignmentRefused(
            f"{party}'s ledger record is bound to chain {record.chain_id} ledger "
            f"{record.ledger}, not this network's",
            field="ledger_record.ledger",
            fix="sign under the network file's chain id and ledger address",
        )
    if purpose is AlignmentPurpose.PATHOLOGY and (
        not receipt.run.isdigit()
        or int(receipt.run) != record.run
        or record.shared_set_hash != receipt.shared_set_hash
    ):
        raise AlignmentRefused(
            f"{party}'s ledger record (run {record.run}) does not match its receipt",
            field="ledger_record",
            fix="sign the record of this run's result",
        )
