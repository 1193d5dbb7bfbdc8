"""One dishonest miner, in a real network: what it tries, and what stops it (one test each).

Every miner and hospital is its own process on loopback with a real anvil; the dishonest
miner is the real miner service run by ``tests.adversarial.rogue`` with one behaviour
changed. See docs/design.md, "Who may be dishonest".
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from node.chain.models import RoundStatus
from node.crypto import NotEnoughShares, combine, decode_public_key
from node.crypto.codec import decode_partial
from node.crypto.errors import MalformedBlob
from node.roundmath import PublishedPartial, share_index, verified_only
from tests.adversarial.harness import Attackable, attackable_network


@pytest.fixture(scope="module")
def attackable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Attackable]:
    with attackable_network(tmp_path_factory.mktemp("net") / "net") as network:
        yield network


def _blob(a: Attackable, digest: str) -> bytes:
    from node.blobnet import HttpPeers

    peers = HttpPeers(a.net.miner_urls, a.ledger.account, timeout=30.0)
    blob = peers.fetch(digest)
    assert blob is not None, f"no miner holds {digest}"
    return blob


def _key(a: Attackable):  # type: ignore[no-untyped-def]
    return decode_public_key((a.net.key_dir / "consortium.pub").read_bytes())


def _rejected_without_honest_partials(a: Attackable, packer: int, info) -> None:  # type: ignore[no-untyped-def]
    assert info.status is RoundStatus.REJECTED
    (rejection,) = a.events("RoundRejected", info.round)
    assert rejection.reason.startswith("STALLED"), rejection.reason
    rogue = a.net.miners[packer]
    partials = a.events("PartialDecryptionSubmitted", info.round)
    # the honest miners recomputed the aggregate, refused to attest it and posted nothing
    assert {p.miner for p in partials} <= {a.ledger.miner_at(packer)}
    assert a.events("CandidateAttested", info.round) == []
    assert a.events("RoundSealed", info.round) == []
    # what was published cannot be combined into anything
    aggregate = _blob(a, a.ledger.round(info.round).aggregate_hash.removeprefix("0x"))
    published = [_blob(a, p.blob_hash.removeprefix("0x")) for p in partials]
    with pytest.raises((NotEnoughShares, MalformedBlob)):
        combine(_key(a), aggregate, published)
    assert "ROGUE committed a forged aggregate" in rogue.log.read_text()


def test_packer_committing_one_hospitals_update_as_the_aggregate_decrypts_nothing(attackable):
    """The packer wraps hospital 0's update as a one-contribution aggregate: no honest partial."""
    a = attackable
    packer = a.next_packer()
    with a.rogue_miner(packer, "packer-commits-one-update"):
        info = a.run_round()
    _rejected_without_honest_partials(a, packer, info)


def test_packer_committing_another_sum_decrypts_nothing(attackable):
    """The packer commits a real aggregate of another set of updates: nobody decrypts it."""
    a = attackable
    packer = a.next_packer()
    with a.rogue_miner(packer, "packer-commits-another-sum"):
        info = a.run_round()
    _rejected_without_honest_partials(a, packer, info)


def test_packer_sealing_another_hash_is_reverted_and_the_candidate_seals(attackable):
    a = attackable
    packer = a.next_packer()
    with a.rogue_miner(packer, "packer-seals-another-hash") as log:
        info = a.run_round()
    assert info.status is RoundStatus.SEALED
    assert "ROGUE seal of another hash refused: NoQuorum" in log.read_text()
    (sealed,) = a.events("RoundSealed", info.round)
    votes = {v.miner: v.candidate_hash for v in a.events("CandidateAttested", info.round)}
    rogue = a.ledger.miner_at(packer)
    # the rogue voted its own hash; the seal came from an honest miner after the packer's
    # window, with the candidate the other miners derived
    assert votes.pop(rogue) != sealed.new_model_hash
    assert set(votes.values()) == {sealed.new_model_hash}
    assert len(votes) >= a.ledger.round(info.round).quorum
    reports = a.events("HoldoutReported", info.round)
    assert {r.candidate_hash for r in reports} == {sealed.new_model_hash}


def test_miner_dropping_its_hospitals_update_is_bypassed(attackable):
    """The paired miner answers 'proposed' and drops the update; another miner carries it."""
    a = attackable
    k = 1
    with a.rogue_miner(k, "miner-drops-its-hospitals-update") as log:
        info = a.run_round()
    assert info.status is RoundStatus.SEALED
    assert "ROGUE dropped the update" in log.read_text()
    hospital = a.ledger.pairs()[k][0]
    (mine,) = [e for e in a.events("UpdateProposed", info.round) if e.hospital == hospital]
    assert mine.miner != a.ledger.miner_at(k)  # proposed through another miner
    accepted = {e.hospital for e in a.events("UpdateAccepted", info.round)}
    assert hospital in accepted and len(accepted) == 3


def test_proposer_rejecting_a_ready_round_early_is_reverted(attackable):
    a = attackable
    packer = a.next_packer()
    with a.rogue_miner(packer, "proposer-rejects-ready-round") as log:
        info = a.run_round()
    assert info.status is RoundStatus.SEALED  # the next miner packed after one timeout
    assert "ROGUE early rejection refused: NotProposer" in log.read_text()
    assert a.events("RoundRejected", info.round) == []
    (committed,) = a.events("AggregateCommitted", info.round)
    assert committed.packer != a.ledger.miner_at(packer)


def _honest_logs(a: Attackable, rogue: int) -> str:
    return "".join(m.log.read_text() for k, m in enumerate(a.net.miners) if k != rogue)


def _sealed_with_the_rogue_blamed(a: Attackable, rogue: int, info, needle: str) -> None:  # type: ignore[no-untyped-def]
    assert info.status is RoundStatus.SEALED
    rogue_address = a.ledger.miner_at(rogue)
    posted = [p for p in a.events("PartialDecryptionSubmitted", info.round)]
    theirs = [p for p in posted if p.miner == rogue_address]
    assert theirs, "the rogue posted nothing"
    aggregate = _blob(a, a.ledger.round(info.round).aggregate_hash.removeprefix("0x"))
    published = [
        PublishedPartial(share_index(a.ledger.member(p.miner).index), _blob(a, p.blob_hash[2:]))
        for p in posted
    ]
    verified, refused = verified_only(_key(a), aggregate, published)
    assert list(refused) == [share_index(rogue)]  # blamed on the publisher, nobody else
    assert needle in refused[share_index(rogue)]
    assert {p.share_index for p in verified} == {share_index(k) for k in range(3) if k != rogue}
    assert rogue_address in _honest_logs(a, rogue)  # the honest miners named it


def test_oversized_partial_proof_is_refused_before_any_exponentiation(attackable):
    a = attackable
    rogue = 2
    with a.rogue_miner(rogue, "oversized-partial"):
        info = a.run_round()
    _sealed_with_the_rogue_blamed(a, rogue, info, "proof.response")
    (posted,) = [
        p
        for p in a.events("PartialDecryptionSubmitted", info.round)
        if p.miner == a.ledger.miner_at(rogue)
    ]
    blob = _blob(a, posted.blob_hash[2:])
    assert len(blob) > 4_000_000
    t0 = time.perf_counter()
    with pytest.raises(MalformedBlob, match="proof.response"):
        decode_partial(blob, _key(a))
    assert time.perf_counter() - t0 < 0.5  # parsing only: no 32-Mbit exponent is ever used


def test_repeated_partials_are_refused_after_two(attackable):
    a = attackable
    rogue = 0
    with a.rogue_miner(rogue, "repeated-partials") as log:
        info = a.run_round()
    assert info.status is RoundStatus.SEALED
    mine = [
        p
        for p in a.events("PartialDecryptionSubmitted", info.round)
        if p.miner == a.ledger.miner_at(rogue)
    ]
    assert len(mine) == 2  # its assignment and one cover, no more
    assert log.read_text().count("ROGUE partial refused on chain: AlreadySubmitted") == 2


def test_framing_partial_is_blamed_on_its_publisher(attackable):
    a = attackable
    rogue = 1
    with a.rogue_miner(rogue, "framing-partial"):
        info = a.run_round()
    _sealed_with_the_rogue_blamed(a, rogue, info, "claims share")
