"""Every attack on a round is refused and recorded on chain with its reason code."""

from __future__ import annotations

import dataclasses

import pytest

from miner.checks import RejectReason
from miner.intake import submit_update
from node.blobstore import blob_hash
from node.chain.ledgerview import Phase
from node.chain.models import RoundStatus
from node.chain.rewards import hospital_settlement
from node.crypto import read_update
from node.crypto.codec import encode_update
from node.errors import NotFound
from node.identity import devnet_account
from node.roundwire import ReceiptStatus, UpdateSubmission, b64


def _submission(
    fed, k: int, *, round_id: int = 1, samples: int = 30, blob: bytes | None = None, signer=None
) -> UpdateSubmission:
    """Hospital k's honest submission, optionally with another blob, count or signer."""
    h = fed.hospitals[k]
    h.view.catch_up(h.ledger)
    r = h.view.rounds[h.view.current_round]
    honest = h.make_submission(r)
    blob = blob if blob is not None else honest.blob()
    digest = blob_hash(blob)
    ledger = fed.world.hospitals[k] if signer is None else fed.world.hospitals[k].as_account(signer)
    sig = ledger.sign_update(round_id, digest, samples)
    return UpdateSubmission(
        round=round_id,
        blob_hash=digest,
        sample_count=samples,
        signature="0x" + sig.hex(),
        blob_b64=b64(blob),
    )


def _send(fed, miner: int, hospital: int, submission: UpdateSubmission):
    signer = fed.world.hospitals[hospital].account.address
    return submit_update(node=fed.miners[miner], signer=signer, submission=submission)


def _refusals(fed) -> list[str]:
    return [e.reason for e in fed.world.admin.events(names={"SubmissionRefused"})]


def _opened(make_federation):
    fed = make_federation()
    fed.open_round(1)
    return fed


def test_forged_signature_is_refused_and_recorded(make_federation):
    fed = _opened(make_federation)
    forged = _submission(fed, 0, signer=devnet_account(9))
    receipt = _send(fed, 0, 0, forged)
    assert receipt.status is ReceiptStatus.REFUSED
    assert receipt.reason == RejectReason.BAD_SIGNATURE
    assert _refusals(fed) == ["BAD_SIGNATURE"]


def test_replayed_update_is_refused_and_recorded(make_federation):
    fed = _opened(make_federation)
    honest = _submission(fed, 0)
    assert _send(fed, 0, 0, honest).status is ReceiptStatus.PROPOSED
    receipt = _send(fed, 0, 0, honest)
    assert receipt.reason == RejectReason.DUPLICATE
    assert _refusals(fed) == ["DUPLICATE"]


def test_update_for_the_wrong_round_is_refused_and_recorded(make_federation):
    fed = _opened(make_federation)
    receipt = _send(fed, 0, 0, _submission(fed, 0, round_id=2))
    assert receipt.reason == RejectReason.WRONG_ROUND
    assert _refusals(fed) == ["WRONG_ROUND"]


def _malformed(fed, k: int) -> bytes:
    """An update whose first ciphertext is 0: well-formed bytes, not in Z*_{n^2}."""
    h = fed.hospitals[k]
    r = h.view.rounds[h.view.current_round]
    good = h.make_submission(r).blob()
    pub = fed.miners[0].public_key
    update = read_update(good, pub)
    bad = dataclasses.replace(update, ciphertexts=(0, *update.ciphertexts[1:]))
    return encode_update(bad, pub)


def test_malformed_ciphertext_is_refused_at_the_edge(make_federation):
    fed = _opened(make_federation)
    fed.hospitals[0].view.catch_up(fed.hospitals[0].ledger)
    receipt = _send(fed, 0, 0, _submission(fed, 0, blob=_malformed(fed, 0)))
    assert receipt.reason == RejectReason.CIPHERTEXT_RANGE
    assert _refusals(fed) == ["CIPHERTEXT_RANGE"]


def test_malformed_ciphertext_proposed_by_a_rogue_miner_is_rejected_by_the_others(make_federation):
    fed = _opened(make_federation)
    fed.hospitals[0].view.catch_up(fed.hospitals[0].ledger)
    blob = _malformed(fed, 0)
    sub = _submission(fed, 0, blob=blob)
    fed.miners[0].store.put(blob)  # the rogue miner skips its checks and proposes directly
    fed.miners[0].peers.push(blob)
    uid, _ = fed.world.miners[0].propose_update(
        fed.world.hospitals[0].account.address,
        1,
        sub.blob_hash,
        sub.sample_count,
        bytes.fromhex(sub.signature[2:]),
    )
    fed.miners[1].tick()
    fed.miners[2].tick()
    rejected = fed.world.admin.events(names={"UpdateRejected"})
    assert {e.reason for e in rejected} == {"CIPHERTEXT_RANGE"}
    assert len(rejected) == 2
    assert [e.update_id for e in fed.world.admin.events(names={"UpdateRefused"})] == [uid]


def test_inflated_sample_count_is_refused_and_recorded(make_federation):
    fed = _opened(make_federation)
    fed.world.align(0, 40, run=2)
    h = fed.hospitals[0]
    h.train = fed.task.trainer(50)  # claims 50 samples, 40 aligned on chain
    receipt = _send(fed, 0, 0, _submission(fed, 0, samples=50))
    assert receipt.reason == RejectReason.SAMPLES_EXCEED_ALIGNMENT
    assert _refusals(fed) == ["SAMPLES_EXCEED_ALIGNMENT"]


def test_another_miner_carries_a_hospitals_update(make_federation):
    """A hospital whose own miner is silent sends to another: no miner can censor it."""
    fed = _opened(make_federation)
    receipt = _send(fed, 0, 1, _submission(fed, 1, samples=50))  # hospital 1 to miner 0
    assert receipt.status is ReceiptStatus.PROPOSED
    (proposed,) = fed.world.admin.events(names={"UpdateProposed"})
    assert (proposed.hospital, proposed.miner) == (
        fed.world.hospitals[1].account.address,
        fed.world.miners[0].account.address,
    )
    assert _refusals(fed) == []


def test_poisoned_update_gets_its_round_rejected_by_the_holdout_check(make_federation):
    fed = make_federation(poison=2)
    fed.open_round(1)
    fed.drive(lambda: fed.status(1) == RoundStatus.REJECTED)
    (rejection,) = fed.world.admin.events(names={"RoundRejected"})
    assert rejection.reason.startswith("HOLDOUT_WORSE")
    reports = fed.world.admin.events(names={"HoldoutReported"})
    assert len(reports) == 3 and all(r.worse for r in reports)
    assert fed.world.admin.total_supply() == 0
    assert hospital_settlement(fed.world.admin.events()) == {}  # a rejected round pays nothing
    assert all(h.model is None for h in fed.hospitals)
    assert fed.hospitals[0].view.rounds[1].phase is Phase.REJECTED
    fed.hospitals[2].train = fed.task.trainer(70, seed=2)  # the poisoner behaves again
    fed.open_round(2)  # starts again from the last sealed model (here: genesis)
    fed.drive(lambda: fed.status(2) == RoundStatus.SEALED)


def test_submission_from_an_outsider_is_refused_without_spending_gas(make_federation):
    fed = _opened(make_federation)
    sub = _submission(fed, 0)
    with pytest.raises(NotFound):
        submit_update(node=fed.miners[0], signer=devnet_account(9).address, submission=sub)
    assert _refusals(fed) == []


def test_update_the_round_has_no_weight_left_for_is_refused_and_recorded(make_federation):
    # samples 30, 50, 70: the third cannot fit (no share cap, so only the room counts)
    fed = make_federation(max_total_weight=100, max_share_ppm=1_000_000)
    fed.open_round(1, min_updates=2)
    fed.drive(lambda: fed.status(1) == RoundStatus.SEALED)
    assert _refusals(fed) == ["ROUND_WEIGHT_FULL"]
    assert fed.hospitals[2].receipts[1].reason == RejectReason.ROUND_WEIGHT_FULL
    assert fed.world.admin.round(1).weight_left == 20
    assert fed.world.admin.round(1).accepted == 2
