"""The consortium's alignment terms: the checks every session is held to, and their settings.

The relay announces the terms in ``SessionOpen``; each hospital refuses a session whose terms
are weaker than its own (fewer canaries, no proofs, a larger set-size cap), so a relay cannot
switch the checks off.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hospital.alignment.canaries import DEFAULT_PER_GROUP

#: Items per hospital per session (canaries not counted). A bound on membership probing:
#: a hospital can test at most this many guessed items per run.
DEFAULT_MAX_SET_SIZE = 250_000


class AlignmentTerms(BaseModel):
    """What a session checks: canaries per Venn region, DLEQ proofs, the set-size cap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    canaries_per_group: int = Field(
        default=DEFAULT_PER_GROUP, ge=0, le=256, description="canaries per Venn region"
    )
    proofs: bool = Field(default=True, description="DLEQ proof with every raised batch")
    max_set_size: int = Field(
        default=DEFAULT_MAX_SET_SIZE, ge=1, description="real items per hospital per run"
    )

    def weaker_than(self, floor: AlignmentTerms) -> str | None:
        """Why these terms are weaker than ``floor`` (a hospital's own), or None."""
        if self.canaries_per_group < floor.canaries_per_group:
            return (
                f"canaries_per_group is {self.canaries_per_group}, "
                f"this hospital requires at least {floor.canaries_per_group}"
            )
        if floor.proofs and not self.proofs:
            return "proofs is off, this hospital requires DLEQ proofs"
        if self.max_set_size > floor.max_set_size:
            return (
                f"max_set_size is {self.max_set_size}, "
                f"this hospital allows at most {floor.max_set_size}"
            )
        return None


class AlignmentSettings(BaseSettings):
    """The terms from FEDCHAIN_ALIGNMENT_* (set alike at every hospital and relay)."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_ALIGNMENT_", extra="ignore")

    canaries_per_group: int = Field(default=DEFAULT_PER_GROUP, ge=1, le=256)
    max_set_size: int = Field(default=DEFAULT_MAX_SET_SIZE, ge=1)

    def terms(self) -> AlignmentTerms:
        """The terms these settings give (proofs always on)."""
        return AlignmentTerms(
            canaries_per_group=self.canaries_per_group, max_set_size=self.max_set_size
        )
