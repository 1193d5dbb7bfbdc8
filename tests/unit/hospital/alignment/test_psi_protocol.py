import hashlib
import random

import pytest

from hospital.alignment import AlignmentPurpose, item_digest, shared_set_hash
from hospital.alignment.group import hash_input, hash_to_group
from hospital.alignment.messages import MAGIC


def assert_matches_plaintext(summary, parties, sets, plain, min_other_holders=1):
    expected = plain(sets)
    for name, party in parties.items():
        result = party.result(summary.session_id)
        assert result.holders_by_item() == expected[name]
        shared = [x for x, c in expected[name].items() if c >= min_other_holders]
        receipt = summary.receipts[name]
        assert receipt.shared_size == len(shared) == result.shared_size
        assert (
            receipt.shared_set_hash
            == "0x" + shared_set_hash(shared, purpose=summary.purpose, salt=result.salt).hex()
        )
        assert result.ledger_args() == (
            summary.run,
            bytes.fromhex(receipt.shared_set_hash[2:]),
            len(shared),
        )
        assert sorted(result.shared_items()) == sorted(shared)


@pytest.mark.parametrize("overlap", [0.0, 0.5, 1.0])
def test_two_hospitals_learn_the_plaintext_intersection(overlap, run_local, make_sets, plain):
    sets = make_sets({"north": 400, "south": 300}, shared=int(300 * overlap), seed=1)

    summary, parties, _ = run_local(sets)

    assert_matches_plaintext(summary, parties, sets, plain)
    assert summary.receipts["south"].shared_size == int(300 * overlap)


def test_three_hospitals_learn_how_many_others_hold_each_item(run_local, plain):
    rng = random.Random(3)
    universe = [rng.randbytes(16) for _ in range(900)]
    sets = {
        name: [x for x in universe if rng.random() < p]
        for name, p in (("a", 0.5), ("b", 0.3), ("c", 0.7))
    }

    summary, parties, _ = run_local(sets)

    assert_matches_plaintext(summary, parties, sets, plain)
    counts = set(parties["a"].result(summary.session_id).other_holders)
    assert counts == {0, 1, 2}


def test_four_hospitals_with_a_threshold_of_two(run_local, make_sets, plain):
    sets = make_sets({"a": 120, "b": 80, "c": 60, "d": 50}, shared=20, seed=4)
    sets["b"] += sets["a"][20:50]  # 30 items held by a and b only
    sets["c"] += sets["a"][40:60]  # 10 of those also held by c

    summary, parties, _ = run_local(sets, min_other_holders=2)

    assert_matches_plaintext(summary, parties, sets, plain, min_other_holders=2)
    assert summary.receipts["a"].shared_size == 20 + 10


def test_duplicate_items_count_once(run_local, plain):
    sets = {"a": [b"x", b"x", b"y"], "b": [b"x", b"z"]}

    summary, parties, _ = run_local(sets)

    assert parties["a"].result(summary.session_id).holders_by_item() == {b"x": 1, b"y": 0}
    canaries = summary.canaries_per_party  # announced sizes include them
    assert canaries > 0 and summary.set_sizes == {"a": 2 + canaries, "b": 2 + canaries}


def test_transcript_holds_no_item_nor_any_plain_hash_of_one(run_local, make_sets):
    sets = make_sets({"a": 200, "b": 150, "c": 100}, shared=50, seed=5)

    summary, _, log = run_local(sets)

    context = f"{summary.purpose.value}\x00{summary.session_id}".encode()
    transcript = b"".join(log.messages)
    assert len(log.messages) == 3 * 2 + 3 * 2 + 3 * 2 * 2 + 3 * 2  # open, encode, 6 blinds, finish
    for item in {x for v in sets.values() for x in v}:
        for leak in (
            item,
            item.hex().encode(),
            hashlib.sha256(item).digest(),
            hashlib.sha512(item).digest(),
            item_digest(item),
            hash_input(item, context=context),
            hash_to_group(item, context=context),
        ):
            assert leak[:16] not in transcript


def test_wire_sizes_depend_only_on_set_sizes(run_local, make_sets):
    def frame_sizes(shared):
        sets = make_sets({"a": 200, "b": 150}, shared=shared, seed=6)
        _, _, log = run_local(sets)
        return sorted(len(m) for m in log.messages if m.startswith(MAGIC))

    assert frame_sizes(0) == frame_sizes(150)


def test_each_owner_sends_its_items_in_a_fresh_secret_order(run_local, make_sets):
    sets = make_sets({"a": 300, "b": 300}, shared=100, seed=7)

    first, parties_1, _ = run_local(sets)
    second, parties_2, _ = run_local(sets)

    order_1 = parties_1["a"].result(first.session_id).items
    order_2 = parties_2["a"].result(second.session_id).items
    assert set(order_1) == set(sets["a"])
    assert list(order_1) != sets["a"] and order_1 != order_2


def test_pathology_and_patient_runs_encode_the_same_item_differently(run_local):
    sets = {"a": [b"same"], "b": [b"same"]}
    _, _, log_1 = run_local(sets, purpose=AlignmentPurpose.PATHOLOGY)
    _, _, log_2 = run_local(sets, purpose=AlignmentPurpose.PATIENTS)
    frames_1 = {m[-32:] for m in log_1.messages if m.startswith(MAGIC)}
    frames_2 = {m[-32:] for m in log_2.messages if m.startswith(MAGIC)}
    assert not frames_1 & frames_2
