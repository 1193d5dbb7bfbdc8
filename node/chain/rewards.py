"""Contribution credits as the ledger computes them, rebuilt from events alone (for auditors)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from node.chain.events import (
    AggregateCommitted,
    HoldoutReported,
    LedgerEvent,
    RatesChanged,
    RoundSealed,
    UpdateAccepted,
    UpdateApproved,
    UpdateProposed,
)
from node.chain.models import Rates


@dataclass
class UpdateVotes:
    """An update as far as credits care: who contributed it, how much, who approved it."""

    hospital: str
    sample_count: int
    approvers: set[str] = field(default_factory=set)  # miner addresses, proposer included
    accepted: bool = False


def round_credits(
    updates: Iterable[UpdateVotes], packer: str, rates: Rates
) -> dict[str, int]:
    """Credits minted when a round seals (pure; mirrors FederatedLedger._credit).

    Hospitals: sample_count x hospital_rate per accepted update. Miners: verifier_rate per
    approval of an accepted update (a proposal is its proposer's approval), plus
    packer_rate for the packer. Accounts whose credit is zero are absent.
    """
    credits: dict[str, int] = defaultdict(int)
    for update in updates:
        if not update.accepted:
            continue
        credits[update.hospital] += update.sample_count * rates.hospital_rate
        for miner in update.approvers:
            credits[miner] += rates.verifier_rate
    credits[packer] += rates.packer_rate
    return {account: amount for account, amount in credits.items() if amount}


def credits_from_events(events: Iterable[LedgerEvent]) -> dict[int, dict[str, int]]:
    """Replay a ledger's events (in chain order) into {round: {account: credits}}.

    Uses only what events carry, so an auditor can check the balances without storage.
    """
    rates = Rates(hospital_rate=0, verifier_rate=0, packer_rate=0)
    updates: dict[int, dict[int, UpdateVotes]] = defaultdict(dict)
    packers: dict[int, str] = {}
    out: dict[int, dict[str, int]] = {}
    for event in events:
        if isinstance(event, RatesChanged):
            rates = Rates(hospital_rate=event.hospital_rate, verifier_rate=event.verifier_rate,
                          packer_rate=event.packer_rate)  # fmt: skip
        elif isinstance(event, UpdateProposed):
            updates[event.round][event.update_id] = UpdateVotes(
                event.hospital, event.sample_count, {event.miner}
            )
        elif isinstance(event, UpdateApproved):
            updates[event.update_id >> 16][event.update_id].approvers.add(event.miner)
        elif isinstance(event, UpdateAccepted) and event.event == "UpdateAccepted":
            # (UpdateRefused shares the model but not the name)
            updates[event.round][event.update_id].accepted = True
        elif isinstance(event, AggregateCommitted):
            packers[event.round] = event.packer
        elif isinstance(event, RoundSealed):
            out[event.round] = round_credits(
                updates[event.round].values(), packers[event.round], rates
            )
    return out


# ---------------------------------------------------------------- quality-adjusted settlement
#: A median hold-out gain of 1 point (10,000 ppm) raises the round's factor by QUALITY_GAIN/100.
QUALITY_GAIN = 10.0
QUALITY_RANGE = (0.0, 2.0)


def quality_factor(reports: Iterable[HoldoutReported], *, gain: float = QUALITY_GAIN) -> float:
    """Q = clamp(1 + gain · median(after - before) / 1e6, 0, 2); 1.0 without reports.

    Round-level on purpose: the aggregate is all anyone can evaluate without decrypting a
    single hospital's update, so every contributor of a round shares its factor.
    """
    diffs = sorted(r.metric_after - r.metric_before for r in reports)
    if not diffs:
        return 1.0
    mid = len(diffs) // 2
    median = diffs[mid] if len(diffs) % 2 else (diffs[mid - 1] + diffs[mid]) / 2
    low, high = QUALITY_RANGE
    return min(high, max(low, 1.0 + gain * median / 1_000_000))


def hospital_settlement(
    events: Iterable[LedgerEvent], unique_fraction: dict[str, float] | None = None
) -> dict[int, dict[str, float]]:
    """{round: {hospital: reward}} = accepted samples × unique fraction × round quality × rate.

    Sealed rounds only (a rejected round pays nothing). ``unique_fraction`` (hospital →
    share of its samples no other hospital also contributed) defaults to 1.0: the ledger
    does not record it yet (see docs/rewards.md).
    """
    fractions = unique_fraction or {}
    rate = 0
    samples: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    proposed: dict[int, tuple[str, int]] = {}
    reports: dict[int, list[HoldoutReported]] = defaultdict(list)
    out: dict[int, dict[str, float]] = {}
    for event in events:
        if isinstance(event, RatesChanged):
            rate = event.hospital_rate
        elif isinstance(event, UpdateProposed):
            proposed[event.update_id] = (event.hospital, event.sample_count)
        elif isinstance(event, UpdateAccepted) and event.event == "UpdateAccepted":
            hospital, count = proposed[event.update_id]
            samples[event.round][hospital] += count
        elif isinstance(event, HoldoutReported):
            reports[event.round].append(event)
        elif isinstance(event, RoundSealed):
            q = quality_factor(reports[event.round])
            out[event.round] = {
                h: n * fractions.get(h, 1.0) * q * rate for h, n in samples[event.round].items()
            }
    return out
