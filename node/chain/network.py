"""The network file: which chain, which ledger, which accounts — what every service reads."""

from __future__ import annotations

import json
from pathlib import Path

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3

from node.chain.deploy import Deployment, DeploymentsFile, deploy_ledger
from node.errors import NotFound, ValidationFailed
from node.identity import devnet_account, is_devnet_chain, require_safe_key


class PairEntry(BaseModel):
    """One hospital/miner pair; ``*_devnet_index`` says which mnemonic account (devnets)."""

    model_config = ConfigDict(frozen=True)

    index: int
    hospital: str
    miner: str
    hospital_devnet_index: int | None = None
    miner_devnet_index: int | None = None


class NetworkFile(BaseModel):
    """Written by `fedchain network init`; read by hospitals, miners and the auditor."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    chain_id: int
    rpc_url: str
    ledger_address: str
    ledger_block: int = Field(description="block of the deployment: read events from here")
    admin: str
    quorum: int
    proposer_timeout: int
    hospital_rate: int
    verifier_rate: int
    packer_rate: int
    holdout_reports: int = Field(default=0, description="fixed at deployment; 0 = no gate")
    holdout_margin_ppm: int = 0
    max_share_ppm: int = 1_000_000
    pairs: list[PairEntry]

    def save(self, path: Path) -> Path:
        """Write atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.model_dump(), indent=1) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> NetworkFile:
        """Read a network file, saying how to create it when absent."""
        if not path.exists():
            raise NotFound(f"network file {path} does not exist", fix="run `fedchain network init`")
        return cls.model_validate_json(path.read_text())

    def pair_of(self, address: str) -> PairEntry:
        """The pair a hospital or miner address belongs to."""
        for pair in self.pairs:
            if address.lower() in (pair.hospital.lower(), pair.miner.lower()):
                return pair
        raise NotFound(f"{address} is in no pair of this network")


def devnet_pair_accounts(index: int) -> tuple[LocalAccount, LocalAccount]:
    """Devnet layout: admin = account 0, pair k = (hospital 2k+1, miner 2k+2)."""
    return devnet_account(2 * index + 1), devnet_account(2 * index + 2)


def init_network(
    w3: Web3,
    admin: LocalAccount,
    pairs: list[tuple[LocalAccount, LocalAccount]],
    *,
    rpc_url: str,
    hospital_rate: int = 1,
    verifier_rate: int = 10,
    packer_rate: int = 50,
    proposer_timeout: int = 60,
    holdout_reports: int | None = None,
    holdout_margin_ppm: int = 50_000,
    max_share_ppm: int = 500_000,
    deployments_file: Path | None = None,
    fund_wei: int = 10**19,
) -> NetworkFile:
    """Deploy a ledger, register ``pairs`` and describe the result.

    Empty pair accounts are funded from the admin. Devnet keys are refused on a chain
    that is not a devnet. The hold-out gate is on by default: every pair's hospital must
    report (``holdout_reports=None``), capped by the accepted updates of each round.
    """
    if not 1 <= len(pairs) <= 16:
        raise ValidationFailed(
            f"{len(pairs)} pairs requested; the ledger holds 1 to 16",
            field="hospitals",
            fix="choose --hospitals between 1 and 16",
        )
    chain_id = int(w3.eth.chain_id)
    for account in [admin, *(a for pair in pairs for a in pair)]:
        require_safe_key(account, chain_id)
    ledger, deployment = deploy_ledger(
        w3,
        admin,
        hospital_rate=hospital_rate,
        verifier_rate=verifier_rate,
        packer_rate=packer_rate,
        proposer_timeout=proposer_timeout,
        holdout_reports=len(pairs) if holdout_reports is None else holdout_reports,
        holdout_margin_ppm=holdout_margin_ppm,
        max_share_ppm=max_share_ppm,
    )
    if deployments_file is not None:
        book = DeploymentsFile.load(deployments_file)
        book.record(deployment)
        book.save(deployments_file)
    _fund(w3, ledger, [a for pair in pairs for a in pair], fund_wei)
    entries = []
    for index, (hospital, miner) in enumerate(pairs):
        ledger.register_pair(hospital.address, miner.address)
        devnet = is_devnet_chain(chain_id)
        entries.append(
            PairEntry(
                index=index,
                hospital=hospital.address,
                miner=miner.address,
                hospital_devnet_index=2 * index + 1 if devnet else None,
                miner_devnet_index=2 * index + 2 if devnet else None,
            )
        )
    reports, margin = ledger.holdout_policy()
    return _describe(
        ledger_quorum=ledger.quorum(),
        policy=(reports, margin, ledger.max_share_ppm()),
        deployment=deployment,
        rpc_url=rpc_url,
        admin=admin.address,
        pairs=entries,
        rates=(hospital_rate, verifier_rate, packer_rate),
        proposer_timeout=proposer_timeout,
    )


def _fund(w3: Web3, ledger: object, accounts: list[LocalAccount], amount: int) -> None:
    from node.chain.client import LedgerClient

    assert isinstance(ledger, LedgerClient)
    sender = ledger.sender
    for account in accounts:
        if w3.eth.get_balance(account.address) > 0:
            continue
        nonce = w3.eth.get_transaction_count(sender.account.address, "pending")
        tx = {
            "to": account.address,
            "value": amount,
            "gas": 21000,
            "nonce": nonce,
            "chainId": sender.chain_id,
            "gasPrice": w3.eth.gas_price,
        }
        sender.send_built(tx, f"fund {account.address}")


def _describe(
    *,
    ledger_quorum: int,
    deployment: Deployment,
    rpc_url: str,
    admin: str,
    pairs: list[PairEntry],
    rates: tuple[int, int, int],
    proposer_timeout: int,
    policy: tuple[int, int, int],
) -> NetworkFile:
    return NetworkFile(
        chain_id=deployment.chain_id,
        rpc_url=rpc_url,
        ledger_address=deployment.address,
        ledger_block=deployment.block_number,
        admin=admin,
        quorum=ledger_quorum,
        proposer_timeout=proposer_timeout,
        hospital_rate=rates[0],
        verifier_rate=rates[1],
        packer_rate=rates[2],
        holdout_reports=policy[0],
        holdout_margin_ppm=policy[1],
        max_share_ppm=policy[2],
        pairs=pairs,
    )
