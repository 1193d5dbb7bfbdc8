"""EIP-712 signatures (updates, alignment outcomes): what a hospital signs, the ledger checks."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

DOMAIN_NAME = "fedchain"
DOMAIN_VERSION = "1"
UPDATE_TYPES = {
    "Update": [
        {"name": "round", "type": "uint64"},
        {"name": "blobHash", "type": "bytes32"},
        {"name": "sampleCount", "type": "uint64"},
    ]
}


def update_typed_data(
    *, chain_id: int, ledger: str, round_id: int, blob_hash: bytes, sample_count: int
) -> dict[str, Any]:
    """The full EIP-712 message for an update (domain bound to chain and ledger address)."""
    if len(blob_hash) != 32:
        raise ValueError("blob_hash must be 32 bytes")
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **UPDATE_TYPES,
        },
        "primaryType": "Update",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(ledger),
        },
        "message": {"round": round_id, "blobHash": blob_hash, "sampleCount": sample_count},
    }


def _signable(**kwargs: Any) -> SignableMessage:
    return encode_typed_data(full_message=update_typed_data(**kwargs))


def update_digest(
    *, chain_id: int, ledger: str, round_id: int, blob_hash: bytes, sample_count: int
) -> bytes:
    """The 32-byte digest the ledger's ``updateDigest`` returns for the same update."""
    msg = _signable(
        chain_id=chain_id,
        ledger=ledger,
        round_id=round_id,
        blob_hash=blob_hash,
        sample_count=sample_count,
    )
    return keccak(b"\x19" + msg.version + msg.header + msg.body)


def sign_update(
    account: LocalAccount,
    *,
    chain_id: int,
    ledger: str,
    round_id: int,
    blob_hash: bytes,
    sample_count: int,
) -> bytes:
    """A hospital's 65-byte signature (r, s, v with v in {27, 28}, low s) over an update."""
    msg = _signable(
        chain_id=chain_id,
        ledger=ledger,
        round_id=round_id,
        blob_hash=blob_hash,
        sample_count=sample_count,
    )
    return bytes(account.sign_message(msg).signature)


def recover_update_signer(
    signature: bytes,
    *,
    chain_id: int,
    ledger: str,
    round_id: int,
    blob_hash: bytes,
    sample_count: int,
) -> str:
    """The checksummed address that signed the update (what the miner checks off chain)."""
    msg = _signable(
        chain_id=chain_id,
        ledger=ledger,
        round_id=round_id,
        blob_hash=blob_hash,
        sample_count=sample_count,
    )
    return str(Account.recover_message(msg, signature=signature))


# ------------------------------------------------------------------ alignment receipts
# What the designated relay will send to ``recordAlignment(hospital, run, sharedSetHash,
# sharedSize, uniquePpm, hospitalSignature)``: the hospital signs the values it would record
# about itself, under the same domain as updates, so the relay can record them but not
# change them.
ALIGNMENT_TYPES = {
    "Alignment": [
        {"name": "hospital", "type": "address"},
        {"name": "run", "type": "uint64"},
        {"name": "sharedSetHash", "type": "bytes32"},
        {"name": "sharedSize", "type": "uint64"},
        {"name": "uniquePpm", "type": "uint32"},
    ]
}


def alignment_typed_data(
    *,
    chain_id: int,
    ledger: str,
    hospital: str,
    run: int,
    shared_set_hash: bytes,
    shared_size: int,
    unique_ppm: int,
) -> dict[str, Any]:
    """The full EIP-712 message for an alignment outcome (domain as for updates)."""
    if len(shared_set_hash) != 32:
        raise ValueError("shared_set_hash must be 32 bytes")
    domain = update_typed_data(
        chain_id=chain_id, ledger=ledger, round_id=0, blob_hash=bytes(32), sample_count=0
    )
    return {
        "types": {"EIP712Domain": domain["types"]["EIP712Domain"], **ALIGNMENT_TYPES},
        "primaryType": "Alignment",
        "domain": domain["domain"],
        "message": {
            "hospital": to_checksum_address(hospital),
            "run": run,
            "sharedSetHash": shared_set_hash,
            "sharedSize": shared_size,
            "uniquePpm": unique_ppm,
        },
    }


def _alignment_signable(**kwargs: Any) -> SignableMessage:
    return encode_typed_data(full_message=alignment_typed_data(**kwargs))


def alignment_digest(
    *,
    chain_id: int,
    ledger: str,
    hospital: str,
    run: int,
    shared_set_hash: bytes,
    shared_size: int,
    unique_ppm: int,
) -> bytes:
    """The 32-byte EIP-712 digest of an alignment outcome (what the ledger will ecrecover)."""
    msg = _alignment_signable(
        chain_id=chain_id,
        ledger=ledger,
        hospital=hospital,
        run=run,
        shared_set_hash=shared_set_hash,
        shared_size=shared_size,
        unique_ppm=unique_ppm,
    )
    return keccak(b"\x19" + msg.version + msg.header + msg.body)


def sign_alignment(
    account: LocalAccount,
    *,
    chain_id: int,
    ledger: str,
    run: int,
    shared_set_hash: bytes,
    shared_size: int,
    unique_ppm: int,
) -> bytes:
    """A hospital's 65-byte signature over its own alignment outcome (hospital = signer)."""
    msg = _alignment_signable(
        chain_id=chain_id,
        ledger=ledger,
        hospital=account.address,
        run=run,
        shared_set_hash=shared_set_hash,
        shared_size=shared_size,
        unique_ppm=unique_ppm,
    )
    return bytes(account.sign_message(msg).signature)


def recover_alignment_signer(
    signature: bytes,
    *,
    chain_id: int,
    ledger: str,
    hospital: str,
    run: int,
    shared_set_hash: bytes,
    shared_size: int,
    unique_ppm: int,
) -> str:
    """The checksummed address that signed the alignment outcome (the relay checks = hospital)."""
    msg = _alignment_signable(
        chain_id=chain_id,
        ledger=ledger,
        hospital=hospital,
        run=run,
        shared_set_hash=shared_set_hash,
        shared_size=shared_size,
        unique_ppm=unique_ppm,
    )
    return str(Account.recover_message(msg, signature=signature))
