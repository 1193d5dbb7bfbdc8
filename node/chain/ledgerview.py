"""A node's picture of the ledger, folded from events alone (rebuilt from block 0 on restart)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from node.chain import events as ev
from node.chain.client import LedgerClient


def _h(value: str) -> str:
    """Hex without 0x, lower case (the blob store's spelling)."""
    return value.lower().removeprefix("0x")


class Phase(StrEnum):
    """A round's phase as the events tell it."""

    OPEN = "open"
    COMMITTED = "committed"
    SEALED = "sealed"
    REJECTED = "rejected"


@dataclass
class UpdateView:
    """One proposed update and the votes on it."""

    update_id: int
    round: int
    hospital: str
    miner: str
    blob_hash: str
    sample_count: int
    signature: bytes
    voters: set[str] = field(default_factory=set)  # miners that approved or rejected
    accepted: bool = False
    refused: bool = False


@dataclass
class RoundView:
    """One round: its spec, updates, aggregate, attestations, partials, hold-out, outcome."""

    round: int
    prev_model_hash: str
    spec_hash: str
    deadline: int
    min_updates: int
    max_total_weight: int = 1 << 20
    max_updates: int = 16
    phase: Phase = Phase.OPEN
    ready_at: int = 0
    updates: dict[int, UpdateView] = field(default_factory=dict)
    aggregate_hash: str = ""
    packer: str = ""
    committed_block: int = 0
    attesters: set[str] = field(default_factory=set)
    partials: dict[str, list[str]] = field(default_factory=dict)  # miner -> partial blobs
    candidate_votes: dict[str, str] = field(default_factory=dict)  # miner -> candidate hash
    holdout: dict[str, ev.HoldoutReported] = field(default_factory=dict)
    sealed_hash: str = ""

    def accepted(self) -> list[UpdateView]:
        """Accepted updates in update-id order (the order every miner aggregates in)."""
        return [u for _, u in sorted(self.updates.items()) if u.accepted]

    def weight_left(self, exclude: int | None = None) -> int:
        """The round's max total weight minus its proposed, unrefused updates (but ``exclude``)."""
        used = sum(
            u.sample_count
            for u in self.updates.values()
            if not u.refused and u.update_id != exclude
        )
        return self.max_total_weight - used

    def votes_for(self, candidate: str) -> set[str]:
        """Miners that attested ``candidate`` as this round's model."""
        return {m for m, h in self.candidate_votes.items() if h == _h(candidate)}


@dataclass
class LedgerView:
    """Pairs, alignments and rounds, advanced by ``catch_up`` from a block cursor."""

    pairs: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (hosp, miner)
    removed: set[int] = field(default_factory=set)
    shared_size: dict[str, int] = field(default_factory=dict)
    unique_ppm: dict[str, int] = field(default_factory=dict)
    max_share_ppm: int = 1_000_000  # from PolicyFixed (the deployment's)
    holdout_quorum: int = 0
    rounds: dict[int, RoundView] = field(default_factory=dict)
    current_round: int = 0
    model_hash: str = ""
    cursor: int = -1  # last block folded in

    def miner_index(self, miner: str) -> int:
        """Pair index of a miner address (StopIteration if it holds no pair slot now)."""
        return next(i for i, (_, m) in self.pairs.items() if m.lower() == miner.lower())

    def hospital_index(self, hospital: str) -> int:
        """Pair index of a hospital address (StopIteration if it holds no pair slot now)."""
        return next(i for i, (h, _) in self.pairs.items() if h.lower() == hospital.lower())

    def paired_hospital(self, miner: str) -> str:
        """The hospital paired with ``miner``."""
        return self.pairs[self.miner_index(miner)][0]

    def active_miners(self) -> list[str]:
        """Miners of active pairs, by pair index."""
        return [m for i, (_, m) in sorted(self.pairs.items()) if i not in self.removed]

    def is_active_hospital(self, address: str) -> bool:
        """Whether ``address`` is the hospital of an active pair."""
        return any(
            h.lower() == address.lower()
            for i, (h, _) in self.pairs.items()
            if i not in self.removed
        )

    def apply(self, e: ev.LedgerEvent) -> None:
        """Fold one event in (events must come in chain order)."""
        if isinstance(e, ev.PairRemoved):
            self.removed.add(e.index)
        elif isinstance(e, ev.PairRegistered):  # a removed pair's slot may be reused
            self.pairs[e.index] = (e.hospital, e.miner)
            self.removed.discard(e.index)
        elif isinstance(e, ev.PolicyFixed):
            self.max_share_ppm, self.holdout_quorum = e.max_share_ppm, e.holdout_quorum
        elif isinstance(e, ev.AlignmentRecorded):
            self.shared_size[e.hospital.lower()] = e.shared_size
            self.unique_ppm[e.hospital.lower()] = e.unique_ppm
        elif isinstance(e, ev.RoundOpened):
            self.current_round = e.round
            self.rounds[e.round] = RoundView(
                e.round,
                _h(e.prev_model_hash),
                _h(e.model_spec_hash),
                e.deadline,
                e.min_updates,
                e.max_total_weight,
                e.max_updates,
            )
        elif isinstance(e, ev.UpdateProposed):
            self.rounds[e.round].updates[e.update_id] = UpdateView(
                e.update_id,
                e.round,
                e.hospital,
                e.miner,
                _h(e.blob_hash),
                e.sample_count,
                bytes.fromhex(_h(e.signature)),
                {e.miner},
            )
        elif isinstance(e, ev.UpdateApproved | ev.UpdateRejected):
            self._update(e.update_id).voters.add(e.miner)
        elif isinstance(e, ev.UpdateAccepted):
            u = self._update(e.update_id)
            if e.event == "UpdateAccepted":
                u.accepted = True
            else:
                u.refused = True
        elif isinstance(e, ev.RoundReady):
            self.rounds[e.round].ready_at = e.ready_at
        else:
            self._apply_round_end(e)

    def _apply_round_end(self, e: ev.LedgerEvent) -> None:
        if isinstance(e, ev.AggregateCommitted):
            r = self.rounds[e.round]
            r.phase, r.aggregate_hash, r.packer = Phase.COMMITTED, _h(e.aggregate_hash), e.packer
            r.committed_block = e.block_number
        elif isinstance(e, ev.AggregateAttested):
            self.rounds[e.round].attesters.add(e.miner)
        elif isinstance(e, ev.PartialDecryptionSubmitted):
            self.rounds[e.round].partials.setdefault(e.miner, []).append(_h(e.blob_hash))
        elif isinstance(e, ev.CandidateAttested):
            self.rounds[e.round].candidate_votes[e.miner] = _h(e.candidate_hash)
        elif isinstance(e, ev.HoldoutReported):
            self.rounds[e.round].holdout[e.hospital] = e
        elif isinstance(e, ev.RoundSealed):
            r = self.rounds[e.round]
            r.phase, r.sealed_hash = Phase.SEALED, _h(e.new_model_hash)
            self.model_hash = r.sealed_hash
        elif isinstance(e, ev.RoundRejected):
            self.rounds[e.round].phase = Phase.REJECTED

    def _update(self, update_id: int) -> UpdateView:
        return self.rounds[update_id >> 16].updates[update_id]

    def catch_up(self, ledger: LedgerClient, from_block: int = 0) -> int:
        """Fold in every event up to the latest block; returns how many were new."""
        latest = int(ledger.w3.eth.block_number)
        start = max(self.cursor + 1, from_block)
        if start > latest:
            return 0
        new = ledger.events(from_block=start, to_block=latest)
        for e in new:
            self.apply(e)
        self.cursor = latest
        return len(new)
