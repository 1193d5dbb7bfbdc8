"""`fedchain network init`: deploy the ledger, register pairs, write the network file."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from node.chain.connect import connect, rpc_url_for
from node.chain.network import NetworkFile, devnet_pair_accounts, init_network
from node.config import Settings, load_settings
from node.errors import ConfigError
from node.identity import devnet_account, is_devnet_chain

app = typer.Typer(name="network", help="The consortium on the chain.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The consortium on the chain (a group even with one command, so `init` stays a word)."""


def network_table(network: NetworkFile) -> Table:
    """The network as a rich table: one row per pair, the ledger's settings in the title."""
    table = Table(
        title=(
            f"ledger {network.ledger_address} on chain {network.chain_id} · quorum "
            f"{network.quorum} of {len(network.pairs)} miners · rates: {network.hospital_rate}"
            f"/sample, {network.verifier_rate}/approval, {network.packer_rate}/packed round"
        )
    )
    table.add_column("pair")
    table.add_column("hospital", no_wrap=True, min_width=42)
    table.add_column("its miner", no_wrap=True, min_width=42)
    for pair in network.pairs:
        table.add_row(str(pair.index), pair.hospital, pair.miner)
    return table


def run_init(settings: Settings, hospitals: int) -> NetworkFile:
    """Deploy + register ``hospitals`` pairs on the configured chain; write the network file."""
    rpc_url = rpc_url_for(settings)
    w3 = connect(rpc_url)
    chain_id = int(w3.eth.chain_id)
    if not is_devnet_chain(chain_id):
        raise ConfigError(
            f"`network init` registers the devnet's mnemonic accounts; chain {chain_id} is "
            "not a devnet and those public keys are refused there",
            fix="run it on a devnet (chain id 31337/1337); "
            "keystore consortia are not supported yet",
        )
    admin = devnet_account(settings.devnet_account or 0)
    pairs = [devnet_pair_accounts(i) for i in range(hospitals)]
    network = init_network(
        w3, admin, pairs, rpc_url=rpc_url,
        hospital_rate=settings.hospital_rate, verifier_rate=settings.verifier_rate,
        packer_rate=settings.packer_rate, proposer_timeout=settings.proposer_timeout,
        deployments_file=settings.deployments_file,
    )  # fmt: skip
    network.save(settings.resolved_network_file)
    return network


@app.command()
def init(
    hospitals: Annotated[int, typer.Option(min=1, max=16, help="hospital/miner pairs")] = 3,
) -> None:
    """Deploy the ledger and register N hospital/miner pairs on the configured chain."""
    settings = load_settings()
    network = run_init(settings, hospitals)
    Console().print(network_table(network))
    Console().print(f"network file: {settings.resolved_network_file}")
