"""Deploy the ledger and remember where: a deployments file keyed by chain id."""

from __future__ import annotations

import json
import time
from pathlib import Path

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict
from web3 import Web3

from node.chain.artifact import ContractArtifact, load_artifact
from node.chain.client import LedgerClient
from node.chain.tx import TxSender
from node.errors import ChainError, NotFound


class Deployment(BaseModel):
    """One deployed contract on one chain."""

    model_config = ConfigDict(frozen=True)

    contract_name: str
    address: str
    chain_id: int
    block_number: int
    tx_hash: str
    source_sha256: str
    deployer: str
    deployed_at: float


class DeploymentsFile(BaseModel):
    """``{chain id: {contract name: Deployment}}``, the latest deployment per contract."""

    chains: dict[int, dict[str, Deployment]] = {}

    @classmethod
    def load(cls, path: Path) -> DeploymentsFile:
        """Read the file, or an empty one when it does not exist yet."""
        if not path.exists():
            return cls()
        return cls.model_validate_json(path.read_text())

    def save(self, path: Path) -> None:
        """Write atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.model_dump(mode="json"), indent=1) + "\n")
        tmp.replace(path)

    def get(self, chain_id: int, name: str = "FederatedLedger") -> Deployment:
        """The deployment of ``name`` on ``chain_id``."""
        try:
            return self.chains[chain_id][name]
        except KeyError:
            raise NotFound(
                f"no {name} deployed on chain {chain_id}",
                fix="run `fedchain network init` (or `fedchain demo`)",
            ) from None

    def record(self, deployment: Deployment) -> None:
        """Remember ``deployment`` as the latest of its contract on its chain."""
        self.chains.setdefault(deployment.chain_id, {})[deployment.contract_name] = deployment


def deploy_ledger(
    w3: Web3,
    admin: LocalAccount,
    *,
    hospital_rate: int = 1,
    verifier_rate: int = 10,
    packer_rate: int = 50,
    proposer_timeout: int = 60,
    holdout_reports: int = 0,
    holdout_margin_ppm: int = 0,
    max_share_ppm: int = 500_000,
    schema_hash: bytes = bytes(32),
    artifact: ContractArtifact | None = None,
    poll_interval: float = 0.005,
) -> tuple[LedgerClient, Deployment]:
    """Deploy a FederatedLedger with ``admin`` as its admin; returns its client and record.

    The hold-out policy (reports a seal needs, 0 = no gate; the margin), the largest share
    of a round's weight one update may carry and the consortium schema's sha256 (zero: none
    named) are fixed here, for the ledger's life.
    """
    artifact = artifact or load_artifact()
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    sender = TxSender(w3, admin, errors=artifact.error_selectors(), poll_interval=poll_interval)
    tx = factory.constructor(
        hospital_rate,
        verifier_rate,
        packer_rate,
        proposer_timeout,
        holdout_reports,
        holdout_margin_ppm,
        max_share_ppm,
        schema_hash,
    ).build_transaction(
        {
            "from": admin.address,
            "nonce": w3.eth.get_transaction_count(admin.address, "pending"),
            "chainId": sender.chain_id,
        }
    )
    receipt = sender.send_built(tx, "deploy FederatedLedger")
    address = receipt["contractAddress"]
    if not address:
        raise ChainError("deployment receipt has no contract address")
    deployment = Deployment(
        contract_name=artifact.contract_name,
        address=str(address),
        chain_id=sender.chain_id,
        block_number=receipt["blockNumber"],
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        source_sha256=artifact.source_sha256,
        deployer=admin.address,
        deployed_at=time.time(),
    )
    client = LedgerClient(w3, str(address), admin, artifact=artifact, poll_interval=poll_interval)
    return client, deployment
