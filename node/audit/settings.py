"""The auditor's settings (FEDCHAIN_AUDITOR_*) and how they become an Auditor."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from node.audit.auditor import Auditor
from node.audit.blobsource import BlobReader, BlobSource, DirectorySource, HttpMinerSource
from node.chain.client import LedgerClient
from node.chain.connect import connect
from node.chain.network import NetworkFile
from node.config import Settings
from node.errors import ConfigError
from node.tokens import require_real_tokens


class AuditorSettings(Settings):
    """``FEDCHAIN_AUDITOR_*`` on top of the node's ``FEDCHAIN_*`` (network file, RPC URL)."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_", extra="ignore")

    auditor_tokens: list[str] = Field(
        default_factory=list, description="bearer tokens of auditors (JSON list, ≥ 16 chars each)"
    )
    auditor_miners: str = Field(default="", description="comma-separated miner base URLs")
    auditor_blob_dirs: str = Field(
        default="", description="comma-separated blob-store directories readable by the auditor"
    )
    auditor_public_key: Path | None = Field(
        default=None, description="consortium public-key file (default: from the blob store)"
    )
    auditor_host: str = Field(default="127.0.0.1", description="address to listen on")
    auditor_port: int = Field(default=8800, ge=0, le=65535, description="port to listen on")
    auditor_recompute_models: bool = Field(
        default=True,
        description="combine the partial decryptions to re-derive each sealed model "
        "(the costliest check: one threshold combination per round)",
    )
    auditor_cache_seconds: float = Field(
        default=5.0, ge=0, description="how long a computed report is served before re-auditing"
    )

    @field_validator("auditor_tokens")
    @classmethod
    def _tokens_are_real(cls, tokens: list[str]) -> list[str]:
        return require_real_tokens(tokens, role="auditor")

    def sources(self) -> list[BlobSource]:
        """Every configured blob source: miners over HTTP, then directories."""
        out: list[BlobSource] = [
            HttpMinerSource(u.strip()) for u in self.auditor_miners.split(",") if u.strip()
        ]
        out += [
            DirectorySource(Path(d.strip())) for d in self.auditor_blob_dirs.split(",") if d.strip()
        ]
        return out


def load_auditor_settings(**overrides: object) -> AuditorSettings:
    """Read the settings, turning validation errors into a ConfigError naming the variable."""
    try:
        return AuditorSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"setting {name!r} is invalid: {first['msg']}",
            fix=f"set FEDCHAIN_{name.upper()} to a valid value",
        ) from exc


def build_auditor(settings: AuditorSettings) -> Auditor:
    """An Auditor on the network file's ledger, reading from the configured blob sources.

    Its ledger client holds a throw-away account: the auditor never sends a transaction.
    """
    network = NetworkFile.load(settings.resolved_network_file)
    sources = settings.sources()
    if not sources:
        raise ConfigError(
            "no blob source configured",
            fix="set FEDCHAIN_AUDITOR_MINERS (miner URLs) or FEDCHAIN_AUDITOR_BLOB_DIRS",
        )
    w3 = connect(settings.rpc_url or network.rpc_url)
    if int(w3.eth.chain_id) != network.chain_id:
        raise ConfigError(
            f"the chain is not chain {network.chain_id} of the network file",
            fix="point FEDCHAIN_RPC_URL at the network's chain",
        )
    ledger = LedgerClient(w3, network.ledger_address, Account.create())
    return Auditor(
        ledger=ledger,
        reader=BlobReader(sources),
        public_key_file=settings.auditor_public_key,
        from_block=network.ledger_block,
        check_sealed_models=settings.auditor_recompute_models,
    )
