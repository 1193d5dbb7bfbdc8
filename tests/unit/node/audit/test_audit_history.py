"""Rebuilding rounds, votes, contributions, miners' work and credits from events alone."""

from __future__ import annotations

import itertools

from node.audit.history import reconstruct
from node.audit.models import RoundOutcome, UpdateOutcome
from node.chain import events as ev

H = ["0xH0", "0xH1", "0xH2"]
M = ["0xM0", "0xM1", "0xM2"]
_block = itertools.count(1)


def mk(cls: type[ev.LedgerEvent], **kw: object) -> ev.LedgerEvent:
    return cls(event=cls.__name__, block_number=next(_block), tx_hash="0x00", log_index=0, **kw)


def _opened(round_id: int, prev: str) -> list[ev.LedgerEvent]:
    return [
        mk(
            ev.RoundOpened,
            round=round_id,
            prev_model_hash=prev,
            deadline=99,
            min_updates=2,
            model_spec_hash="0x" + "5" * 64,
            max_total_weight=1 << 20,
            max_updates=16,
        )
    ]


def _proposed(round_id: int, seq: int, k: int, samples: int) -> ev.LedgerEvent:
    return mk(
        ev.UpdateProposed,
        round=round_id,
        update_id=(round_id << 16) | seq,
        hospital=H[k],
        miner=M[k],
        blob_hash="0x" + f"{round_id}{seq}".rjust(64, "a"),
        sample_count=samples,
        signature="0x",
    )


def history_events() -> list[ev.LedgerEvent]:
    """Round 1 seals with updates of H0 and H1 (H2's is refused); round 2 is rejected."""
    out: list[ev.LedgerEvent] = [
        mk(ev.RatesChanged, hospital_rate=1, verifier_rate=10, packer_rate=50)
    ]
    out += [mk(ev.PairRegistered, hospital=H[k], miner=M[k], index=k) for k in range(3)]
    out += _opened(1, "0x" + "0" * 64)
    out += [_proposed(1, 0, 0, 30), _proposed(1, 1, 1, 50), _proposed(1, 2, 2, 70)]
    out += [
        mk(ev.UpdateApproved, update_id=1 << 16, miner=M[1], approvals=2),
        mk(ev.UpdateAccepted, round=1, update_id=1 << 16, hospital=H[0]),
        mk(ev.UpdateApproved, update_id=(1 << 16) | 1, miner=M[0], approvals=2),
        mk(ev.UpdateAccepted, round=1, update_id=(1 << 16) | 1, hospital=H[1]),
        mk(ev.UpdateRejected, update_id=(1 << 16) | 2, miner=M[0], reason="CIPHERTEXT_RANGE"),
        mk(ev.UpdateRejected, update_id=(1 << 16) | 2, miner=M[1], reason="CIPHERTEXT_RANGE"),
        mk(ev.UpdateRefused, round=1, update_id=(1 << 16) | 2, hospital=H[2]),
        mk(
            ev.AggregateCommitted,
            round=1,
            packer=M[1],
            aggregate_hash="0x" + "b" * 64,
            accepted_updates=2,
        ),
        mk(ev.AggregateAttested, round=1, miner=M[0], attestations=2),
        mk(ev.PartialDecryptionSubmitted, round=1, miner=M[0], blob_hash="0x" + "c" * 64),
        mk(
            ev.HoldoutReported,
            round=1,
            hospital=H[0],
            candidate_hash="0x" + "d" * 64,
            metric_before=500_000,
            metric_after=700_000,
            worse=False,
        ),
        mk(
            ev.RoundSealed,
            round=1,
            new_model_hash="0x" + "d" * 64,
            packer=M[1],
            hospital_credits=160,
            miner_credits=110,
        ),
    ]
    out += _opened(2, "0x" + "d" * 64)
    out += [
        mk(
            ev.SubmissionRefused,
            round=2,
            hospital=H[0],
            miner=M[0],
            blob_hash="0x" + "e" * 64,
            reason="BAD_SIGNATURE",
        ),
        mk(ev.RoundRejected, round=2, by=M[2], reason="DEADLINE"),
    ]
    return out


def test_rounds_keep_votes_reasons_refusals_and_outcomes():
    h = reconstruct(history_events())
    r1, r2 = h.rounds
    assert r1.outcome is RoundOutcome.SEALED and r2.outcome is RoundOutcome.REJECTED
    assert [u.outcome for u in r1.updates] == [
        UpdateOutcome.ACCEPTED,
        UpdateOutcome.ACCEPTED,
        UpdateOutcome.REFUSED,
    ]
    assert [v.reason for v in r1.updates[2].votes] == ["", "CIPHERTEXT_RANGE", "CIPHERTEXT_RANGE"]
    assert r1.attesters == [M[1], M[0]] and r1.partials == {M[0]: ["c" * 64]}
    assert r1.mean_holdout_after() == 0.7 and r1.new_model_hash == "d" * 64
    assert [x.reason for x in r2.refusals] == ["BAD_SIGNATURE"]
    assert (r2.rejected_by, r2.rejection_reason) == (M[2], "DEADLINE")


def test_contributions_count_only_accepted_samples_and_sealed_rounds_pay():
    h = reconstruct(history_events())
    got = {
        (c.round, c.hospital): (c.proposed_samples, c.accepted_samples, c.credits)
        for c in h.contributions
    }
    assert got[(1, H[0])] == (30, 30, 60)  # q = 2: the one report gained 20 points (capped 10)
    assert got[(1, H[2])] == (70, 0, 0)
    assert got[(2, H[0])] == (0, 0, 0)


def test_miner_work_and_credits_follow_the_ledger_rule():
    h = reconstruct(history_events())
    work = {(w.round, w.miner): w for w in h.miner_work}
    m1 = work[(1, M[1])]
    assert (m1.proposals, m1.approvals, m1.rejections, m1.packed) == (1, 1, 1, True)
    # M1: proposal of an accepted update + approval of H0's + the rejection that refused H2's
    # + packer; M0 likewise without packing (deciding votes are paid, on either side)
    assert h.credits_by_round[1] == {H[0]: 60, H[1]: 100, M[0]: 30, M[1]: 80}
    assert h.total_supply == 270 and 2 not in h.credits_by_round
    assert {r.role for r in h.rewards if r.account in H} == {"hospital"}
