"""Canary maths: which regions get canaries, what counts they must come back with, detection."""

from __future__ import annotations

import random

from hospital.alignment.canaries import (
    CANARY_PREFIX,
    canaries_for,
    canaries_per_party,
    canary_groups,
    canary_mismatches,
    session_key,
)

PARTIES = ("north", "south", "east")


def _key(session_id="a" * 32, secret=b"consortium secret"):
    return session_key(secret, session_id=session_id, run="1", purpose="patients", parties=PARTIES)


def _plaintext_counts(sets):
    return {k: {x: sum(x in sets[o] for o in sets if o != k) for x in sets[k]} for k in sets}


def test_every_region_is_covered_up_to_six_parties_then_sizes_1_2_n_minus_1_and_n():
    assert canary_groups(("a", "b")) == [("a",), ("b",), ("a", "b")]
    assert len(canary_groups(PARTIES)) == 7
    assert len(canary_groups(tuple("abcdef"))) == 63
    seven = tuple("abcdefg")
    assert sorted({len(g) for g in canary_groups(seven)}) == [1, 2, 6, 7]
    assert len(canary_groups(seven)) == 7 + 21 + 7 + 1


def test_each_party_adds_the_same_public_number_of_canaries():
    assert canaries_per_party(("a", "b"), 32) == 2 * 32  # its own region and the pair's
    assert canaries_per_party(PARTIES, 8) == 4 * 8
    assert canaries_per_party(tuple("abcdefg"), 8) == 2 * 7 * 8
    key = _key()
    assert {len(canaries_for(p, key, PARTIES, 8)) for p in PARTIES} == {32}


def test_the_hospitals_derive_the_same_canaries_and_a_new_session_new_ones():
    key = _key()
    north, south = canaries_for("north", key, PARTIES, 4), canaries_for("south", key, PARTIES, 4)
    shared = set(north) & set(south)
    assert {north[c][0] for c in shared} == {("north", "south"), ("north", "south", "east")}
    assert all(c.startswith(CANARY_PREFIX) for c in north)
    assert not set(canaries_for("north", _key("b" * 32), PARTIES, 4)) & set(north)
    assert not set(canaries_for("north", _key(secret=b"other"), PARTIES, 4)) & set(north)


def test_honest_counts_pass_every_canary_check_whatever_the_real_items():
    rng = random.Random(1)
    universe = [rng.randbytes(16) for _ in range(300)]
    key = _key()
    canaries = {p: canaries_for(p, key, PARTIES, 8) for p in PARTIES}
    sets = {p: {x for x in universe if rng.random() < 0.5} | set(canaries[p]) for p in PARTIES}

    counts = _plaintext_counts(sets)

    for p in PARTIES:
        assert canary_mismatches(canaries[p], counts[p]) == []
        for canary, (group, expected) in canaries[p].items():
            assert counts[p][canary] == expected == len(group) - 1


def test_zeroed_or_inflated_counts_fail_with_certainty_and_name_the_region():
    key = _key()
    canaries = canaries_for("north", key, PARTIES, 8)
    zeroed = dict.fromkeys(canaries, 0)
    inflated = dict.fromkeys(canaries, 2)

    wrong = canary_mismatches(canaries, zeroed)
    assert len(wrong) == 3  # the pair and all-party regions; north-only canaries are 0
    assert any("{north, south, east}" in w and "expected 2" in w for w in wrong)
    assert len(canary_mismatches(canaries, inflated)) == 3  # every region but all three's


def test_changing_a_random_half_of_the_counts_is_caught():
    rng = random.Random(7)
    key = _key()
    canaries = canaries_for("north", key, ("north", "south"), 16)
    items = [rng.randbytes(16) for _ in range(200)] + list(canaries)
    honest = {x: canaries.get(x, ("", 0))[1] for x in items}
    lied = {x: (1 - c if rng.random() < 0.5 else c) for x, c in honest.items()}
    # escape probability (1/2)^32 for 32 canaries: with this seed it is caught
    assert canary_mismatches(canaries, lied)
    assert canary_mismatches(canaries, honest) == []
