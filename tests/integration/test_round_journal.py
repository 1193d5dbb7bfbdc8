"""The hospital's submission journal: an update kept before sending is resent, never retrained.

In-process federation on the session anvil (real ledger, miners and encryption). Hospital 0
trains and keeps its update, then "dies" before sending it; a fresh RoundClient (a restart:
empty view, no receipts) whose trainer refuses to run finds the kept submission and sends
exactly those bytes. The round seals with it.
"""

from __future__ import annotations

import numpy as np

from hospital.round import RoundClient
from hospital.roundjournal import SubmissionJournal
from node.chain.models import RoundStatus
from node.fedopt import model_hash


def test_a_restarted_hospital_sends_the_update_it_kept_without_training_again(
    make_federation, tmp_path
):
    fed = make_federation(n_params=8)
    fed.open_round(1)
    before = fed.hospitals[0]
    before.view.catch_up(before.ledger)
    journal = SubmissionJournal(tmp_path / "rounds")
    kept = before.make_submission(before.view.rounds[1])
    journal.keep(kept)  # ...and the process dies before the miner gets it

    def no_training(_weights: np.ndarray) -> tuple[np.ndarray, int]:
        raise AssertionError("the restarted hospital trained again")

    fed.hospitals[0] = RoundClient(
        ledger=before.ledger,
        link=before.link,
        public_key=before.public_key,
        train=no_training,
        evaluate=before.evaluate,
        journal=journal,
    )
    fed.drive(lambda: fed.status(1) is RoundStatus.SEALED)
    fed.drive(lambda: all(h.model is not None for h in fed.hospitals))

    address = before.ledger.account.address
    mine = [
        e
        for e in fed.world.admin.events(0, "latest", {"UpdateProposed", "SubmissionRefused"})
        if e.hospital == address
    ]
    assert [(type(e).__name__, e.blob_hash.removeprefix("0x")) for e in mine] == [
        ("UpdateProposed", kept.blob_hash)
    ]
    restarted = fed.hospitals[0]
    assert restarted.model is not None
    assert model_hash(restarted.model).hex() == fed.world.admin.model_hash().removeprefix("0x")
