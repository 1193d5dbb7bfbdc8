"""`fedchain round open|status`: the operator publishes a round's spec and start model, opens it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from node.blobnet import HttpPeers
from node.chain.client import LedgerClient
from node.chain.connect import ledger_from_network
from node.chain.network import NetworkFile
from node.config import Settings, load_settings
from node.crypto import decode_public_key
from node.crypto.codec import public_key_id
from node.errors import ConfigError, ValidationFailed
from node.identity import load_identity
from node.modelspec import ModelSpec, ServerOptimiser
from node.roundopen import RoundPlan, open_planned_round, plan_from_chain, publish

app = typer.Typer(
    name="round", help="Open and follow training rounds (operator).", no_args_is_help=True
)


@app.callback()
def _group() -> None:
    """Open and follow training rounds (operator)."""


def admin_ledger(settings: Settings) -> tuple[NetworkFile, LedgerClient]:
    """The network file and a ledger client as the admin (devnet account 0 by default)."""
    network = NetworkFile.load(settings.resolved_network_file)
    if settings.devnet_account is None and settings.keystore is None:
        settings = settings.model_copy(update={"devnet_account": 0})
    account = load_identity(settings, network.chain_id)
    if account.address.lower() != network.admin.lower():
        raise ConfigError(
            f"{account.address} is not the network's admin {network.admin}",
            fix="use the admin's keystore or FEDCHAIN_DEVNET_ACCOUNT",
        )
    return network, ledger_from_network(network, account, settings=settings)


def load_weights(path: Path) -> np.ndarray:
    """A flat float32 weight vector from a .npy file, refused with the field named."""
    try:
        weights = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValidationFailed(
            f"{path}: not a .npy array ({exc})",
            field="--init-weights",
            fix="write it with numpy.save (float32, one dimension)",
        ) from exc
    return np.ascontiguousarray(weights, dtype=np.float32).ravel()


def spec_for(
    public_key_file: Path,
    n_params: int,
    *,
    optimiser: ServerOptimiser,
    server_lr: float,
    clip: float,
) -> ModelSpec:
    """The round's ModelSpec for the consortium key in ``public_key_file``."""
    public_key = decode_public_key(public_key_file.read_bytes())
    return ModelSpec(
        n_params=n_params,
        public_key_id=public_key_id(public_key).hex(),
        optimiser=optimiser,
        server_lr=server_lr,
        clip=clip,
    )


def open_next_round(
    settings: Settings,
    miner_urls: list[str],
    *,
    public_key: Path | None,
    init_weights: Path | None,
    deadline_in: int,
    min_updates: int | None,
    optimiser: ServerOptimiser = ServerOptimiser.FEDAVG,
    server_lr: float = 1.0,
    clip: float = 1.0,
) -> RoundPlan:
    """Plan the next round from the chain, publish its blobs to every miner, open it."""
    network, ledger = admin_ledger(settings)
    weights = load_weights(init_weights) if init_weights is not None else None
    spec = None
    if public_key is not None and weights is not None:
        spec = spec_for(
            public_key, weights.size, optimiser=optimiser, server_lr=server_lr, clip=clip
        )
    plan = plan_from_chain(ledger, spec=spec, initial_weights=weights)
    if not miner_urls:
        raise ConfigError(
            "no miner URLs to publish the round's blobs to",
            fix="pass --miners or set FEDCHAIN_ROUND_MINERS",
        )
    publish(plan, HttpPeers(miner_urls, ledger.account, timeout=30.0), miners=len(miner_urls))
    open_planned_round(
        ledger, plan, deadline_in=deadline_in, min_updates=min_updates or len(network.pairs)
    )
    return plan


@app.command("open")
def open_cmd(
    miners: Annotated[
        str, typer.Option(envvar="FEDCHAIN_ROUND_MINERS", help="Comma-separated miner URLs.")
    ],
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="Consortium public key file (consortium.pub); with --init-weights for round 1."
        ),
    ] = None,
    init_weights: Annotated[
        Path | None,
        typer.Option(help="Flat float32 .npy initial model (needed until a round has sealed)."),
    ] = None,
    deadline: Annotated[int, typer.Option(help="Seconds hospitals have to propose.")] = 600,
    min_updates: Annotated[
        int | None, typer.Option(help="Updates the round needs (default: every pair).")
    ] = None,
    optimiser: Annotated[
        ServerOptimiser, typer.Option(help="Server optimiser.")
    ] = ServerOptimiser.FEDAVG,
    server_lr: Annotated[float, typer.Option(help="Server learning rate.")] = 1.0,
) -> None:
    """Publish the round's spec (and genesis model) to the miners, then openRound."""
    plan = open_next_round(
        load_settings(),
        [u.strip() for u in miners.split(",") if u.strip()],
        public_key=public_key,
        init_weights=init_weights,
        deadline_in=deadline,
        min_updates=min_updates,
        optimiser=optimiser,
        server_lr=server_lr,
    )
    Console().print(
        f"round {plan.round_id} open: start model {plan.prev_model_hash[:12]}… "
        f"spec {plan.spec_hash[:12]}…" + (" (genesis published)" if plan.genesis else "")
    )


@app.command()
def status() -> None:
    """The current round and its phase, and the last sealed model hash."""
    _, ledger = admin_ledger(load_settings())
    current = ledger.current_round()
    if current == 0:
        Console().print("no round opened yet")
        return
    info = ledger.round(current)
    Console().print(
        f"round {current}: {info.status.name.lower()}, {info.proposed} proposed, "
        f"{info.accepted} accepted; sealed model {ledger.model_hash()[:14]}…"
    )
