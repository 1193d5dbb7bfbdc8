"""The checks on their own: blob copies, the model chain, credits and balances."""

from __future__ import annotations

import numpy as np
import pytest

from node.audit.blobsource import BlobReader, CopyState
from node.audit.history import reconstruct
from node.audit.models import CheckKind, CheckStatus
from node.audit.settings import AuditorSettings
from node.audit.verify import (
    check_balances,
    check_blob_hashes,
    check_holdout_reports,
    check_model_chain,
    check_rewards,
)
from node.blobstore import blob_hash
from node.chain import events as ev
from node.fedopt import encode_global_model, initial_model
from node.modelspec import ModelSpec
from tests.unit.node.audit.test_audit_history import (  # type: ignore[import-not-found]
    H,
    M,
    history_events,
    mk,
)


class DictSource:
    """Bytes under names, as a miner's disk would hold them (possibly wrong)."""

    def __init__(self, name: str, blobs: dict[str, bytes]) -> None:
        self.name, self.blobs = name, blobs

    def raw(self, digest: str) -> bytes | None:
        return self.blobs.get(digest)


def test_reader_names_the_source_of_a_wrong_copy_and_keeps_a_good_one():
    good = b"update"
    key = blob_hash(good)
    reader = BlobReader(
        [DictSource("a", {key: b"forged"}), DictSource("b", {key: good}), DictSource("c", {})]
    )
    fetched = reader.fetch(key)
    assert fetched.blob == good and fetched.mismatched == ["a"]
    assert fetched.states == {"a": CopyState.MISMATCH, "b": CopyState.MATCH, "c": CopyState.ABSENT}


def _models() -> tuple[bytes, bytes]:
    spec = ModelSpec(n_params=3, public_key_id="0" * 64)
    genesis = initial_model(np.zeros(3, np.float32), spec, "5" * 64)
    return encode_global_model(genesis), spec.canonical()


def test_a_round_that_does_not_start_from_the_last_sealed_model_breaks_the_chain():
    genesis, _ = _models()
    events = history_events()
    events[-3] = mk(
        ev.RoundOpened,
        round=2,
        prev_model_hash="0x" + "f" * 64,
        deadline=9,
        min_updates=2,
        model_spec_hash="0x" + "5" * 64,
        max_total_weight=1 << 20,
        max_updates=16,
    )
    events[4] = mk(
        ev.RoundOpened,
        round=1,
        prev_model_hash="0x" + blob_hash(genesis),
        deadline=9,
        min_updates=2,
        model_spec_hash="0x" + "5" * 64,
        max_total_weight=1 << 20,
        max_updates=16,
    )
    reader = BlobReader([DictSource("m", {blob_hash(genesis): genesis})])
    results = check_model_chain(reconstruct(events), reader)
    failed = [r for r in results if r.status is CheckStatus.FAILED]
    assert [(r.round, r.kind) for r in failed][-1] == (2, CheckKind.MODEL_CHAIN)
    assert "the last sealed model is " + "d" * 64 in failed[-1].detail


def test_a_missing_required_blob_fails_and_a_missing_refused_update_is_skipped():
    results = check_blob_hashes(reconstruct(history_events()), BlobReader([DictSource("m", {})]))
    refused = next(r for r in results if r.subject.startswith("update 65538"))
    accepted = next(r for r in results if r.subject.startswith("update 65536"))
    assert refused.status is CheckStatus.SKIPPED and accepted.status is CheckStatus.FAILED


def test_balances_that_differ_from_the_events_fail_naming_the_account():
    history = reconstruct(history_events())
    chain = dict(history.balances) | {H[0]: 31}
    results = check_balances(history, chain, history.total_supply + 1)
    failed = [r for r in results if r.status is CheckStatus.FAILED]
    assert [r.subject for r in failed] == [f"balance of {H[0]}", "total supply"]


def test_seal_totals_that_differ_from_the_recomputed_credits_fail():
    events = history_events()
    seal = next(i for i, e in enumerate(events) if isinstance(e, ev.RoundSealed))
    events[seal] = mk(
        ev.RoundSealed,
        round=1,
        new_model_hash="0x" + "d" * 64,
        packer=M[1],
        hospital_credits=81,
        miner_credits=90,
    )
    results = check_rewards(reconstruct(events))
    assert [r.status for r in results if r.round == 1] == [CheckStatus.FAILED]


@pytest.mark.parametrize("token", ["changeme", "short", "auditor"])
def test_placeholder_or_short_auditor_tokens_are_refused(token, monkeypatch):
    monkeypatch.setenv("FEDCHAIN_AUDITOR_TOKENS", f'["{token}"]')
    with pytest.raises(ValueError, match="at least 16 characters"):
        AuditorSettings()


def test_a_seal_of_another_model_than_the_reported_candidate_fails_the_holdout_check():
    events = history_events()
    at = next(i for i, e in enumerate(events) if isinstance(e, ev.HoldoutReported))
    events[at] = mk(
        ev.HoldoutReported,
        round=1,
        hospital=H[0],
        candidate_hash="0x" + "9" * 64,
        metric_before=500_000,
        metric_after=700_000,
        worse=False,
    )
    (result,) = check_holdout_reports(reconstruct(events))
    assert result.status is CheckStatus.FAILED and H[0] in result.detail
    (honest,) = check_holdout_reports(reconstruct(history_events()))
    assert honest.status is CheckStatus.OK


def test_round_quality_factor_and_settlement_follow_the_documented_formula():
    h = reconstruct(history_events())
    # one report: +200,000 ppm → q = clamp(1 + 10 × 0.2, 0, 2) = 2
    assert h.rounds[0].quality_factor == 2.0
    settled = {c.hospital: c.settlement for c in h.contributions if c.round == 1}
    assert settled == {H[0]: 60.0, H[1]: 100.0, H[2]: 0.0}
