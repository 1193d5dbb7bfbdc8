"""Integration fixtures: in-process federations of miners and hospitals on the session anvil.

The chain fixtures (``devnet``, ``w3``, ``make_world``, ``world``) live in tests/conftest.py.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from node.blobnet import StorePeers
from node.blobstore import MemoryBlobStore
from node.crypto import decode_key_share, decode_public_key, new_consortium_key
from node.crypto.codec import public_key_id
from node.fedopt import encode_global_model, initial_model, model_hash
from node.modelspec import ModelSpec
from tests.conftest import LedgerWorld  # noqa: F401  (re-exported for audit_world)


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
