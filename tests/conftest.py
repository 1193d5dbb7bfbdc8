"""Fixtures every test package shares: one anvil for the session, a fresh ledger world per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.client import LedgerClient
from node.chain.connect import connect
from node.chain.deploy import deploy_ledger
from node.chain.devnet import Devnet, DevnetInfo
from node.chain.network import devnet_pair_accounts
from node.identity import devnet_account


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetInfo]:
    """One anvil for the whole session, stopped by PID at the end."""
    chain = Devnet(tmp_path_factory.mktemp("devnet"), state_interval=3600)
    info = chain.start()
    try:
        yield info
    finally:
        chain.stop()


@pytest.fixture(scope="session")
def w3(devnet: DevnetInfo) -> Web3:
    return connect(devnet.rpc_url)


@dataclass
class LedgerWorld:
    """A freshly deployed ledger with ``n`` registered pairs and a client per account."""

    w3: Web3
    admin: LedgerClient
    hospitals: list[LedgerClient]
    miners: list[LedgerClient]
    outsider: LedgerClient
    timeout: int

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return self.w3.provider.make_request(method, params or [])["result"]  # type: ignore[arg-type]

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine")

    def open_round(
        self,
        round_id: int = 1,
        *,
        min_updates: int | None = None,
        deadline_in: int = 3600,
        prev: bytes = b"\x01" * 32,
        max_updates: int = 16,
    ) -> None:
        self.admin.open_round(
            round_id,
            prev,
            self.now() + deadline_in,
            min_updates or len(self.hospitals),
            b"\x02" * 32,
            max_updates=max_updates,
        )

    def align(self, k: int, shared_size: int, unique_ppm: int = 1_000_000, *, run: int = 1) -> Any:
        """Hospital k signs its alignment outcome; the admin (its relay) records it."""
        h = self.hospitals[k]
        digest = bytes([k + 1]) * 32
        signature = h.sign_alignment(run, digest, shared_size, unique_ppm)
        return self.admin.record_alignment(
            h.account.address, run, digest, shared_size, unique_ppm, signature
        )

    def propose(
        self, k: int, round_id: int = 1, samples: int = 100, blob: bytes | None = None
    ) -> int:
        blob = blob or os.urandom(32)
        signature = self.hospitals[k].sign_update(round_id, blob, samples)
        uid, _ = self.miners[k].propose_update(
            self.hospitals[k].account.address, round_id, blob, samples, signature
        )
        return uid

    def accept_all(self, round_id: int = 1, samples: list[int] | None = None) -> list[int]:
        """Every hospital proposes; every miner approves the others' updates in one batch."""
        n = len(self.hospitals)
        samples = samples or [100 + 10 * k for k in range(n)]
        ids = [self.propose(k, round_id, samples[k]) for k in range(n)]
        for j in range(n):
            self.miners[j].approve_updates([u for k, u in enumerate(ids) if k != j])
        return ids

    def packer_for(self, round_id: int) -> LedgerClient:
        address = self.admin.proposer_at(round_id, 0)
        return next(m for m in self.miners if m.account.address == address)


def _accounts(n: int) -> tuple[list[LocalAccount], list[LocalAccount]]:
    pairs = [devnet_pair_accounts(i) for i in range(n)]
    return [h for h, _ in pairs], [m for _, m in pairs]


@pytest.fixture
def make_world(w3: Web3) -> Iterator[Callable[..., LedgerWorld]]:
    """Build ledger worlds inside an evm snapshot that is reverted after the test."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]

    def build(
        n: int = 4,
        *,
        rates: tuple[int, int, int] = (1, 10, 50),
        timeout: int = 60,
        holdout: tuple[int, int] = (0, 0),
        max_share_ppm: int = 1_000_000,
        aligned: int | None = 10_000,
    ) -> LedgerWorld:
        """``aligned``: the shared size every hospital is recorded with (None: not aligned)."""
        admin_account = devnet_account(0)
        admin, _ = deploy_ledger(
            w3,
            admin_account,
            hospital_rate=rates[0],
            verifier_rate=rates[1],
            packer_rate=rates[2],
            proposer_timeout=timeout,
            holdout_reports=holdout[0],
            holdout_margin_ppm=holdout[1],
            max_share_ppm=max_share_ppm,
        )
        hospitals, miners = _accounts(n)
        for h, m in zip(hospitals, miners, strict=True):
            admin.register_pair(h.address, m.address)
        world = LedgerWorld(
            w3=w3,
            admin=admin,
            hospitals=[admin.as_account(a) for a in hospitals],
            miners=[admin.as_account(a) for a in miners],
            outsider=admin.as_account(devnet_account(9)),
            timeout=timeout,
        )
        if aligned is not None:
            for k in range(n):
                world.align(k, aligned)
        return world

    yield build
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def world(make_world: Callable[..., LedgerWorld]) -> LedgerWorld:
    """Four pairs (quorum 3), rates 1/10/50, proposer timeout 60 s."""
    return make_world(4)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
