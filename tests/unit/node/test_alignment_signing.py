"""EIP-712 alignment signatures: the struct the ledger will take, recoverable, every field bound."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from node.chain.signing import alignment_digest, recover_alignment_signer, sign_alignment
from node.identity import devnet_account

LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HOSPITAL = devnet_account(1)
VALUES = {
    "chain_id": 31337,
    "ledger": LEDGER,
    "run": 7,
    "shared_set_hash": b"\x05" * 32,
    "shared_size": 120,
    "unique_ppm": 640_000,
}


def test_digest_is_the_eip712_hash_of_the_alignment_struct_under_the_fedchain_domain():
    type_hash = keccak(
        b"Alignment(address hospital,uint64 run,bytes32 sharedSetHash,uint64 sharedSize,"
        b"uint32 uniquePpm)"
    )
    struct = keccak(
        encode(
            ["bytes32", "address", "uint64", "bytes32", "uint64", "uint32"],
            [type_hash, HOSPITAL.address, 7, b"\x05" * 32, 120, 640_000],
        )
    )
    domain_type = keccak(
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    domain = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_type, keccak(b"fedchain"), keccak(b"1"), 31337, LEDGER],
        )
    )
    expected = keccak(b"\x19\x01" + domain + struct)
    assert alignment_digest(hospital=HOSPITAL.address, **VALUES) == expected


def test_signature_recovers_the_hospital_it_names():
    signature = sign_alignment(HOSPITAL, **VALUES)
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert recover_alignment_signer(signature, hospital=HOSPITAL.address, **VALUES) == (
        HOSPITAL.address
    )


def test_every_field_is_bound():
    signature = sign_alignment(HOSPITAL, **VALUES)
    base = alignment_digest(hospital=HOSPITAL.address, **VALUES)
    for key, value in [
        ("chain_id", 1),
        ("ledger", "0x" + "11" * 20),
        ("run", 8),
        ("shared_set_hash", b"\x06" * 32),
        ("shared_size", 121),
        ("unique_ppm", 640_001),
    ]:
        changed = {**VALUES, key: value}
        assert alignment_digest(hospital=HOSPITAL.address, **changed) != base
        assert recover_alignment_signer(signature, hospital=HOSPITAL.address, **changed) != (
            HOSPITAL.address
        )
    other = devnet_account(2).address
    assert recover_alignment_signer(signature, hospital=other, **VALUES) != HOSPITAL.address
