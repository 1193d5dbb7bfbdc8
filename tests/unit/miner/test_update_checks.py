"""The pure cross-validation checks: each failure names its reason code."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from miner.checks import (
    Claim,
    HospitalFacts,
    RejectReason,
    RoundFacts,
    UpdateRefused,
    check_update,
)
from node.blobstore import blob_hash
from node.chain.signing import sign_update
from node.crypto import decode_public_key, encrypt_update, new_consortium_key, read_update
from node.crypto.codec import encode_update, public_key_id
from node.identity import devnet_account
from node.modelspec import ModelSpec

LEDGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HOSPITAL = devnet_account(1)


@pytest.fixture(scope="module")
def key():
    pub, _ = new_consortium_key(miners=3, threshold=2, n_bits=512)
    return decode_public_key(pub)


@pytest.fixture(scope="module")
def spec(key):
    return ModelSpec(n_params=20, public_key_id=public_key_id(key).hex())


def _blob(key, spec, *, weight=30, n=20):
    return encrypt_update(key, spec.packing(), np.linspace(-0.5, 0.5, n), weight=weight)


def _claim(blob, *, round_=1, samples=30, account=HOSPITAL):
    digest = bytes.fromhex(blob_hash(blob))
    sig = sign_update(
        account,
        chain_id=31337,
        ledger=LEDGER,
        round_id=round_,
        blob_hash=digest,
        sample_count=samples,
    )
    return Claim(HOSPITAL.address, round_, digest, samples, sig)


def _round(spec, **kw):
    base = dict(
        chain_id=31337,
        ledger=LEDGER,
        current_round=1,
        open=True,
        deadline=1000,
        now=500,
        spec=spec,
        weight_left=1000,
        max_share_ppm=500_000,
        proposed=0,
        max_updates=16,
    )
    return RoundFacts(**{**base, **kw})


def _hospital(**kw):
    base = dict(
        registered=True, aligned=True, shared_size=40, proposed_this_round=False, blob_seen=False
    )
    return HospitalFacts(**{**base, **kw})


def _reason(claim, blob, round_, hospital, key):
    with pytest.raises(UpdateRefused) as info:
        check_update(claim, blob, round_, hospital, key)
    return info.value.reason


def test_honest_update_passes_every_check(key, spec):
    blob = _blob(key, spec)
    check_update(_claim(blob), blob, _round(spec), _hospital(), key)


@pytest.mark.parametrize(
    ("round_kw", "hospital_kw", "claim_kw", "reason"),
    [
        ({}, {"registered": False}, {}, RejectReason.UNKNOWN_SIGNER),
        ({}, {}, {"account": devnet_account(9)}, RejectReason.BAD_SIGNATURE),
        ({}, {}, {"round_": 2}, RejectReason.WRONG_ROUND),
        ({"open": False}, {}, {}, RejectReason.ROUND_CLOSED),
        ({"now": 1001}, {}, {}, RejectReason.ROUND_CLOSED),
        ({}, {"proposed_this_round": True}, {}, RejectReason.DUPLICATE),
        ({}, {"blob_seen": True}, {}, RejectReason.DUPLICATE),
        ({}, {"shared_size": 29}, {}, RejectReason.SAMPLES_EXCEED_ALIGNMENT),
        ({"weight_left": 29}, {}, {}, RejectReason.ROUND_WEIGHT_FULL),
        # 30 samples may take at most half of what is left: 59 is not enough room
        ({"weight_left": 59}, {}, {}, RejectReason.ROUND_WEIGHT_FULL),
        ({}, {"aligned": False, "shared_size": 0}, {}, RejectReason.NOT_ALIGNED),
        ({"proposed": 16}, {}, {}, RejectReason.ROUND_FULL),
    ],
)
def test_claim_checks_name_their_reason(key, spec, round_kw, hospital_kw, claim_kw, reason):
    blob = _blob(key, spec)
    claim = _claim(blob, **claim_kw)
    assert _reason(claim, blob, _round(spec, **round_kw), _hospital(**hospital_kw), key) == reason


def test_half_of_the_room_left_is_enough(key, spec):
    blob = _blob(key, spec)
    check_update(_claim(blob), blob, _round(spec, weight_left=60), _hospital(), key)


def test_blob_not_matching_its_hash_is_refused(key, spec):
    blob = _blob(key, spec)
    claim = _claim(blob)
    other = _blob(key, spec)
    assert _reason(claim, other, _round(spec), _hospital(), key) == RejectReason.HASH_MISMATCH


def test_garbage_blob_is_malformed(key, spec):
    blob = b"not an update"
    assert _reason(_claim(blob), blob, _round(spec), _hospital(), key) == RejectReason.MALFORMED


def test_ciphertext_outside_the_group_is_refused(key, spec):
    update = read_update(_blob(key, spec), key)
    for bad in (0, key.nsquare, key.n):  # zero, out of range, not a unit
        forged = dataclasses.replace(update, ciphertexts=(bad, *update.ciphertexts[1:]))
        blob = encode_update(forged, key)
        assert (
            _reason(_claim(blob), blob, _round(spec), _hospital(), key)
            == RejectReason.CIPHERTEXT_RANGE
        )


def test_wrong_parameter_count_is_wrong_spec(key, spec):
    blob = _blob(key, spec, n=21)
    assert _reason(_claim(blob), blob, _round(spec), _hospital(), key) == RejectReason.WRONG_SPEC


def test_weight_must_equal_signed_sample_count(key, spec):
    blob = _blob(key, spec, weight=20)
    assert (
        _reason(_claim(blob, samples=30), blob, _round(spec), _hospital(), key)
        == RejectReason.WEIGHT_MISMATCH
    )
