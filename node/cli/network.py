"""`fedchain network init`: deploy the ledger, register pairs, write the network file."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from web3 import Web3

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
    """The consortium as a rich table: the ledger's settings, then each pair's two accounts.

    One address per row so that full addresses fit in an 80-column terminal.
    """
    table = Table(title="fedchain consortium", show_lines=False)
    table.add_column("pair", justify="right")
    table.add_column("role")
    table.add_column("address / value", no_wrap=True, min_width=42)
    settings = [
        ("chain id", str(network.chain_id)),
        ("ledger contract", network.ledger_address),
        ("admin", network.admin),
        ("quorum", f"{network.quorum} of {len(network.pairs)} miners"),
        (
            "rates",
            f"{network.hospital_rate}/sample, {network.verifier_rate}/approval, "
            f"{network.packer_rate}/packed round",
        ),
        ("proposer timeout", f"{network.proposer_timeout} s"),
        (
            "hold-out gate",
            f"{network.holdout_reports} reports, margin {network.holdout_margin_ppm} ppm"
            if network.holdout_reports
            else "off",
        ),
        ("max share of a round", f"{network.max_share_ppm / 10_000:g} %"),
    ]
    for name, value in settings:
        table.add_row("", name, value)
    table.add_section()
    for pair in network.pairs:
        table.add_row(str(pair.index), "hospital", pair.hospital)
        table.add_row("", "its miner", pair.miner, end_section=True)
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
        w3,
        admin,
        pairs,
        rpc_url=rpc_url,
        hospital_rate=settings.hospital_rate,
        verifier_rate=settings.verifier_rate,
        packer_rate=settings.packer_rate,
        proposer_timeout=settings.proposer_timeout,
        holdout_reports=settings.holdout_reports,
        holdout_margin_ppm=settings.holdout_margin_ppm,
        max_share_ppm=settings.max_share_ppm,
        deployments_file=settings.deployments_file,
    )
    network.save(settings.resolved_network_file)
    return network


def existing_network(settings: Settings, hospitals: int) -> NetworkFile | None:
    """The network file's consortium if its ledger is live on the configured chain, else None.

    A file whose ledger is not on this chain (a new devnet) is replaced; one with another
    number of pairs is an error rather than a silent redeploy.
    """
    path = settings.resolved_network_file
    if not path.exists():
        return None
    network = NetworkFile.load(path)
    w3 = connect(rpc_url_for(settings))
    ledger = Web3.to_checksum_address(network.ledger_address)
    if int(w3.eth.chain_id) != network.chain_id or not w3.eth.get_code(ledger):
        return None
    if len(network.pairs) != hospitals:
        raise ConfigError(
            f"{path} describes {len(network.pairs)} pairs, not {hospitals}",
            fix="pass the same --hospitals, or remove the network file to deploy anew",
        )
    return network


@app.command()
def init(
    hospitals: Annotated[int, typer.Option(min=1, max=16, help="hospital/miner pairs")] = 3,
    keep_existing: Annotated[
        bool,
        typer.Option(
            help="If the network file's ledger is already deployed on this chain with N pairs, "
            "keep it (for restartable deployments such as docker compose)."
        ),
    ] = False,
) -> None:
    """Deploy the ledger and register N hospital/miner pairs on the configured chain."""
    settings = load_settings()
    kept = existing_network(settings, hospitals) if keep_existing else None
    if kept is not None:
        Console().print(
            f"kept the ledger {kept.ledger_address} of {settings.resolved_network_file}"
        )
    network = kept or run_init(settings, hospitals)
    Console().print(network_table(network))
    Console().print(f"network file: {settings.resolved_network_file}")
