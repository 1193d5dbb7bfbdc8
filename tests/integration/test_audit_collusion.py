"""Colluding miners seal an aggregate that leaves an accepted update out: the audit says so."""

from __future__ import annotations

from node.audit.auditor import Auditor
from node.audit.blobsource import BlobReader, DirectorySource
from node.audit.models import CheckKind, CheckStatus, RoundOutcome
from node.chain.models import RoundStatus
from node.crypto import aggregate_updates, partial_decrypt
from node.roundmath import PublishedPartial, candidate_model
from tests.integration.audit_world import SAMPLES, build_audit_world  # type: ignore[import-not-found]


def test_an_on_chain_aggregate_of_another_set_fails_the_aggregate_check(tmp_path, consortium_key):
    world = build_audit_world(tmp_path, consortium_key)
    fed = world.fed
    try:
        fed.hospitals[2].train = fed.task.trainer(SAMPLES[2], seed=2)  # honest again
        fed.open_round(4)
        for h in fed.hospitals:
            h.tick()  # each hospital's update is proposed by its miner
        for m in fed.miners:
            m.view.catch_up(m.ledger)
            m.verify_pending(m.view.rounds[4])  # honest votes: all three accepted
        packer = next(m for m in fed.miners if m.me == world.ledger.proposer_at(4, 0))
        packer.view.catch_up(packer.ledger)
        accepted = packer.view.rounds[4].accepted()
        assert len(accepted) == 3
        forged = aggregate_updates(
            packer.public_key, [packer.blob(u.blob_hash) for u in accepted[:2]]
        )
        digest = packer.publish(forged)
        packer.ledger.commit_aggregate(4, digest, 3)  # the ledger can only check the count
        others = [m for m in fed.miners if m is not packer]
        for m in others:
            m.ledger.attest_aggregate(4, digest)  # the others collude instead of recomputing
        # honest miner code refuses to decrypt an aggregate it did not recompute, so every
        # miner colludes by hand: partials, the candidate they derive from them, the seal
        published = []
        for m in fed.miners:
            partial = partial_decrypt(m.public_key, m.share, forged)
            m.ledger.submit_partial_decryption(4, m.publish(partial))
            published.append(PublishedPartial(m.share.index, partial))
        r = packer.view.rounds[4]
        _, model, _ = candidate_model(
            packer.public_key, forged, published, packer.previous_model(r), packer.spec(r.spec_hash)
        )
        candidate = packer.publish(model)
        for m in others:
            m.ledger.attest_candidate(4, candidate)
        fed.drive(lambda: len(world.ledger.round(4).holdout_reports) == 3, hospitals=True)
        packer.ledger.seal_round(4, candidate)
        assert fed.status(4) == RoundStatus.SEALED

        reader = BlobReader([DirectorySource(d) for d in world.blob_dirs])
        report = Auditor(world.ledger, reader, world.public_key_file).report()
    finally:
        world.devnet.stop()
    assert report.rounds[3].outcome is RoundOutcome.SEALED
    failed = [c for c in report.checks if c.status is CheckStatus.FAILED]
    assert [(c.kind, c.round) for c in failed] == [(CheckKind.AGGREGATE, 4)]
    assert "1 accepted updates left out" in failed[0].detail
    sealed = [c for c in report.checks if c.kind is CheckKind.SEALED_MODEL and c.round == 4]
    assert sealed[0].status is CheckStatus.OK  # the seal is faithful to the forged aggregate
