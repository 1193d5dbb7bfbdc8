"""Contribution credits as the ledger computes them, rebuilt from events alone (for auditors)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from node.chain.events import (
    AggregateCommitted,
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
