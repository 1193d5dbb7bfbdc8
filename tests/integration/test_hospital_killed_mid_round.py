"""A hospital SIGKILLed mid-round: the round seals with the rest; restarted, it catches up.

Three pairs on a real devnet. Round 1 needs two updates; the third hospital is killed by PID
as soon as it has seen the round open (before its update reaches its miner). The round seals
with the two others and the dead hospital earns nothing. Restarted on the same store, data
directory and port, it rebuilds its view from the chain, applies round 1's sealed model (the
hash on chain) and takes part in round 2, which needs and gets all three updates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from node.chain.client import LedgerClient
from node.chain.models import RoundStatus
from node.netup import Network
from tests.integration.services import aligned_network, get_json, wait_until

VICTIM = 2  # pair index of the hospital that is killed


def _sealed_and_applied(
    net: Network, ledger: LedgerClient, r: int, hospitals: list[int]
) -> Callable[[], bool]:
    def check() -> bool:
        info = ledger.round(r)
        assert info.status is not RoundStatus.REJECTED, f"round {r} rejected"
        return info.status is RoundStatus.SEALED and all(
            get_json(net.hospitals[k].url + "/rounds").get("applied_round", 0) >= r
            for k in hospitals
        )

    return check


def test_a_killed_hospital_misses_a_round_that_seals_without_it_then_rejoins_from_the_chain(
    tmp_path,
):
    with aligned_network(tmp_path / "net") as (net, ledger):
        assert net.network is not None
        victim = net.hospitals[VICTIM]
        address = net.network.pairs[VICTIM].hospital
        index = ledger.member(address).index
        cases = get_json(victim.url + "/health")["cases"]
        credits = ledger.balance_of(address)

        # round 1 needs 2 updates; kill the victim once it has seen the round open
        net.open_round(min_updates=2)
        seen: dict[str, Any] = {}

        def victim_in_round_1() -> bool:
            seen.update(get_json(victim.url + "/rounds"))
            return seen.get("current_round") == 1

        wait_until("the victim sees round 1 open", victim_in_round_1, 20, every=0.02)
        net.kill_hospital(VICTIM)
        assert seen["phase"] == "open" and "1" not in seen["receipts"]  # killed before sending
        assert not net.hospitals[VICTIM].alive()

        survivors = [k for k in range(3) if k != VICTIM]
        wait_until(
            "round 1 sealed by the survivors", _sealed_and_applied(net, ledger, 1, survivors), 90
        )
        first = ledger.round(1)
        assert first.min_updates == 2 and first.accepted == 2
        assert index not in first.proposed_by  # the dead hospital's update never arrived
        assert ledger.balance_of(address) == credits  # and it is not credited
        sealed = ledger.model_hash().removeprefix("0x")

        # restart on the same store, data dir and port: it catches up from the chain
        restarted = net.restart_hospital(VICTIM)
        assert restarted.url == victim.url and restarted.process.pid != victim.process.pid
        wait_until(
            "the restarted hospital applies round 1",
            lambda: get_json(victim.url + "/rounds").get("applied_round") == 1,
            60,
        )
        status = get_json(victim.url + "/rounds")
        assert status["applied_model_hash"] == sealed
        assert get_json(victim.url + "/health")["cases"] == cases  # nothing lost

        # round 2 needs every hospital: it seals only with the restarted one's update
        net.open_round()
        wait_until(
            "round 2 sealed with all three", _sealed_and_applied(net, ledger, 2, [0, 1, 2]), 90
        )
        second = ledger.round(2)
        assert second.min_updates == 3 and second.accepted == 3
        assert index in second.proposed_by
        assert ledger.balance_of(address) > credits
        sealed = ledger.model_hash().removeprefix("0x")
        for h in net.hospitals:
            rounds = get_json(h.url + "/rounds")
            assert rounds["applied_round"] == 2 and rounds["applied_model_hash"] == sealed
        assert get_json(victim.url + "/health")["cases"] == cases
