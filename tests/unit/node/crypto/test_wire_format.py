import hashlib
import struct

import numpy as np
import pytest

from node.crypto import (
    MalformedBlob,
    PackingSpec,
    aggregate_updates,
    blob_id,
    decode_key_share,
    decode_public_key,
    encode_public_key,
    encrypt_update,
    partial_decrypt,
    read_aggregate,
    read_update,
)
from node.crypto.codec import decode_partial, encode_key_share, encode_partial, encode_update
from node.crypto.messages import KeyShareRecord
from node.crypto.wire import MAGIC, VERSION

SPEC = PackingSpec(value_bits=6, clip=2.0, max_updates=2, max_total_weight=4)


@pytest.fixture(scope="module")
def blobs(two_of_three):
    pk = two_of_three.public_key
    rng = np.random.default_rng(0)
    updates = [
        encrypt_update(pk, SPEC, rng.uniform(-2, 2, 500), weight=w, context=b"round 7")
        for w in (1, 3)
    ]
    aggregate = aggregate_updates(pk, updates)
    partial = partial_decrypt(pk, two_of_three.shares[2], aggregate)
    return {"update": updates[0], "aggregate": aggregate, "partial": partial}


def _readers(two_of_three):
    pk = two_of_three.public_key
    return {
        "public_key": decode_public_key,
        "share": lambda b: decode_key_share(b, pk),
        "update": lambda b: read_update(b, pk),
        "aggregate": lambda b: read_aggregate(b, pk),
        "partial": lambda b: decode_partial(b, pk),
    }


def _all_blobs(two_of_three, blobs):
    share = two_of_three.shares[1]
    return {**blobs, "public_key": two_of_three.public_key_blob, "share": encode_key_share(share)}


def test_every_kind_round_trips_byte_for_byte(two_of_three, blobs) -> None:
    pk = two_of_three.public_key
    update = read_update(blobs["update"], pk)
    partial = decode_partial(blobs["partial"], pk)

    assert (
        encode_public_key(decode_public_key(two_of_three.public_key_blob))
        == two_of_three.public_key_blob
    )
    assert encode_update(update, pk) == blobs["update"]
    assert encode_partial(partial, pk) == blobs["partial"]
    assert update.context == b"round 7" and update.weight == 1 and update.n_values == 500
    aggregate = read_aggregate(blobs["aggregate"], pk)
    assert sorted(c.weight for c in aggregate.contributions) == [1, 3]
    assert blob_id(blobs["update"]) in {c.update_id for c in aggregate.contributions}


def test_blob_id_is_sha256_of_the_bytes(blobs) -> None:
    assert blob_id(blobs["update"]) == hashlib.sha256(blobs["update"]).digest()


def test_ciphertexts_take_their_fixed_width_plus_small_headers(two_of_three, blobs) -> None:
    update = read_update(blobs["update"], two_of_three.public_key)
    width = (two_of_three.public_key.nsquare.bit_length() + 7) // 8

    assert len(blobs["update"]) - len(update.ciphertexts) * width < 120


@pytest.mark.parametrize("kind", ["public_key", "share", "update", "aggregate", "partial"])
def test_bad_magic_unknown_version_and_wrong_kind_are_named(two_of_three, blobs, kind) -> None:
    blob = _all_blobs(two_of_three, blobs)[kind]
    read = _readers(two_of_three)[kind]

    with pytest.raises(MalformedBlob, match="bad magic") as info:
        read(b"XXXX" + blob[4:])
    assert info.value.field == "magic"
    with pytest.raises(MalformedBlob, match="unknown version 9"):
        read(blob[:4] + bytes([9]) + blob[5:])
    with pytest.raises(MalformedBlob, match="kind"):
        read(blob[:5] + bytes([blob[5] % 5 + 1]) + blob[6:])


@pytest.mark.parametrize("kind", ["public_key", "share", "update", "aggregate", "partial"])
def test_truncated_or_padded_blobs_are_refused(two_of_three, blobs, kind) -> None:
    blob = _all_blobs(two_of_three, blobs)[kind]
    read = _readers(two_of_three)[kind]

    for cut in (0, 3, 13, 14, 20, len(blob) // 2, len(blob) - 1):
        with pytest.raises(MalformedBlob, match="truncated|shorter than the header"):
            read(blob[:cut])
    with pytest.raises(MalformedBlob, match="trailing bytes"):
        read(blob + b"\0")


def test_a_body_length_that_lies_is_caught_inside_the_body(two_of_three, blobs) -> None:
    blob = blobs["update"]
    body_length = struct.unpack(">Q", blob[6:14])[0]
    # Cut the body short by one ciphertext but fix the header: the array count then lies.
    shortened = blob[:6] + struct.pack(">Q", body_length - 8) + blob[14:-8]

    with pytest.raises(MalformedBlob, match="ciphertexts: truncated"):
        read_update(shortened, two_of_three.public_key)


@pytest.mark.parametrize("replacement", ["zero", "n", "n_squared", "multiple_of_n"])
def test_ciphertext_outside_the_unit_group_is_refused(two_of_three, blobs, replacement) -> None:
    pk = two_of_three.public_key
    update = read_update(blobs["update"], pk)
    bad_value = {"zero": 0, "n": pk.n, "n_squared": pk.nsquare, "multiple_of_n": 5 * pk.n}
    forged = type(update)(
        update.public_key_id,
        update.spec,
        update.n_values,
        update.weight,
        update.context,
        (update.ciphertexts[0], bad_value[replacement], *update.ciphertexts[2:]),
    )

    with pytest.raises(MalformedBlob, match=r"ciphertexts\[1\]"):
        read_update(encode_update(forged, pk), pk)


def test_update_with_the_wrong_number_of_ciphertexts_is_refused(two_of_three, blobs) -> None:
    pk = two_of_three.public_key
    update = read_update(blobs["update"], pk)
    forged = type(update)(
        update.public_key_id,
        update.spec,
        update.n_values + 10_000,
        update.weight,
        update.context,
        update.ciphertexts,
    )

    with pytest.raises(MalformedBlob, match="need"):
        read_update(encode_update(forged, pk), pk)


def test_blob_for_another_key_is_refused(two_of_three, three_of_five, blobs) -> None:
    with pytest.raises(MalformedBlob, match="another public key"):
        read_update(blobs["update"], three_of_five.public_key)


def test_share_that_does_not_match_its_verification_key_is_refused(two_of_three) -> None:
    pk = two_of_three.public_key
    share = two_of_three.shares[1]
    forged = KeyShareRecord(share.public_key_id, 1, share.secret + 1, share.verification_key)

    with pytest.raises(MalformedBlob, match="verification key"):
        decode_key_share(encode_key_share(forged), pk)
    with pytest.raises(MalformedBlob, match="another public key"):
        decode_key_share(
            encode_key_share(share), type(pk)(pk.n, 1, pk.miners, pk.v, pk.verification_keys)
        )


def test_share_repr_does_not_show_the_secret(two_of_three) -> None:
    share = two_of_three.shares[1]

    assert str(share.secret) not in repr(share)


def test_header_layout_is_magic_version_kind_length(blobs) -> None:
    magic, version, kind, length = struct.unpack(">4sBBQ", blobs["partial"][:14])

    assert (magic, version, kind, length) == (MAGIC, VERSION, 5, len(blobs["partial"]) - 14)


def test_public_key_with_an_implausible_modulus_or_threshold_is_refused(two_of_three) -> None:
    pk = two_of_three.public_key
    even = type(pk)(pk.n + 1, pk.threshold, pk.miners, pk.v, pk.verification_keys)
    greedy = type(pk)(pk.n, 4, pk.miners, pk.v, pk.verification_keys)

    with pytest.raises(MalformedBlob, match="n: not a plausible modulus"):
        decode_public_key(encode_public_key(even))
    with pytest.raises(MalformedBlob, match="inconsistent t=4, m=3"):
        decode_public_key(encode_public_key(greedy))
