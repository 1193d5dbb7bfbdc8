"""`fedchain chain`: start, stop and inspect the local devnet; compile the ledger; make keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from node.chain.devnet import Devnet
from node.config import load_settings

app = typer.Typer(
    name="chain", help="The local anvil devnet and the ledger contract.", no_args_is_help=True
)


def _devnet(chain_id: int | None) -> Devnet:
    settings = load_settings()
    return Devnet(settings.devnet_dir, chain_id=chain_id or settings.chain_id)


@app.command()
def up(
    chain_id: Annotated[
        int | None, typer.Option(help="chain id (default FEDCHAIN_CHAIN_ID)")
    ] = None,
) -> None:
    """Start anvil on a free loopback port (state kept in <data_dir>/devnet)."""
    info = _devnet(chain_id).start()
    Console().print(f"devnet up: {info.rpc_url} chain id {info.chain_id} pid {info.pid}")
    Console().print(f"state file: {info.state_file}")


@app.command()
def down() -> None:
    """Stop the devnet by PID; anvil dumps its state so `up` resumes the same chain."""
    stopped = _devnet(None).stop()
    Console().print("devnet stopped" if stopped else "no devnet running")


@app.command()
def status() -> None:
    """Say whether the chain answers, where, and its latest block (exit 1 if it does not).

    With FEDCHAIN_RPC_URL set this checks that endpoint (the compose healthcheck uses it);
    otherwise the local devnet started by `fedchain chain up`.
    """
    from node.chain.connect import connect

    settings = load_settings()
    if settings.rpc_url:
        w3 = connect(settings.rpc_url, timeout=5)
        Console().print(
            f"chain up: {settings.rpc_url} chain id {w3.eth.chain_id} block {w3.eth.block_number}"
        )
        return
    info = _devnet(None).status()
    if info is None:
        Console().print("no devnet running")
        raise typer.Exit(1)
    block = connect(info.rpc_url).eth.block_number
    Console().print(
        f"devnet up: {info.rpc_url} chain id {info.chain_id} pid {info.pid} block {block}"
    )


@app.command("compile")
def compile_ledger() -> None:
    """Recompile contracts/FederatedLedger.sol with the npm solcjs and rewrite the artifact."""
    from node.chain.compile import compile_contract, write_artifact

    artifact = compile_contract()
    path = write_artifact(artifact)
    Console().print(f"wrote {path} (source sha256 {artifact.source_sha256[:12]}…)")


@app.command("new-key")
def new_key(
    out: Annotated[Path, typer.Option(help="keystore file to create")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="FEDCHAIN_KEY_PASSWORD"
        ),
    ],
) -> None:
    """Create a fresh account in an encrypted keystore file (for non-devnet chains)."""
    from eth_account import Account

    from node.identity import save_keystore

    account = Account.create()
    save_keystore(account, out, password)
    Console().print(f"{account.address} -> {out}")
