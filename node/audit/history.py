"""Pure reconstruction of the ledger's history from its events (no chain, no blobs)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from node.audit.models import (
    Contribution,
    HoldoutRecord,
    MinerWork,
    Refusal,
    Reward,
    RoundOutcome,
    RoundRecord,
    UpdateOutcome,
    UpdateRecord,
    Vote,
)
from node.chain import events as ev
from node.chain.rewards import credits_from_events, hospital_settlement, quality_factor


def h(value: str) -> str:
    """A hash as the blob store spells it: lower-case hex without 0x."""
    return value.lower().removeprefix("0x")


@dataclass
class _Round:
    """Mutable round state while folding events; frozen into a RoundRecord at the end."""

    fields: dict[str, Any]
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    attesters: list[str] = field(default_factory=list)
    partials: dict[str, list[str]] = field(default_factory=dict)
    partial_shares: dict[str, int] = field(default_factory=dict)
    candidate_votes: dict[str, str] = field(default_factory=dict)
    holdout: dict[str, HoldoutRecord] = field(default_factory=dict)
    reports: list[ev.HoldoutReported] = field(default_factory=list)


@dataclass(frozen=True)
class History:
    """The ledger's history: pairs, rounds, contributions, miners' work, rewards, balances."""

    pairs: dict[int, tuple[str, str]]  # index -> (hospital, miner)
    rounds: list[RoundRecord]
    contributions: list[Contribution]
    miner_work: list[MinerWork]
    rewards: list[Reward]
    credits_by_round: dict[int, dict[str, int]]
    balances: dict[str, int]
    minted: dict[str, int]  # Transfer events from address(0), summed per account

    @property
    def total_supply(self) -> int:
        """Sum of the recomputed balances."""
        return sum(self.balances.values())


_ROUND_END = (
    ev.AggregateCommitted,
    ev.AggregateAttested,
    ev.PartialDecryptionSubmitted,
    ev.CandidateAttested,
    ev.HoldoutReported,
    ev.RoundSealed,
    ev.RoundRejected,
)


def _fold_round_end(e: ev.LedgerEvent, r: _Round) -> None:
    f = r.fields
    if isinstance(e, ev.AggregateCommitted):
        f.update(
            outcome=RoundOutcome.COMMITTED,
            aggregate_hash=h(e.aggregate_hash),
            packer=e.packer,
            accepted_updates=e.accepted_updates,
        )
        r.attesters.append(e.packer)  # the commit is the packer's attestation
    elif isinstance(e, ev.AggregateAttested):
        r.attesters.append(e.miner)
    elif isinstance(e, ev.PartialDecryptionSubmitted):
        r.partials.setdefault(e.miner, []).append(h(e.blob_hash))
    elif isinstance(e, ev.CandidateAttested):
        r.candidate_votes[e.miner] = h(e.candidate_hash)
    elif isinstance(e, ev.HoldoutReported):
        r.reports = [x for x in r.reports if x.hospital != e.hospital] + [e]
        r.holdout[e.hospital] = HoldoutRecord(
            hospital=e.hospital,
            candidate_hash=h(e.candidate_hash),
            metric_before=e.metric_before,
            metric_after=e.metric_after,
            worse=e.worse,
        )
    elif isinstance(e, ev.RoundSealed):
        f.update(
            outcome=RoundOutcome.SEALED,
            new_model_hash=h(e.new_model_hash),
            hospital_credits=e.hospital_credits,
            miner_credits=e.miner_credits,
        )
    elif isinstance(e, ev.RoundRejected):
        f.update(outcome=RoundOutcome.REJECTED, rejected_by=e.by, rejection_reason=e.reason)


def _judged_candidate(r: _Round) -> str:
    """The candidate q is taken from: the sealed model, else the most reported candidate."""
    sealed = r.fields.get("new_model_hash")
    if sealed:
        return str(sealed)
    counts: dict[str, int] = defaultdict(int)
    for report in r.reports:
        counts[h(report.candidate_hash)] += 1
    return max(sorted(counts), key=lambda c: counts[c], default="")


def fold_rounds(
    events: Iterable[ev.LedgerEvent],
) -> tuple[dict[int, tuple[str, str]], list[RoundRecord]]:
    """Pairs and rounds from events in chain order (pure)."""
    pairs: dict[int, tuple[str, str]] = {}
    rounds: dict[int, _Round] = {}
    max_share = 1_000_000
    for e in events:
        if isinstance(e, ev.PairRegistered) and e.event == "PairRegistered":
            pairs[e.index] = (e.hospital, e.miner)
        elif isinstance(e, ev.PolicyFixed):
            max_share = e.max_share_ppm
        elif isinstance(e, ev.RoundOpened):
            rounds[e.round] = _Round(
                {
                    "round": e.round,
                    "opened_block": e.block_number,
                    "prev_model_hash": h(e.prev_model_hash),
                    "model_spec_hash": h(e.model_spec_hash),
                    "deadline": e.deadline,
                    "min_updates": e.min_updates,
                    "outcome": RoundOutcome.OPEN,
                    "max_share_ppm": max_share,
                }
            )
        elif isinstance(e, ev.UpdateProposed):
            rounds[e.round].updates[e.update_id] = {
                "update_id": e.update_id,
                "round": e.round,
                "hospital": e.hospital,
                "proposer": e.miner,
                "blob_hash": h(e.blob_hash),
                "sample_count": e.sample_count,
                "votes": [Vote(miner=e.miner, approve=True, block_number=e.block_number)],
                "outcome": UpdateOutcome.PENDING,
            }
        elif isinstance(e, ev.UpdateApproved | ev.UpdateRejected):
            u = rounds[e.update_id >> 16].updates[e.update_id]
            reason = e.reason if isinstance(e, ev.UpdateRejected) else ""
            u["votes"].append(
                Vote(
                    miner=e.miner,
                    approve=isinstance(e, ev.UpdateApproved),
                    reason=reason,
                    block_number=e.block_number,
                )
            )
        elif isinstance(e, ev.UpdateAccepted):
            accepted = e.event == "UpdateAccepted"
            rounds[e.round].updates[e.update_id]["outcome"] = (
                UpdateOutcome.ACCEPTED if accepted else UpdateOutcome.REFUSED
            )
        elif isinstance(e, ev.SubmissionRefused):
            if e.round in rounds:
                rounds[e.round].refusals.append(
                    Refusal(
                        round=e.round,
                        hospital=e.hospital,
                        miner=e.miner,
                        blob_hash=h(e.blob_hash),
                        reason=e.reason,
                    )
                )
        elif isinstance(e, _ROUND_END) and e.round in rounds:
            if isinstance(e, ev.PartialDecryptionSubmitted):  # blamed on its publisher's share
                index = next(i for i, (_, m) in pairs.items() if m == e.miner)
                rounds[e.round].partial_shares[e.miner] = index + 1
            _fold_round_end(e, rounds[e.round])
    records = [
        RoundRecord(
            **r.fields,
            quality_factor=quality_factor(r.reports, _judged_candidate(r)),
            updates=[UpdateRecord(**u) for _, u in sorted(r.updates.items())],
            refusals=r.refusals,
            attesters=r.attesters,
            partials=r.partials,
            partial_shares=r.partial_shares,
            candidate_votes=r.candidate_votes,
            holdout=list(r.holdout.values()),
        )
        for _, r in sorted(rounds.items())
    ]
    return pairs, records


def _contributions(
    pairs: dict[int, tuple[str, str]],
    rounds: list[RoundRecord],
    credits: dict[int, dict[str, int]],
    settled: dict[int, dict[str, int]],
) -> list[Contribution]:
    out = []
    for r in rounds:
        paid, fair = credits.get(r.round, {}), settled.get(r.round, {})
        for index, (hospital, _) in sorted(pairs.items()):
            mine = [u for u in r.updates if u.hospital == hospital]
            out.append(
                Contribution(
                    round=r.round,
                    hospital=hospital,
                    pair_index=index,
                    proposed_samples=sum(u.sample_count for u in mine),
                    accepted_samples=sum(
                        u.sample_count for u in mine if u.outcome is UpdateOutcome.ACCEPTED
                    ),
                    credits=paid.get(hospital, 0),
                    settlement=round(fair.get(hospital, 0.0), 6),
                )
            )
    return out


def _miner_work(
    pairs: dict[int, tuple[str, str]], rounds: list[RoundRecord], credits: dict[int, dict[str, int]]
) -> list[MinerWork]:
    out = []
    for r in rounds:
        paid = credits.get(r.round, {})
        for index, (_, miner) in sorted(pairs.items()):
            votes = [v for u in r.updates for v in u.votes if v.miner == miner]
            proposals = sum(1 for u in r.updates if u.proposer == miner)
            out.append(
                MinerWork(
                    round=r.round,
                    miner=miner,
                    pair_index=index,
                    proposals=proposals,
                    approvals=sum(1 for v in votes if v.approve) - proposals,
                    rejections=sum(1 for v in votes if not v.approve),
                    packed=r.packer == miner and r.outcome is not RoundOutcome.OPEN,
                    attested=miner in r.attesters,
                    partials=len(r.partials.get(miner, [])),
                    credits=paid.get(miner, 0),
                )
            )
    return out


def reconstruct(events: list[ev.LedgerEvent]) -> History:
    """The whole history from the ledger's events in chain order (pure)."""
    pairs, rounds = fold_rounds(events)
    credits = credits_from_events(events)
    hospitals = {hosp for hosp, _ in pairs.values()}
    rewards = [
        Reward(
            round=r,
            account=account,
            role="hospital" if account in hospitals else "miner",
            credits=amount,
        )
        for r, paid in sorted(credits.items())
        for account, amount in sorted(paid.items())
    ]
    balances: dict[str, int] = defaultdict(int)
    for paid in credits.values():
        for account, amount in paid.items():
            balances[account] += amount
    minted: dict[str, int] = defaultdict(int)
    for e in events:
        if isinstance(e, ev.Transfer) and int(e.from_, 16) == 0:
            minted[e.to] += e.value
    return History(
        pairs=pairs,
        rounds=rounds,
        contributions=_contributions(pairs, rounds, credits, hospital_settlement(events)),
        miner_work=_miner_work(pairs, rounds, credits),
        rewards=rewards,
        credits_by_round=credits,
        balances=dict(balances),
        minted=dict(minted),
    )
