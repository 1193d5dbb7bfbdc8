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
        "h0": 200, "h1": 600, "m0": 10 + 50, "m1": 20, "m2": 20,
    }


def test_a_round_without_accepted_updates_pays_only_the_packer():
    assert round_credits([UpdateVotes("h0", 5, {"m0"})], "m1", RATES) == {"m1": 50}


def test_zero_rates_credit_nobody():
    zero = Rates(hospital_rate=0, verifier_rate=0, packer_rate=0)
    assert round_credits([UpdateVotes("h0", 5, {"m0"}, accepted=True)], "m0", zero) == {}
