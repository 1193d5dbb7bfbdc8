"""`fedchain up`: the whole local network, a live view of it, stopped cleanly on Ctrl-C/SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from node.cli.demo import interrupt_on_signal, services_table
from node.cli.network import network_table
from node.config import load_settings
from node.netup import Network, NetworkOptions


def _get(url: str) -> dict[str, Any]:
    try:
        reply = httpx.get(url, timeout=2)
        return dict(reply.json()) if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}


def live_table(net: Network) -> Table:
    """Each service's state right now: alive, its round and phase."""
    table = Table(
        title=f"fedchain network ({net.chain.rpc_url if net.chain else 'no chain'}) "
        "— Ctrl-C stops everything"
    )
    for col in ("service", "url", "state", "round", "detail"):
        table.add_column(col)
    for m in net.miners:
        s = _get(m.url + "/status")
        table.add_row(
            m.name,
            m.url,
            "up" if s else ("down" if not m.alive() else "…"),
            str(s.get("current_round", "")),
            f"{s.get('phase', '')}, {s.get('blobs', 0)} blobs" if s else "",
        )
    for h in net.hospitals:
        s = _get(h.url + "/rounds")
        health = _get(h.url + "/health")
        table.add_row(
            h.name,
            h.url,
            "up" if health else ("down" if not h.alive() else "…"),
            str(s.get("current_round", "")),
            f"{health.get('cases', 0)} cases, applied round "
            f"{s.get('applied_round', 0)}, {s.get('phase', '')}"
            + (f" [red]{s['last_error'][:60]}[/]" if s.get("last_error") else ""),
        )
    return table


def up(
    hospitals: Annotated[int, typer.Option(min=2, max=9, help="hospital/miner pairs")] = 3,
    key_bits: Annotated[int, typer.Option(help="consortium Paillier modulus bits")] = 2048,
    cases: Annotated[int, typer.Option(min=30, help="synthetic cases in total")] = 3000,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="where everything lives (default <FEDCHAIN_DATA_DIR>/network)"),
    ] = None,
    refresh: Annotated[float, typer.Option(help="seconds between view refreshes")] = 2.0,
) -> None:
    """Start devnet, ledger, key ceremony, data, N miners and N hospitals; run until Ctrl-C."""
    console = Console()
    root = data_dir or load_settings().data_dir / "network"
    options = NetworkOptions(hospitals=hospitals, key_bits=key_bits, cases=cases)
    previous = signal.signal(signal.SIGTERM, interrupt_on_signal)
    try:
        with Network(root, options, say=lambda s: console.log(f"starting: {s}")) as net:
            assert net.network is not None
            console.print(network_table(net.network))
            console.print(services_table(net))
            console.print(
                f"doctor token: {options.doctor_token}  (Authorization: Bearer …; "
                f"doctor page {net.hospital_urls[0]}/doctor)"
            )
            console.print(
                "open a round: FEDCHAIN_DATA_DIR=... fedchain round open "
                f"--miners {','.join(net.miner_urls)} "
                f"--public-key {net.key_dir / 'consortium.pub'} "
                f"--init-weights {net.genesis_weights}  "
                f"(FEDCHAIN_NETWORK_FILE={net.network_file} "
                f"FEDCHAIN_RPC_URL={net.chain.rpc_url if net.chain else ''})"
            )
            with Live(Group(live_table(net)), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(refresh)
                    live.update(Group(live_table(net)), refresh=True)
    except KeyboardInterrupt:
        console.print(
            "stopped: every service and the devnet (its state dumped to "
            f"{root / 'devnet' / 'state.json'})"
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
