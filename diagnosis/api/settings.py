"""Settings of the diagnosis routes (env prefix FEDCHAIN_DIAGNOSIS_)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from node.tokens import require_real_tokens


class DiagnosisSettings(BaseSettings):
    """Doctor tokens and matching defaults; tokens come as a JSON list in the environment."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_DIAGNOSIS_", extra="ignore")

    doctor_tokens: list[str] = Field(
        default_factory=list, description="bearer tokens that identify doctors (≥ 16 characters)"
    )
    alpha: float = Field(default=0.5, ge=0, le=1, description="weight of the model vs the cases")
    suggestion_days: float = Field(
        default=30, gt=0, description="days a suggestion can get feedback (then it is deleted)"
    )
    demo_cases: int = Field(
        default=600, ge=1, description="synthetic cases of the stand-alone demo library"
    )

    @field_validator("doctor_tokens")
    @classmethod
    def _tokens_are_real(cls, tokens: list[str]) -> list[str]:
        return require_real_tokens(tokens, role="doctor")
