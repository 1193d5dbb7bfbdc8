"""Shared integration fixtures: one anvil for the session, a fresh ledger world per test."""

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
    return Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- federation (miners + hospitals)
import time as _time  # noqa: E402

import numpy as np  # noqa: E402

from node.blobnet import StorePeers  # noqa: E402
from node.blobstore import MemoryBlobStore  # noqa: E402
from node.crypto import decode_key_share, decode_public_key, new_consortium_key  # noqa: E402
from node.crypto.codec import public_key_id  # noqa: E402
from node.fedopt import encode_global_model, initial_model, model_hash  # noqa: E402
from node.modelspec import ModelSpec  # noqa: E402


@pytest.fixture(scope="session")
def consortium_key() -> tuple[bytes, list[bytes]]:
    """A 2-of-3 threshold key with a 512-bit modulus (test size)."""
    return new_consortium_key(miners=3, threshold=2, n_bits=512)


class Task:
    """A toy regression task every hospital shares: metric exp(-|w - w*|^2 / n) in (0, 1]."""

    def __init__(self, n: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.target = rng.normal(0, 0.3, n).astype(np.float32)
        self.n = n

    def evaluate(self, w: np.ndarray) -> float:
        return float(np.exp(-np.sum((w - self.target) ** 2) / self.n))

    def trainer(self, samples: int, *, scale: float = 0.5, seed: int = 0):
        rng = np.random.default_rng(seed)

        def train(w: np.ndarray) -> tuple[np.ndarray, int]:
            noise = rng.normal(0, 0.01, self.n)
            return scale * (self.target - w) + noise, samples

        return train


@dataclass
class Federation:
    """Three in-process miners and hospitals on one fresh ledger."""

    world: LedgerWorld
    miners: list[Any]
    hospitals: list[Any]
    spec: ModelSpec
    spec_hash: str
    genesis_hash: str
    task: Task
    down: set[int]  # miners not running
    offline: set[int]  # hospitals not running

    def open_round(self, round_id: int, *, min_updates: int = 3, deadline_in: int = 3600) -> None:
        sealed = self.world.admin.model_hash().removeprefix("0x")
        prev = self.genesis_hash if int(sealed, 16) == 0 else sealed
        self.world.admin.open_round(
            round_id,
            prev,
            self.world.now() + deadline_in,
            min_updates,
            self.spec_hash,
            self.spec.max_total_weight,
            self.spec.max_updates,
        )

    def tick(self, hospitals: bool = True) -> None:
        for k, m in enumerate(self.miners):
            if k not in self.down:
                m.tick()
        if hospitals:
            for k, h in enumerate(self.hospitals):
                if k not in self.offline:
                    h.tick()

    def drive(
        self, until: Callable[[], bool], *, timeout: float = 60.0, hospitals: bool = True
    ) -> None:
        end = _time.monotonic() + timeout
        while not until():
            if _time.monotonic() > end:
                raise AssertionError("federation did not reach the expected state in time")
            self.tick(hospitals)

    def status(self, round_id: int) -> Any:
        return self.world.admin.round(round_id).status


@pytest.fixture
def make_federation(
    make_world: Callable[..., LedgerWorld], consortium_key: tuple[bytes, list[bytes]]
) -> Callable[..., Federation]:
    from hospital.round import RoundClient
    from hospital.roundlink import InProcessLink
    from miner.duties import MinerNode
    from miner.intake import submit_update

    def build(
        *,
        n_params: int = 40,
        samples: tuple[int, ...] = (30, 50, 70),
        holdout_reports: int = 3,
        margin_ppm: int = 1000,
        timeout: int = 60,
        poison: int | None = None,
        max_total_weight: int = 1 << 20,
        max_share_ppm: int = 500_000,
    ) -> Federation:
        world = make_world(
            3,
            timeout=timeout,
            holdout=(holdout_reports, margin_ppm),
            max_share_ppm=max_share_ppm,
        )
        pub_blob, share_blobs = consortium_key
        pub = decode_public_key(pub_blob)
        spec = ModelSpec(
            n_params=n_params,
            public_key_id=public_key_id(pub).hex(),
            value_bits=16,
            clip=1.0,
            max_total_weight=max_total_weight,
        )
        task = Task(n_params)
        stores = [MemoryBlobStore() for _ in range(3)]
        spec_hash = stores[0].put(spec.canonical())
        genesis = initial_model(np.zeros(n_params, np.float32), spec, spec_hash)
        genesis_hash = stores[0].put(encode_global_model(genesis))
        assert genesis_hash == model_hash(genesis).hex()
        for s in stores[1:]:
            s.put(spec.canonical())
            s.put(encode_global_model(genesis))
        miners = [
            MinerNode(
                ledger=world.miners[k],
                store=stores[k],
                peers=StorePeers([s for j, s in enumerate(stores) if j != k]),
                public_key=pub,
                share=decode_key_share(share_blobs[k], pub),
                partial_grace=0.3,
            )
            for k in range(3)
        ]

        def link(k: int) -> InProcessLink:
            return InProcessLink(
                world.hospitals[k].account.address,
                lambda signer, s: submit_update(node=miners[k], signer=signer, submission=s),
                stores[k],
            )

        hospitals = [
            RoundClient(
                ledger=world.hospitals[k],
                link=link(k),
                public_key=pub,
                train=task.trainer(samples[k], scale=-8.0 if k == poison else 0.5, seed=k),
                evaluate=task.evaluate,
            )
            for k in range(3)
        ]
        return Federation(
            world, miners, hospitals, spec, spec_hash, genesis_hash, task, set(), set()
        )

    return build
