"""Settings of a hospital's EMR library (env prefix FEDCHAIN_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SALT = "fedchain-devnet-national-id-salt"


class EmrSettings(BaseSettings):
    """Where the case store lives and the consortium's national-id salt."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_", extra="ignore")

    database_url: str = "sqlite:///fedchain-data/emr.sqlite"
    national_id_salt: str = DEV_SALT  # devnet only; a real consortium shares its own secret

    @property
    def salt(self) -> bytes:
        """The salt as bytes."""
        return self.national_id_salt.encode("utf-8")
