"""One dishonest hospital, in a real network: what it tries, and what stops it (one test each).

The dishonest hospital is the real hospital service run by ``tests.adversarial.rogue`` with
one behaviour changed; miners, relay and ledger are the product's own. See docs/design.md,
"Who may be dishonest".
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.chain.models import RoundStatus
from node.crypto import decode_public_key, read_aggregate
from tests.adversarial.harness import Attackable, attackable_network

ROGUE = 2  # the pair whose hospital misbehaves


@pytest.fixture(scope="module")
def attackable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Attackable]:
    with attackable_network(tmp_path_factory.mktemp("net") / "net", aligned=False) as network:
        yield network


def _hospital(a: Attackable, k: int) -> str:
    return a.ledger.pairs()[k][0]


def _blob(a: Attackable, digest: str) -> bytes:
    from node.blobnet import HttpPeers

    blob = HttpPeers(a.net.miner_urls, a.ledger.account, timeout=30.0).fetch(digest)
    assert blob is not None
    return blob


def test_a_hospital_that_never_aligned_weighs_nothing(attackable):
    """It runs the PSI but signs no record; its update is refused, the others' round seals."""
    a = attackable
    with a.rogue_hospital(ROGUE, "hospital-withholds-its-alignment-record"):
        a.realign(1)
        assert not a.ledger.member(_hospital(a, ROGUE)).aligned
        info = a.run_round(min_updates=2)
    assert info.status is RoundStatus.SEALED
    refusals = [e for e in a.events("SubmissionRefused", info.round)]
    assert refusals and {e.reason for e in refusals} == {"NOT_ALIGNED"}
    assert {e.hospital for e in refusals} == {_hospital(a, ROGUE)}
    assert _hospital(a, ROGUE) not in {e.hospital for e in a.events("UpdateProposed", info.round)}
    a.realign(2)  # honest again, recorded again for the tests that follow
    assert a.ledger.member(_hospital(a, ROGUE)).aligned


def test_a_hospital_claiming_2_to_the_20_samples_carries_at_most_half_the_round(attackable):
    """It signs a record of 2^20 shared cases and claims 2^18: capped to the others' weight."""
    a = attackable
    with a.rogue_hospital(ROGUE, "hospital-claims-2^20") as log:
        a.realign(3)
        assert a.ledger.member(_hospital(a, ROGUE)).shared_size == 1 << 20
        info = a.run_round()
    assert "ROGUE claims" in log.read_text()
    assert info.status is RoundStatus.SEALED  # no other hospital was locked out
    proposed = {e.hospital: e for e in a.events("UpdateProposed", info.round)}
    assert proposed[_hospital(a, ROGUE)].sample_count == 1 << 18
    aggregate = read_aggregate(
        _blob(a, info.aggregate_hash.removeprefix("0x")),
        decode_public_key((a.net.key_dir / "consortium.pub").read_bytes()),
    )
    weights = {c.update_id.hex(): c.weight for c in aggregate.contributions}
    rogue_blob = proposed[_hospital(a, ROGUE)].blob_hash.removeprefix("0x")
    others = sum(w for blob, w in weights.items() if blob != rogue_blob)
    assert weights[rogue_blob] == others  # exactly half of the round, not 2^18 / (2^18 + ~300)
    credits = {t.to: t.value for t in a.events("Transfer") if t.block_number == _sealed_at(a, info)}
    honest = sum(credits.get(_hospital(a, k), 0) for k in range(3) if k != ROGUE)
    assert credits.get(_hospital(a, ROGUE), 0) <= honest  # paid on its capped weight
    a.realign(4)


def _sealed_at(a: Attackable, info) -> int:  # type: ignore[no-untyped-def]
    (sealed,) = a.events("RoundSealed", info.round)
    return sealed.block_number


def test_a_hospital_encrypting_out_of_range_values_gets_the_round_rejected(attackable):
    """1000x the top level in half its slots: the sum is refused, never decoded or sealed."""
    a = attackable
    applied_before = a.ledger.model_hash()
    with a.rogue_hospital(ROGUE, "hospital-encrypts-out-of-range") as log:
        info = a.run_round()
    assert "ROGUE encrypted" in log.read_text()
    assert info.status is RoundStatus.REJECTED
    (rejection,) = a.events("RoundRejected", info.round)
    assert "AGGREGATE_OUT_OF_RANGE" in rejection.reason and "slot" in rejection.reason
    assert a.events("CandidateAttested", info.round) == []
    assert a.events("HoldoutReported", info.round) == []  # no hospital could derive a model
    assert a.ledger.model_hash() == applied_before  # the sealed model did not move at all


def test_silent_hospitals_do_not_let_a_candidate_through(attackable):
    """No hospital reports its hold-out metric: the window ends without a pass."""
    a = attackable
    for k in range(3):
        a.net.kill_hospital(k)
    try:
        from tests.adversarial.rogue import launcher

        for k in range(3):
            a.net.restart_hospital(k, launcher=launcher("hospital-never-reports-holdout"))
        info = a.run_round()
    finally:
        for k in range(3):
            a.net.kill_hospital(k)
            a.net.restart_hospital(k)
    assert info.status is RoundStatus.REJECTED
    assert a.events("HoldoutReported", info.round) == []
    assert a.events("CandidateAttested", info.round)  # the miners had a candidate...
    assert a.events("RoundSealed", info.round) == []  # ... and could not seal it unheard
    (rejection,) = a.events("RoundRejected", info.round)
    assert rejection.reason.startswith("STALLED")
