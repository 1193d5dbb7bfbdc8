"""Batched DLEQ proofs: a batch raised to the committed key verifies; any deviation does not."""

from __future__ import annotations

import os

import pytest

from hospital.alignment.dleq import (
    PROOF_BYTES,
    DleqProof,
    coefficient_seed,
    coefficients,
    key_commitment,
    prove,
    verify,
)
from hospital.alignment.group import POINT_BYTES, encode_items, new_key, raise_points

STATEMENT = b"session|south|origin north|hops 2"


@pytest.fixture(scope="module")
def batch():
    """(key, inputs, outputs): 50 points raised honestly to ``key``."""
    key = new_key()
    inputs = encode_items([os.urandom(16) for _ in range(50)], new_key(), context=b"t")
    return key, inputs, raise_points(inputs, key)


def _swap(blob: bytes, i: int, j: int) -> bytes:
    points = [blob[k : k + POINT_BYTES] for k in range(0, len(blob), POINT_BYTES)]
    points[i], points[j] = points[j], points[i]
    return b"".join(points)


def test_an_honest_batch_verifies(batch):
    key, inputs, outputs = batch
    proof = prove(key, inputs, outputs, statement=STATEMENT)
    assert len(proof.to_bytes()) == PROOF_BYTES
    assert DleqProof.from_bytes(proof.to_bytes()) == proof
    assert verify(key_commitment(key), inputs, outputs, proof, statement=STATEMENT)
    assert verify(key_commitment(key), inputs, outputs, proof, statement=STATEMENT, workers=1)


def test_a_batch_raised_to_another_key_fails_against_the_commitment(batch):
    key, inputs, _ = batch
    wrong = new_key()
    outputs = raise_points(inputs, wrong)
    # proved with the committed key, or honestly with the wrong one: both fail against K
    for proving_key in (key, wrong):
        proof = prove(proving_key, inputs, outputs, statement=STATEMENT)
        assert not verify(key_commitment(key), inputs, outputs, proof, statement=STATEMENT)


def test_one_point_raised_to_another_key_fails(batch):
    key, inputs, outputs = batch
    bad = outputs[:POINT_BYTES] + raise_points(inputs[POINT_BYTES : 2 * POINT_BYTES], new_key())
    bad += outputs[2 * POINT_BYTES :]
    proof = prove(key, inputs, bad, statement=STATEMENT)
    assert not verify(key_commitment(key), inputs, bad, proof, statement=STATEMENT)


def test_swapped_points_fail(batch):
    key, inputs, outputs = batch
    swapped = _swap(outputs, 3, 17)
    proof = prove(key, inputs, swapped, statement=STATEMENT)
    assert not verify(key_commitment(key), inputs, swapped, proof, statement=STATEMENT)
    honest = prove(key, inputs, outputs, statement=STATEMENT)
    assert not verify(key_commitment(key), inputs, swapped, honest, statement=STATEMENT)
    assert not verify(
        key_commitment(key), _swap(inputs, 3, 17), outputs, honest, statement=STATEMENT
    )


def test_tampered_challenge_or_response_fails(batch):
    key, inputs, outputs = batch
    proof = prove(key, inputs, outputs, statement=STATEMENT)
    flip = bytes([proof.challenge[0] ^ 1]) + proof.challenge[1:]
    assert not verify(
        key_commitment(key), inputs, outputs, DleqProof(flip, proof.response), statement=STATEMENT
    )
    flip = bytes([proof.response[0] ^ 1]) + proof.response[1:]
    assert not verify(
        key_commitment(key), inputs, outputs, DleqProof(proof.challenge, flip), statement=STATEMENT
    )


def test_a_proof_is_bound_to_its_statement(batch):
    key, inputs, outputs = batch
    proof = prove(key, inputs, outputs, statement=STATEMENT)
    assert not verify(key_commitment(key), inputs, outputs, proof, statement=b"another batch")


def test_malformed_proofs_and_batches_are_false_not_errors(batch):
    key, inputs, outputs = batch
    proof = prove(key, inputs, outputs, statement=STATEMENT)
    commitment = key_commitment(key)
    non_reduced = DleqProof(proof.challenge, b"\xff" * 32)
    assert not verify(commitment, inputs, outputs, non_reduced, statement=STATEMENT)
    assert not verify(b"\xff" * 32, inputs, outputs, proof, statement=STATEMENT)
    assert not verify(commitment, inputs, outputs[:-POINT_BYTES], proof, statement=STATEMENT)
    assert not verify(commitment, b"", b"", proof, statement=STATEMENT)
    with pytest.raises(ValueError, match="64 bytes"):
        DleqProof.from_bytes(b"\x00" * 63)


def test_coefficients_are_128_bit_and_fixed_by_the_whole_transcript(batch):
    key, inputs, outputs = batch
    seed = coefficient_seed(STATEMENT, key_commitment(key), inputs, outputs)
    coeffs = coefficients(seed, 50)
    assert len(set(coeffs)) == 50 and all(c[16:] == bytes(16) for c in coeffs)
    changed = coefficient_seed(STATEMENT, key_commitment(key), inputs, _swap(outputs, 0, 1))
    assert changed != seed
