"""fedchain settings: one pydantic-settings object read from FEDCHAIN_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from node.errors import ConfigError

DEFAULT_DATA_DIR = Path(".fedchain")


class Settings(BaseSettings):
    """Where the chain is, who this node is, and the ledger's defaults.

    Every field is read from ``FEDCHAIN_<FIELD>`` (e.g. ``FEDCHAIN_RPC_URL``).
    """

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_", extra="ignore")

    rpc_url: str | None = Field(
        default=None,
        description="JSON-RPC of an existing chain (geth, Besu, anvil); unset = local devnet",
    )
    chain_id: int = Field(default=31337, gt=0, description="chain id of the local devnet")
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="state of this node")
    network_file: Path | None = Field(
        default=None, description="network description; default <data_dir>/network.json"
    )
    keystore: Path | None = Field(default=None, description="encrypted key file of this node")
    key_password: SecretStr | None = Field(default=None, description="keystore password")
    devnet_account: int | None = Field(
        default=None, ge=0, description="index of an anvil mnemonic account (devnet only)"
    )
    tx_poll_interval: float = Field(
        default=0.005, gt=0, le=5, description="seconds between receipt polls"
    )
    tx_timeout: float = Field(default=60.0, gt=0, description="seconds to wait for a receipt")
    hospital_rate: int = Field(default=1, ge=0, description="credits per accepted sample")
    verifier_rate: int = Field(default=10, ge=0, description="credits per approval")
    packer_rate: int = Field(default=50, ge=0, description="credits per sealed round packed")
    proposer_timeout: int = Field(
        default=60, ge=0, description="seconds before the next miner in rotation may pack"
    )
    # Fixed when the ledger is deployed (`network init`), never changed afterwards.
    holdout_reports: int | None = Field(
        default=None,
        ge=0,
        le=16,
        description="hold-out reports a seal needs (capped by the accepted updates); "
        "unset = every hospital of the consortium, 0 = no hold-out gate",
    )
    holdout_margin_ppm: int = Field(
        default=50_000, ge=0, le=1_000_000, description="a report is 'worse' below this margin"
    )
    max_share_ppm: int = Field(
        default=500_000,
        ge=500_000,
        le=1_000_000,
        description="the largest share of a round's weight one update may carry (ppm)",
    )

    @field_validator("rpc_url")
    @classmethod
    def _check_rpc_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("FEDCHAIN_RPC_URL must start with http:// or https://")
        return value

    @field_validator("key_password")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() in {"", "changeme", "password"}:
            raise ValueError("FEDCHAIN_KEY_PASSWORD is a placeholder; set a real password")
        return value

    @property
    def devnet_dir(self) -> Path:
        """State directory of the embedded anvil devnet."""
        return self.data_dir / "devnet"

    @property
    def deployments_file(self) -> Path:
        """Deployed contract addresses, per chain id."""
        return self.data_dir / "deployments.json"

    @property
    def resolved_network_file(self) -> Path:
        """The network file services read (chain, ledger address, accounts)."""
        return self.network_file or self.data_dir / "network.json"


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, turning validation errors into ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"setting {field!r} is invalid: {first['msg']}",
            fix=f"set FEDCHAIN_{field.upper()} to a valid value",
        ) from exc
