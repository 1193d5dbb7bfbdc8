import pytest
import rbcl

from hospital.alignment import AlignmentRefused
from hospital.alignment.group import (
    check_batch,
    encode_items,
    hash_to_group,
    new_key,
    raise_points,
    split_points,
)

ITEMS = [f"item-{i}".encode() for i in range(300)]


def test_hash_to_group_is_deterministic_and_separated_by_context():
    assert hash_to_group(b"x", context=b"s1") == hash_to_group(b"x", context=b"s1")
    assert hash_to_group(b"x", context=b"s1") != hash_to_group(b"x", context=b"s2")
    assert hash_to_group(b"x", context=b"s1") != hash_to_group(b"y", context=b"s1")
    assert rbcl.crypto_core_ristretto255_is_valid_point(hash_to_group(b"x", context=b"s"))


def test_raising_to_two_keys_commutes():
    a, b = new_key(), new_key()
    ab = raise_points(encode_items(ITEMS, a, context=b"c"), b)
    ba = raise_points(encode_items(ITEMS, b, context=b"c"), a)
    assert ab == ba
    assert len(set(split_points(ab))) == len(ITEMS)


def test_threads_processes_and_one_worker_give_the_same_batch():
    key = new_key()
    items = ITEMS * 10  # several chunks
    one = encode_items(items, key, context=b"c", workers=1)
    assert encode_items(items, key, context=b"c", workers=2, pool="thread") == one
    assert encode_items(items, key, context=b"c", workers=2, pool="process") == one
    assert raise_points(one, key, workers=2) == raise_points(one, key, workers=1)


def test_batch_with_a_partial_point_is_refused_naming_the_field():
    with pytest.raises(AlignmentRefused, match="not a whole number") as exc:
        check_batch(b"\x01" * 33, expected=None)
    assert exc.value.field == "points"


def test_batch_of_the_wrong_size_is_refused():
    good = encode_items(ITEMS[:3], new_key(), context=b"c")
    with pytest.raises(AlignmentRefused, match="holds 3 points, expected 4"):
        check_batch(good, expected=4)


@pytest.mark.parametrize(
    "bad",
    [
        b"\x00" * 32,  # the identity
        b"\xff" * 32,  # not canonical (above the field modulus)
        b"\x01" + b"\x00" * 31,  # odd encodings are not canonical ristretto
    ],
)
def test_non_canonical_or_identity_point_is_refused_with_its_index(bad):
    good = encode_items(ITEMS[:5], new_key(), context=b"c")
    with pytest.raises(AlignmentRefused, match=r"points\[5\] is not a canonical") as exc:
        check_batch(good + bad, expected=6)
    assert exc.value.field == "points"
