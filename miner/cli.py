"""`fedchain miner serve`: run one miner (HTTP service + chain watcher)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from miner.duties import MinerNode
from miner.settings import MinerSettings
from node.blobnet import HttpPeers
from node.blobstore import FileBlobStore
from node.chain.connect import ledger_from_network
from node.chain.network import NetworkFile
from node.cli.keys import PUBLIC_KEY_FILE, share_file_name
from node.crypto import decode_key_share, decode_public_key
from node.errors import ConfigError
from node.identity import load_identity

app = typer.Typer(help="Run a miner: verify, pack, decrypt and seal rounds.", no_args_is_help=True)


@app.callback()
def miner() -> None:
    """Run a miner: verify, pack, decrypt and seal rounds."""


def build_node(settings: MinerSettings) -> MinerNode:
    """The miner described by ``settings``: identity, ledger, blob store, peers, key share."""
    network = NetworkFile.load(settings.resolved_network_file)
    account = load_identity(settings, network.chain_id)
    ledger = ledger_from_network(network, account, settings=settings)
    pair = network.pair_of(account.address)
    if pair.miner.lower() != account.address.lower():
        raise ConfigError(
            f"{account.address} is a hospital, not a miner",
            fix="use the miner's account (FEDCHAIN_DEVNET_ACCOUNT / keystore)",
        )
    if settings.miner_key_dir is None:
        raise ConfigError(
            "no key directory",
            fix="set FEDCHAIN_MINER_KEY_DIR to the ceremony's "
            "output (`fedchain keys init --out ...`)",
        )
    key_dir = settings.miner_key_dir
    public_key = decode_public_key((key_dir / PUBLIC_KEY_FILE).read_bytes())
    share = decode_key_share((key_dir / share_file_name(pair.index + 1)).read_bytes(), public_key)
    return MinerNode(
        ledger=ledger,
        store=FileBlobStore(settings.blob_dir),
        peers=HttpPeers(settings.peer_urls, account),
        public_key=public_key,
        share=share,
        partial_grace=settings.miner_partial_grace,
        from_block=network.ledger_block,
    )


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default FEDCHAIN_MINER_PORT).")] = None,
    blob_dir: Annotated[Path | None, typer.Option(help="Blob store directory.")] = None,
    key_dir: Annotated[Path | None, typer.Option(help="Key-ceremony directory.")] = None,
    peers: Annotated[str | None, typer.Option(help="Comma-separated peer miner URLs.")] = None,
) -> None:
    """Serve this miner on loopback and follow the chain until stopped."""
    import uvicorn

    from miner.app import create_app

    overrides = {
        k: v
        for k, v in {
            "miner_port": port,
            "miner_blob_dir": blob_dir,
            "miner_key_dir": key_dir,
            "miner_peers": peers,
        }.items()
        if v is not None
    }
    settings = MinerSettings(**overrides)  # type: ignore[arg-type]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    node = build_node(settings)
    uvicorn.run(
        create_app(node, tick_interval=settings.miner_tick),
        host=settings.miner_host,
        port=settings.miner_port,
        log_level="warning",
    )
