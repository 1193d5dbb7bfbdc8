"""A real local network for the attacks: anvil, three miners, three hospitals, on loopback.

One network serves a whole test module (starting it costs most of the time); each test runs
its own round with at most one insider swapped for the same service run by
``tests.adversarial.rogue`` with one behaviour changed, and swapped back afterwards.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from node.chain.client import LedgerClient
from node.chain.events import LedgerEvent
from node.chain.models import RoundInfo, RoundStatus
from node.cli.demo import align
from node.cli.round import admin_ledger
from node.identity import devnet_account
from node.netup import Network, NetworkOptions
from tests.adversarial.rogue import launcher

#: Small and fast, but every part real: 512-bit keys are a devnet-only size.
OPTIONS = NetworkOptions(
    hospitals=3, key_bits=512, cases=300, proposer_timeout=6, fallback_after=8.0
)


@dataclass
class Attackable:
    """The running network, its admin's ledger client and a console that records."""

    net: Network
    ledger: LedgerClient

    def client_of(self, devnet_index: int) -> LedgerClient:
        """The ledger seen by a devnet account (to act as one insider directly)."""
        return self.ledger.as_account(devnet_account(devnet_index))

    def miner_client(self, k: int) -> LedgerClient:
        """Pair ``k``'s miner account."""
        assert self.net.network is not None
        return self.client_of(self.net.network.pairs[k].miner_devnet_index or 0)

    def next_packer(self) -> int:
        """The pair index of the miner the rotation designates for the next round."""
        address = self.ledger.proposer_at(self.ledger.current_round() + 1, 0)
        return self.ledger.member(address).index

    def events(self, name: str, round_id: int | None = None) -> list[LedgerEvent]:
        """Ledger events named ``name`` (of ``round_id`` where they carry one)."""
        found = self.ledger.events(names={name})
        return [e for e in found if round_id is None or getattr(e, "round", round_id) == round_id]

    def run_round(self, *, timeout: float = 240.0, min_updates: int | None = None) -> RoundInfo:
        """Open the next round and wait until it is sealed (and applied) or rejected."""
        plan = self.net.open_round(min_updates=min_updates)
        return self.wait(plan.round_id, timeout=timeout)

    def wait(self, r: int, *, timeout: float = 240.0) -> RoundInfo:
        """Wait until round ``r`` is sealed (and applied by the active hospitals) or rejected."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            info = self.ledger.round(r)
            if info.status is RoundStatus.REJECTED:
                return info
            active = [self.net.hospitals[k] for k in self.ledger.active_indexes()]
            if info.status is RoundStatus.SEALED and all(_applied(h.url) >= r for h in active):
                return info
            time.sleep(0.5)
        raise AssertionError(f"round {r} neither sealed nor rejected in {timeout:.0f} s")

    def realign(self, run: int) -> None:
        """Run the pathology alignment again (run ``run``); the relay records the receipts."""
        align(self.net, Console(file=io.StringIO()), run=run)

    @contextmanager
    def rogue_miner(self, k: int, behaviour: str) -> Iterator[Path]:
        """Pair ``k``'s miner replaced by the rogue; yields its log; honest again after."""
        self.net.kill_miner(k)
        child = self.net.restart_miner(k, launcher=launcher(behaviour))
        try:
            yield child.log
        finally:
            self.net.kill_miner(k)
            self.net.restart_miner(k)

    @contextmanager
    def rogue_hospital(self, k: int, behaviour: str) -> Iterator[Path]:
        """Pair ``k``'s hospital replaced by the rogue; yields its log; honest again after."""
        self.net.kill_hospital(k)
        child = self.net.restart_hospital(k, launcher=launcher(behaviour))
        try:
            yield child.log
        finally:
            self.net.kill_hospital(k)
            self.net.restart_hospital(k)


def _applied(url: str) -> int:
    try:
        return int(httpx.get(url + "/rounds", timeout=5).json().get("applied_round", 0))
    except (httpx.HTTPError, ValueError):
        return 0


@contextmanager
def attackable_network(
    root: Path, options: NetworkOptions = OPTIONS, *, aligned: bool = True
) -> Iterator[Attackable]:
    """Start the network, align the hospitals (recorded by the admin as relay), yield it."""
    with Network(root, options) as net:
        _, ledger = admin_ledger(net.settings(devnet_account=0))
        network = Attackable(net, ledger)
        if aligned:
            network.realign(1)
        yield network
