"""Settings of one hospital service (env prefix FEDCHAIN_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HospitalSettings(BaseSettings):
    """Who this hospital is and where it listens; its store URL and salt are EmrSettings'."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_", extra="ignore")

    hospital_name: str = Field(
        default="hospital-1", min_length=1, description="name in alignment runs and logs"
    )
    host: str = Field(default="127.0.0.1", description="listen address (loopback by default)")
    port: int = Field(default=8100, ge=1, le=65535)
    data_dir: Path = Field(default=Path(".fedchain"), description="this node's state")
    record_alignment: bool = Field(
        default=True,
        description="sign shared-sample alignments for the relay to record on the ledger "
        "(without a record the hospital's updates weigh nothing)",
    )

    @property
    def alignment_dir(self) -> Path:
        """Where alignment results (the hospital's own items and salts) are kept."""
        return self.data_dir / "alignment" / self.hospital_name

    @property
    def rounds_dir(self) -> Path:
        """Where the update being sent is kept until its round ends (survives a restart)."""
        return self.data_dir / "rounds" / self.hospital_name
