"""Typed read models of an audit: rounds, votes, contributions, rewards, checks, the report."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class UpdateOutcome(StrEnum):
    """Where an update ended up after the miners voted."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class RoundOutcome(StrEnum):
    """Where a round ended up."""

    OPEN = "open"
    COMMITTED = "committed"
    SEALED = "sealed"
    REJECTED = "rejected"


class Vote(_Frozen):
    """One miner's verdict on one update (a proposal counts as an approval)."""

    miner: str
    approve: bool
    reason: str = ""
    block_number: int


class UpdateRecord(_Frozen):
    """One proposed update, the votes on it and its outcome."""

    update_id: int
    round: int
    hospital: str
    proposer: str
    blob_hash: str
    sample_count: int
    votes: list[Vote]
    outcome: UpdateOutcome


class Refusal(_Frozen):
    """A submission a miner refused at its edge (never proposed)."""

    round: int
    hospital: str
    miner: str
    blob_hash: str
    reason: str


class HoldoutRecord(_Frozen):
    """A hospital's hold-out metrics (ppm) before and after a round's candidate model."""

    hospital: str
    candidate_hash: str
    metric_before: int
    metric_after: int
    worse: bool


class RoundRecord(_Frozen):
    """One round as the events tell it."""

    round: int
    opened_block: int
    prev_model_hash: str
    model_spec_hash: str
    deadline: int
    min_updates: int
    outcome: RoundOutcome
    updates: list[UpdateRecord] = Field(default_factory=list)
    refusals: list[Refusal] = Field(default_factory=list)
    aggregate_hash: str = ""
    packer: str = ""
    accepted_updates: int = 0
    attesters: list[str] = Field(default_factory=list)
    partials: dict[str, list[str]] = Field(default_factory=dict)  # miner -> partial blob hashes
    partial_shares: dict[str, int] = Field(default_factory=dict)  # miner -> its share index
    candidate_votes: dict[str, str] = Field(default_factory=dict)  # miner -> candidate hash
    max_share_ppm: int = 1_000_000  # the ledger's cap on one update's share of the weight
    holdout: list[HoldoutRecord] = Field(default_factory=list)
    new_model_hash: str = ""
    rejected_by: str = ""
    rejection_reason: str = ""
    hospital_credits: int = 0
    miner_credits: int = 0
    quality_factor: float = 1.0  # docs/rewards.md: from the hold-out reports

    def accepted(self) -> list[UpdateRecord]:
        """Accepted updates in update-id order."""
        return [u for u in self.updates if u.outcome is UpdateOutcome.ACCEPTED]

    def mean_holdout_after(self) -> float | None:
        """Mean hold-out metric of the candidate (in [0, 1]); None without reports."""
        if not self.holdout:
            return None
        return sum(h.metric_after for h in self.holdout) / len(self.holdout) / 1e6

    def mean_holdout_before(self) -> float | None:
        """Mean hold-out metric of the previous model (in [0, 1]); None without reports."""
        if not self.holdout:
            return None
        return sum(h.metric_before for h in self.holdout) / len(self.holdout) / 1e6


class Contribution(_Frozen):
    """What one hospital gave in one round and what it was paid for it."""

    round: int
    hospital: str
    pair_index: int
    proposed_samples: int
    accepted_samples: int
    credits: int  # minted on chain
    settlement: float = 0.0  # n x rate x u x q from events = the minted credits (docs/rewards.md)


class MinerWork(_Frozen):
    """What one miner did in one round and what it was paid for it."""

    round: int
    miner: str
    pair_index: int
    proposals: int
    approvals: int
    rejections: int
    packed: bool
    attested: bool
    partials: int
    credits: int


class Reward(_Frozen):
    """Credits minted to one account in one sealed round, recomputed from events."""

    round: int
    account: str
    role: str  # "hospital" | "miner"
    credits: int


class CheckStatus(StrEnum):
    """The verdict of one verification."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class CheckKind(StrEnum):
    """What a check verifies."""

    BLOB_HASH = "blob_hash"
    AGGREGATE = "aggregate"
    MODEL_CHAIN = "model_chain"
    SEALED_MODEL = "sealed_model"
    HOLDOUT = "holdout"
    REWARDS = "rewards"
    BALANCES = "balances"


class CheckResult(_Frozen):
    """One verification: what was checked, where (round, blob, account), and the verdict."""

    kind: CheckKind
    status: CheckStatus
    subject: str  # e.g. "update 65536 blob", "round 2 aggregate", "balance of 0x…"
    round: int | None = None
    detail: str = ""


class AuditReport(_Frozen):
    """Everything the auditor found: history, contributions, rewards, miners' work, checks."""

    chain_id: int
    ledger: str
    block: int
    rounds: list[RoundRecord]
    contributions: list[Contribution]
    miner_work: list[MinerWork]
    rewards: list[Reward]
    balances: dict[str, int]  # recomputed from events
    total_supply: int  # recomputed from events
    checks: list[CheckResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verified(self) -> bool:
        """True when no check failed."""
        return not any(c.status is CheckStatus.FAILED for c in self.checks)

    def failures(self) -> list[CheckResult]:
        """The checks that failed."""
        return [c for c in self.checks if c.status is CheckStatus.FAILED]
