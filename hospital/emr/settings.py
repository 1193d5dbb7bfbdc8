"""Settings of a hospital's EMR library (env prefix FEDCHAIN_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from node.errors import ConfigError
from node.identity import DEVNET_NATIONAL_ID_SALT as DEV_SALT
from node.identity import is_devnet_chain


class EmrSettings(BaseSettings):
    """Where the case store lives and the consortium's national-id salt."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_", extra="ignore")

    database_url: str = "sqlite:///fedchain-data/emr.sqlite"
    national_id_salt: str = DEV_SALT  # devnet only; a real consortium shares its own secret

    @property
    def salt(self) -> bytes:
        """The salt as bytes."""
        return self.national_id_salt.encode("utf-8")

    def require_secret_salt(self, chain_id: int) -> EmrSettings:
        """Refuse the public devnet salt on a chain that is not a devnet; return the settings.

        The default salt is in the source code, so on a real consortium chain anybody could
        recompute every national-id token from a guessed id: it is for devnets only.
        """
        if not is_devnet_chain(chain_id) and self.national_id_salt == DEV_SALT:
            raise ConfigError(
                f"FEDCHAIN_NATIONAL_ID_SALT is the public devnet default and chain {chain_id} "
                "is not a devnet",
                fix="set FEDCHAIN_NATIONAL_ID_SALT to the consortium's shared secret "
                "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`, "
                "shared by every hospital of the consortium)",
            )
        return self
