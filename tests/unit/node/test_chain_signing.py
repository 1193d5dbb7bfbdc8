"""EIP-712 update signatures: recoverable, bound to chain, ledger and every signed field."""

from __future__ import annotations

from node.chain.models import bitmap_indexes, round_of, update_id
from node.chain.signing import recover_update_signer, sign_update, update_digest
from node.identity import devnet_account

LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FIELDS = {
    "chain_id": 31337,
    "ledger": LEDGER,
    "round_id": 3,
    "blob_hash": b"\x07" * 32,
    "sample_count": 120,
}


def test_signature_recovers_the_hospital():
    hospital = devnet_account(1)
    signature = sign_update(hospital, **FIELDS)
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert recover_update_signer(signature, **FIELDS) == hospital.address


def test_digest_changes_with_every_bound_field():
    base = update_digest(**FIELDS)
    for key, value in [
        ("chain_id", 1),
        ("ledger", "0x" + "11" * 20),
        ("round_id", 4),
        ("blob_hash", b"\x08" * 32),
        ("sample_count", 121),
    ]:
        assert update_digest(**{**FIELDS, key: value}) != base


def test_update_ids_pack_round_and_sequence():
    assert update_id(3, 2) == (3 << 16) | 2
    assert round_of(update_id(77, 5)) == 77
    assert bitmap_indexes(0b1011) == [0, 1, 3]
