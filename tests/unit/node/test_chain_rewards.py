"""The pure credit rule: accepted samples, approvals of accepted updates, one packer."""

from __future__ import annotations

from node.chain.models import Rates
from node.chain.rewards import UpdateVotes, round_credits

RATES = Rates(hospital_rate=2, verifier_rate=10, packer_rate=50)


def test_accepted_updates_credit_hospitals_and_their_approvers():
    updates = [
        UpdateVotes("h0", 100, {"m0", "m1", "m2"}, accepted=True),
        UpdateVotes("h1", 300, {"m1", "m2"}, accepted=True),
        UpdateVotes("h2", 999, {"m2"}, accepted=False),
    ]
    assert round_credits(updates, "m0", RATES) == {
        "h0": 200,
        "h1": 600,
        "m0": 10 + 50,
        "m1": 20,
        "m2": 20,
    }


def test_a_round_without_accepted_updates_pays_only_the_packer():
    assert round_credits([UpdateVotes("h0", 5, {"m0"})], "m1", RATES) == {"m1": 50}


def test_zero_rates_credit_nobody():
    zero = Rates(hospital_rate=0, verifier_rate=0, packer_rate=0)
    assert round_credits([UpdateVotes("h0", 5, {"m0"}, accepted=True)], "m0", zero) == {}


def test_hospital_credit_is_samples_rate_unique_fraction_and_quality_floored_once():
    updates = [
        UpdateVotes("h0", 101, {"m0"}, accepted=True, unique_ppm=500_000),
        UpdateVotes("h1", 3, {"m1"}, accepted=True, unique_ppm=333_333),
    ]
    # 101 x 2 x 0.5 x 1.25 = 126.25 -> 126; 3 x 2 x 0.333333 x 1.25 = 2.4999975 -> 2
    credits = round_credits(updates, "m0", RATES, quality=1_250_000)
    assert (credits["h0"], credits["h1"]) == (126, 2)
