"""From settings to a connected Web3 and a ledger client: the one way services reach the chain."""

from __future__ import annotations

import httpx
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.client import LedgerClient
from node.chain.devnet import Devnet
from node.chain.network import NetworkFile
from node.config import Settings
from node.errors import ChainError, ConfigError
from node.identity import load_identity


def rpc_url_for(settings: Settings) -> str:
    """FEDCHAIN_RPC_URL when set, otherwise the running local devnet's URL."""
    if settings.rpc_url:
        return settings.rpc_url
    info = Devnet(settings.devnet_dir, chain_id=settings.chain_id).status()
    if info is None:
        raise ChainError(
            f"no devnet is running from {settings.devnet_dir} and FEDCHAIN_RPC_URL is not set",
            fix="run `fedchain chain up`, or set FEDCHAIN_RPC_URL to a JSON-RPC endpoint",
        )
    return info.rpc_url


def connect(rpc_url: str, *, timeout: float = 30.0) -> Web3:
    """A Web3 on ``rpc_url`` that answered eth_chainId (raises ChainError otherwise)."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id  # noqa: B018 - the probe is the point
    except (httpx.HTTPError, OSError, ValueError) as exc:
        raise ChainError(
            f"cannot reach the chain at {rpc_url}: {exc}",
            fix="start it (`fedchain chain up`) or fix FEDCHAIN_RPC_URL",
        ) from exc
    except Exception as exc:  # requests-based provider errors
        raise ChainError(
            f"cannot reach the chain at {rpc_url}: {exc}",
            fix="start it (`fedchain chain up`) or fix FEDCHAIN_RPC_URL",
        ) from exc
    return w3


def ledger_from_network(
    network: NetworkFile, account: LocalAccount, *, settings: Settings | None = None
) -> LedgerClient:
    """A ledger client for ``account`` on the chain the network file names."""
    settings = settings or Settings()
    w3 = connect(settings.rpc_url or network.rpc_url)
    chain_id = int(w3.eth.chain_id)
    if chain_id != network.chain_id:
        raise ConfigError(
            f"the chain answers chain id {chain_id}, the network file says {network.chain_id}",
            fix="point FEDCHAIN_RPC_URL at the network's chain or re-run `fedchain network init`",
        )
    return LedgerClient(
        w3,
        network.ledger_address,
        account,
        poll_interval=settings.tx_poll_interval,
        timeout=settings.tx_timeout,
    )


def ledger_from_settings(settings: Settings | None = None) -> LedgerClient:
    """Build this node's ledger client from network file + identity (keystore or devnet index)."""
    settings = settings or Settings()
    network = NetworkFile.load(settings.resolved_network_file)
    account = load_identity(settings, network.chain_id)
    return ledger_from_network(network, account, settings=settings)
