"""A hospital SIGKILLed right after its update was proposed, restarted while the round is open.

Three pairs on a real devnet. One hospital (HELD) is down before round 1 opens, so the round,
which needs all three updates, stays open. The victim's update is proposed on chain; the
victim is killed by PID at once and restarted on the same store, data directory and port.
It must recognise its own update of the open round (the chain's UpdateProposed carries the
blob its journal kept before sending) and neither train nor send again: a second update would be
refused as DUPLICATE and recorded (SubmissionRefused). Then HELD comes back, the round seals
with all three updates, the victim applies the sealed model (its hash is the chain's) and is
credited exactly once for its one update.
"""

from __future__ import annotations

import time

import pytest

from node.chain.models import RoundStatus
from node.chain.rewards import credits_from_events
from node.roundwire import UpdateSubmission
from tests.integration.services import aligned_network, get_json, wait_until

VICTIM = 1  # killed right after its update is proposed
HELD = 2  # down before the round opens, so the round stays open meanwhile


@pytest.mark.slow
def test_a_hospital_restarted_after_its_update_was_proposed_does_not_send_again(tmp_path):
    with aligned_network(tmp_path / "net") as (net, ledger):
        assert net.network is not None
        victim = net.hospitals[VICTIM]
        address = net.network.pairs[VICTIM].hospital
        index = ledger.member(address).index
        credits = ledger.balance_of(address)
        journal = net.data_dir / victim.name / "rounds" / victim.name / "round-1.json"

        net.kill_hospital(HELD)
        net.open_round()  # needs every hospital's update

        def victim_proposed() -> bool:
            return get_json(victim.url + "/rounds").get("receipts", {}).get("1") == "proposed"

        wait_until("the victim's update is proposed", victim_proposed, 120, every=0.05)
        net.kill_hospital(VICTIM)
        assert ledger.round(1).status is RoundStatus.OPEN and index in ledger.round(1).proposed_by
        kept = UpdateSubmission.model_validate_json(journal.read_bytes())  # written before send
        (proposed,) = [
            e
            for e in ledger.events(0, "latest", {"UpdateProposed"})
            if e.hospital == address and e.round == 1
        ]
        assert proposed.blob_hash.removeprefix("0x") == kept.blob_hash

        restarted = net.restart_hospital(VICTIM)
        assert restarted.process.pid != victim.process.pid
        wait_until("the restarted victim recognises its update", victim_proposed, 60)
        time.sleep(3)  # a few ticks in the open round: a resend would happen now
        assert ledger.round(1).status is RoundStatus.OPEN

        net.restart_hospital(HELD)

        def sealed_and_applied() -> bool:
            info = ledger.round(1)
            assert info.status is not RoundStatus.REJECTED, "round 1 rejected"
            return info.status is RoundStatus.SEALED and all(
                get_json(h.url + "/rounds").get("applied_round", 0) >= 1 for h in net.hospitals
            )

        wait_until("round 1 sealed with all three and applied", sealed_and_applied, 180)
        info = ledger.round(1)
        assert info.accepted == 3 and index in info.proposed_by
        mine = [
            e
            for e in ledger.events(0, "latest", {"UpdateProposed", "SubmissionRefused"})
            if e.hospital == address
        ]
        assert mine == [proposed]  # one update, nothing sent again, nothing refused
        status = get_json(victim.url + "/rounds")
        assert status["applied_model_hash"] == ledger.model_hash().removeprefix("0x")
        gained = ledger.balance_of(address) - credits
        # credited once: the ledger minted this one update's n × rate × u × q for round 1
        minted = credits_from_events(ledger.events())[1][address]
        assert gained == minted > 0
