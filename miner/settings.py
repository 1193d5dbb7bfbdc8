"""The miner's settings: the node's settings plus its blob directory, key files and peers."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from node.config import Settings


class MinerSettings(Settings):
    """``FEDCHAIN_MINER_*`` variables on top of the node's ``FEDCHAIN_*`` ones."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_", extra="ignore")

    miner_host: str = Field(default="127.0.0.1", description="address to listen on")
    miner_port: int = Field(default=8700, ge=0, le=65535, description="port to listen on")
    miner_blob_dir: Path | None = Field(
        default=None, description="blob store directory; default <data_dir>/blobs"
    )
    miner_key_dir: Path | None = Field(
        default=None, description="key-ceremony directory (consortium.pub, miner-<i>.share)"
    )
    miner_peers: str = Field(default="", description="comma-separated base URLs of other miners")
    miner_tick: float = Field(default=0.5, gt=0, description="seconds between chain polls")
    miner_partial_grace: float = Field(
        default=5.0, ge=0, description="seconds before covering a silent miner's ciphertexts"
    )

    @property
    def blob_dir(self) -> Path:
        """Where this miner's blobs live."""
        return self.miner_blob_dir or self.data_dir / "blobs"

    @property
    def peer_urls(self) -> list[str]:
        """The other miners' base URLs."""
        return [u.strip() for u in self.miner_peers.split(",") if u.strip()]
