"""Settings of the diagnosis routes (env prefix FEDCHAIN_DIAGNOSIS_)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"changeme", "change-me", "secret", "token", "password", "doctor"}


class DiagnosisSettings(BaseSettings):
    """Doctor tokens and matching defaults; tokens come as a JSON list in the environment."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_DIAGNOSIS_", extra="ignore")

    doctor_tokens: list[str] = Field(
        default_factory=list, description="bearer tokens that identify doctors (≥ 16 characters)"
    )
    alpha: float = Field(default=0.5, ge=0, le=1, description="weight of the model vs the cases")

    @field_validator("doctor_tokens")
    @classmethod
    def _tokens_are_real(cls, tokens: list[str]) -> list[str]:
        for t in tokens:
            if len(t) < 16 or t.lower() in _PLACEHOLDERS:
                raise ValueError(
                    "each doctor token must be a random string of at least 16 characters "
                    "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
                )
        return tokens
