"""Contribution credits as the ledger computes them, rebuilt from events alone (for auditors)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from node.chain.events import (
    AggregateCommitted,
    AlignmentRecorded,
    HoldoutReported,
    LedgerEvent,
    PolicyFixed,
    RatesChanged,
    RoundSealed,
    UpdateAccepted,
    UpdateApproved,
    UpdateProposed,
    UpdateRejected,
)
from node.chain.holdout import PPM, quality_ppm, tally_of
from node.chain.models import Rates
from node.crypto.packing import cap_weights


@dataclass
class UpdateVotes:
    """An update as far as credits care: who contributed it, how much, who decided it."""

    hospital: str
    sample_count: int
    approvers: set[str] = field(default_factory=set)  # miner addresses, proposer included
    accepted: bool = False
    unique_ppm: int = PPM  # the hospital's unique-patient fraction when it was proposed
    rejecters: set[str] = field(default_factory=set)
    refused: bool = False


def hospital_credit(sample_count: int, rate: int, unique_ppm: int, quality: int) -> int:
    """One accepted update's credit: n x rate x u x q / 10^12, one floor division, last."""
    return sample_count * rate * unique_ppm * quality // (PPM * PPM)


def round_credits(
    updates: Iterable[UpdateVotes],
    packer: str,
    rates: Rates,
    *,
    quality: int = PPM,
    max_share_ppm: int = PPM,
) -> dict[str, int]:
    """Credits minted when a round seals (pure; mirrors FederatedLedger._credit).

    Hospitals: ``hospital_credit`` per accepted update on its weight in the aggregate (capped
    at ``max_share_ppm`` of the total, ``cap_weights``; ``quality`` = the round's q in ppm).
    Miners: verifier_rate per vote that decided an update (the approvals that reached the
    quorum, a proposal being its proposer's approval; the rejections that refused it; the
    ledger records no vote after the decision), plus packer_rate for the packer. Accounts
    whose credit is zero are absent.
    """
    listed = list(updates)
    accepted = [u for u in listed if u.accepted]
    weights = cap_weights([u.sample_count for u in accepted], max_share_ppm) if accepted else []
    credits: dict[str, int] = defaultdict(int)
    for update, weight in zip(accepted, weights, strict=True):
        credits[update.hospital] += hospital_credit(
            weight, rates.hospital_rate, update.unique_ppm, quality
        )
    for update in listed:
        deciders = update.approvers if update.accepted else update.rejecters
        if update.accepted or update.refused:
            for miner in deciders:
                credits[miner] += rates.verifier_rate
    credits[packer] += rates.packer_rate
    return {account: amount for account, amount in credits.items() if amount}


def credits_from_events(events: Iterable[LedgerEvent]) -> dict[int, dict[str, int]]:
    """Replay a ledger's events (in chain order) into {round: {account: credits}}.

    Uses only what events carry, so an auditor can check the balances without storage:
    u is the hospital's latest ``AlignmentRecorded`` before the proposal (10^6 if none),
    q comes from the ``HoldoutReported`` events on the sealed model hash.
    """
    rates = Rates(hospital_rate=0, verifier_rate=0, packer_rate=0)
    max_share = PPM
    unique: dict[str, int] = {}
    updates: dict[int, dict[int, UpdateVotes]] = defaultdict(dict)
    reports: dict[int, list[HoldoutReported]] = defaultdict(list)
    packers: dict[int, str] = {}
    out: dict[int, dict[str, int]] = {}
    for event in events:
        if isinstance(event, RatesChanged):
            rates = Rates(
                hospital_rate=event.hospital_rate,
                verifier_rate=event.verifier_rate,
                packer_rate=event.packer_rate,
            )
        elif isinstance(event, PolicyFixed):
            max_share = event.max_share_ppm
        elif isinstance(event, AlignmentRecorded):
            unique[event.hospital.lower()] = event.unique_ppm
        elif isinstance(event, UpdateProposed):
            updates[event.round][event.update_id] = UpdateVotes(
                event.hospital,
                event.sample_count,
                {event.miner},
                unique_ppm=unique.get(event.hospital.lower(), PPM),
            )
        elif isinstance(event, UpdateApproved):
            updates[event.update_id >> 16][event.update_id].approvers.add(event.miner)
        elif isinstance(event, UpdateRejected):
            updates[event.update_id >> 16][event.update_id].rejecters.add(event.miner)
        elif isinstance(event, UpdateAccepted):  # UpdateRefused shares the model, not the name
            update = updates[event.round][event.update_id]
            update.accepted = event.event == "UpdateAccepted"
            update.refused = event.event == "UpdateRefused"
        elif isinstance(event, HoldoutReported):
            reports[event.round].append(event)
        elif isinstance(event, AggregateCommitted):
            packers[event.round] = event.packer
        elif isinstance(event, RoundSealed):
            q = quality_ppm(tally_of(reports[event.round], event.new_model_hash))
            out[event.round] = round_credits(
                updates[event.round].values(),
                packers[event.round],
                rates,
                quality=q,
                max_share_ppm=max_share,
            )
    return out


# ---------------------------------------------------------------- quality-adjusted settlement
def quality_factor(reports: Iterable[HoldoutReported], candidate: str) -> float:
    """The round's q as a float: from the reports on ``candidate`` (1.0 without any).

    Round-level on purpose: the aggregate is all anyone can evaluate without decrypting a
    single hospital's update, so every contributor of a round shares its factor.
    """
    return quality_ppm(tally_of(reports, candidate)) / PPM


def hospital_settlement(events: Iterable[LedgerEvent]) -> dict[int, dict[str, int]]:
    """{round: {hospital: credits}}: samples x rate x u x q, exactly as minted at the seal.

    Sealed rounds only (a rejected round pays nothing); hospitals with accepted updates.
    """
    listed = list(events)
    hospitals: dict[int, set[str]] = defaultdict(set)
    for event in listed:
        if isinstance(event, UpdateAccepted) and event.event == "UpdateAccepted":
            hospitals[event.round].add(event.hospital)
    return {
        r: {h: paid.get(h, 0) for h in sorted(hospitals[r])}
        for r, paid in credits_from_events(listed).items()
    }
