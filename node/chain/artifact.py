"""The compiled-contract artifact: a typed model of the committed ABI + bytecode JSON."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from node.errors import NotFound

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
LEDGER_NAME = "FederatedLedger"


class ContractArtifact(BaseModel):
    """ABI and creation bytecode of one contract, keyed by the sha256 of its source."""

    model_config = ConfigDict(frozen=True)

    contract_name: str
    source_path: str
    source_sha256: str
    solc_version: str
    evm_version: str
    optimizer_runs: int
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str

    def error_selectors(self) -> dict[bytes, dict[str, Any]]:
        """Map each custom error's 4-byte selector to its ABI entry."""
        from eth_utils import function_signature_to_4byte_selector

        out: dict[bytes, dict[str, Any]] = {}
        for entry in self.abi:
            if entry.get("type") != "error":
                continue
            types = ",".join(abi_type(i) for i in entry["inputs"])
            out[function_signature_to_4byte_selector(f"{entry['name']}({types})")] = entry
        return out


def abi_type(item: dict[str, Any]) -> str:
    """The canonical ABI type string of an input (tuples spelled out)."""
    if item["type"].startswith("tuple"):
        inner = ",".join(abi_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


def source_sha256(path: Path) -> str:
    """sha256 of a source file's bytes, the artifact's cache key."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def artifact_path(name: str = LEDGER_NAME, directory: Path = ARTIFACT_DIR) -> Path:
    """Where the artifact of contract ``name`` lives."""
    return directory / f"{name}.json"


def load_artifact(name: str = LEDGER_NAME, directory: Path = ARTIFACT_DIR) -> ContractArtifact:
    """Load a committed artifact; runtime code never compiles."""
    path = artifact_path(name, directory)
    if not path.exists():
        raise NotFound(
            f"no compiled artifact for {name} at {path}",
            fix="run `fedchain chain compile` in the fedchain checkout",
        )
    return ContractArtifact.model_validate_json(path.read_text())
