"""`fedchain demo`: a devnet, the ledger, three hospital/miner pairs, printed; then stopped."""

from __future__ import annotations

import shutil
from typing import Annotated

import typer
from rich.console import Console

from node.chain.devnet import Devnet
from node.cli.network import network_table, run_init
from node.config import load_settings


def demo(
    hospitals: Annotated[int, typer.Option(min=1, max=16, help="hospital/miner pairs")] = 3,
    keep_running: Annotated[bool, typer.Option(help="leave the devnet up afterwards")] = False,
) -> None:
    """Start a fresh devnet, deploy the ledger, register the demo consortium, print it."""
    settings = load_settings()
    demo_dir = settings.data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)  # a fresh chain every time
    settings = settings.model_copy(update={"data_dir": demo_dir, "rpc_url": None})
    chain = Devnet(settings.devnet_dir, chain_id=settings.chain_id)
    info = chain.start()
    try:
        Console().print(f"devnet up: {info.rpc_url} (chain id {info.chain_id}, pid {info.pid})")
        network = run_init(settings, hospitals)
        Console().print(network_table(network))
        Console().print(f"network file: {settings.resolved_network_file}")
    finally:
        if not keep_running:
            chain.stop()
            Console().print("devnet stopped (state kept in " + str(settings.devnet_dir) + ")")
    if keep_running:
        Console().print("devnet left running: stop it with "
                   f"`FEDCHAIN_DATA_DIR={demo_dir} fedchain chain down`")
