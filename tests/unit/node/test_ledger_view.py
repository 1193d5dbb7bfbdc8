"""Folding ledger events into a round's picture (what a restarted node rebuilds)."""

from __future__ import annotations

from itertools import count

from node.chain import events as ev
from node.chain.ledgerview import LedgerView, Phase

H0, M0 = "0x" + "11" * 20, "0x" + "22" * 20
H1, M1 = "0x" + "33" * 20, "0x" + "44" * 20
_seq = count()


def _e(cls, **kw):
    n = next(_seq)
    return cls(event=cls.__name__, block_number=n, tx_hash="0x" + "00" * 32, log_index=n, **kw)


def _history():
    uid0, uid1 = 1 << 16, (1 << 16) | 1
    return [
        _e(ev.PairRegistered, hospital=H0, miner=M0, index=0),
        _e(ev.PairRegistered, hospital=H1, miner=M1, index=1),
        _e(
            ev.AlignmentRecorded,
            hospital=H0,
            run=1,
            shared_set_hash="0x" + "ab" * 32,
            shared_size=40,
            unique_ppm=500_000,
            recorder="0x" + "55" * 20,
        ),
        _e(
            ev.RoundOpened,
            round=1,
            prev_model_hash="0x" + "01" * 32,
            deadline=99,
            min_updates=2,
            model_spec_hash="0x" + "02" * 32,
            max_total_weight=1 << 20,
            max_updates=16,
        ),
        _e(
            ev.UpdateProposed,
            round=1,
            update_id=uid0,
            hospital=H0,
            miner=M0,
            blob_hash="0x" + "aa" * 32,
            sample_count=30,
            signature="0x" + "00" * 65,
        ),
        _e(
            ev.UpdateProposed,
            round=1,
            update_id=uid1,
            hospital=H1,
            miner=M1,
            blob_hash="0x" + "bb" * 32,
            sample_count=20,
            signature="0x" + "00" * 65,
        ),
        _e(ev.UpdateApproved, update_id=uid0, miner=M1, approvals=2),
        _e(ev.UpdateAccepted, round=1, update_id=uid0, hospital=H0),
        _e(ev.UpdateRejected, update_id=uid1, miner=M0, reason="MALFORMED"),
        _e(ev.UpdateRefused, round=1, update_id=uid1, hospital=H1),
        _e(
            ev.AggregateCommitted,
            round=1,
            packer=M1,
            aggregate_hash="0x" + "cc" * 32,
            accepted_updates=1,
        ),
        _e(ev.PartialDecryptionSubmitted, round=1, miner=M1, blob_hash="0x" + "dd" * 32),
        _e(ev.PartialDecryptionSubmitted, round=1, miner=M1, blob_hash="0x" + "ee" * 32),
        _e(
            ev.RoundSealed,
            round=1,
            new_model_hash="0x" + "ff" * 32,
            packer=M1,
            hospital_credits=30,
            miner_credits=70,
        ),
    ]


def test_events_fold_into_the_round_as_it_happened():
    view = LedgerView()
    for e in _history():
        view.apply(e)
    r = view.rounds[1]
    assert r.phase is Phase.SEALED and r.sealed_hash == "ff" * 32 == view.model_hash
    assert [u.hospital for u in r.accepted()] == [H0]
    assert r.updates[(1 << 16) | 1].refused
    assert r.updates[1 << 16].voters == {M0, M1}
    assert r.partials == {M1: ["dd" * 32, "ee" * 32]}
    assert view.shared_size == {H0.lower(): 40}
    assert view.paired_hospital(M1) == H1 and view.active_miners() == [M0, M1]


def test_a_removed_pair_is_no_longer_active():
    view = LedgerView()
    for e in _history()[:2]:
        view.apply(e)
    view.apply(_e(ev.PairRemoved, hospital=H1, miner=M1, index=1))
    assert view.active_miners() == [M0]
    assert not view.is_active_hospital(H1)
