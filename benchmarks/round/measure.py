"""One full encrypted round on a real anvil with in-process miners and hospitals, timed by phase."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import numpy as np
from web3 import Web3

from benchmarks.chainsetup import align_as_relay
from hospital.round import RoundClient
from hospital.roundlink import InProcessLink
from miner.duties import MinerNode
from miner.intake import submit_update
from node.blobnet import StorePeers
from node.blobstore import MemoryBlobStore
from node.chain.deploy import deploy_ledger
from node.chain.models import RoundStatus
from node.chain.network import devnet_pair_accounts
from node.crypto import decode_key_share, decode_public_key
from node.crypto.codec import public_key_id
from node.fedopt import encode_global_model, initial_model
from node.identity import devnet_account
from node.modelspec import ModelSpec


@dataclass
class Clock:
    """Exclusive phase timing: time spent in a nested phase is not counted in its parent.

    Each timed call belongs to a party (a hospital or a miner): ``seconds`` sums a phase over
    every party (all of them ran in this one process), ``by_party`` keeps each party's share
    so the critical path (per phase, the slowest party) can be read as well.
    """

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    by_party: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    gas: int = 0
    txs: int = 0
    gas_by_call: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _stack: list[list[Any]] = field(default_factory=list)

    def _add(self, phase: str, party: str, seconds: float) -> None:
        self.seconds[phase] += seconds
        self.by_party[phase][party] += seconds

    def critical(self, phase: str) -> float:
        """The phase's time on its slowest party (as if every party had its own machine)."""
        return max(self.by_party[phase].values(), default=0.0)

    def wrap(self, phase: str, fn: Callable[..., Any], party: str = "") -> Callable[..., Any]:
        @wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            now = time.perf_counter()
            if self._stack:
                top = self._stack[-1]
                self._add(top[0], top[1], now - top[2])
            self._stack.append([phase, party, now])
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                name, who, start = self._stack.pop()
                self._add(name, who, end - start)
                if self._stack:
                    self._stack[-1][2] = end

        return timed

    def watch_chain(self, sender: Any, party: str = "") -> None:
        transact = self.wrap("chain", sender.transact, party)

        def counted(fn: Any, action: str) -> Any:
            receipt = transact(fn, action)
            self.gas += int(receipt["gasUsed"])
            self.gas_by_call[action.split("(")[0]].append(int(receipt["gasUsed"]))
            self.txs += 1
            return receipt

        sender.transact = counted


def run_round(
    w3: Web3,
    pub_blob: bytes,
    share_blobs: list[bytes],
    *,
    hospitals: int,
    n_params: int,
    samples: int = 100,
) -> tuple[Clock, float, float, bytes]:
    """Deploy, register, run round 1 to the seal.

    Returns (clock, wall seconds, plaintext FedAvg seconds, the round's aggregate blob).
    """
    admin, _ = deploy_ledger(
        w3,
        devnet_account(0),
        proposer_timeout=60,
        holdout_reports=hospitals,
        holdout_margin_ppm=1000,
    )
    pairs = [devnet_pair_accounts(i) for i in range(hospitals)]
    for account in (a for pair in pairs for a in pair):  # anvil funds only accounts 0-9
        w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])  # type: ignore[arg-type]
    for h, m in pairs:
        admin.register_pair(h.address, m.address)
    align_as_relay(admin, [h for h, _ in pairs], samples + hospitals)
    pub = decode_public_key(pub_blob)
    spec = ModelSpec(
        n_params=n_params,
        public_key_id=public_key_id(pub).hex(),
        value_bits=16,
        clip=1.0,
        max_total_weight=1024,
    )
    stores = [MemoryBlobStore() for _ in range(hospitals)]
    spec_hash = stores[0].put(spec.canonical())
    genesis = encode_global_model(initial_model(np.zeros(n_params, np.float32), spec, spec_hash))
    genesis_hash = stores[0].put(genesis)
    for s in stores[1:]:
        s.put(spec.canonical())
        s.put(genesis)
    clock = Clock()
    rng = np.random.default_rng(0)
    target = rng.normal(0, 0.1, n_params)
    deltas = []

    def trainer(k: int):
        def train(w: np.ndarray) -> tuple[np.ndarray, int]:
            d = 0.5 * (target - w) + rng.normal(0, 0.01, n_params)
            deltas.append((d, samples + k))
            return d, samples + k

        return clock.wrap("train", train, f"hospital {k}")

    def evaluate(w: np.ndarray) -> float:
        return float(np.exp(-np.mean((w - target) ** 2)))

    miners, clients = [], []
    for k, (h, m) in enumerate(pairs):
        mledger, hledger = admin.as_account(m), admin.as_account(h)
        hp, mp = f"hospital {k}", f"miner {k}"
        clock.watch_chain(mledger.sender, mp)
        clock.watch_chain(hledger.sender, hp)
        node = MinerNode(
            ledger=mledger,
            store=stores[k],
            peers=StorePeers([s for j, s in enumerate(stores) if j != k]),
            public_key=pub,
            share=decode_key_share(share_blobs[k], pub),
            partial_grace=30.0,
        )
        node.verify_pending = clock.wrap("verify", node.verify_pending, mp)  # type: ignore[method-assign]
        node.pack_if_chosen = clock.wrap("aggregate", node.pack_if_chosen, mp)  # type: ignore[method-assign]
        node.attest = clock.wrap("aggregate", node.attest, mp)  # type: ignore[method-assign]
        node.decrypt = clock.wrap("decrypt", node.decrypt, mp)  # type: ignore[method-assign]
        node.seal_if_due = clock.wrap("decrypt", node.seal_if_due, mp)  # type: ignore[method-assign]
        miners.append(node)
        link = InProcessLink(
            h.address,
            lambda s_, sub, node=node: submit_update(node=node, signer=s_, submission=sub),
            stores[k],
        )
        client = RoundClient(
            ledger=hledger, link=link, public_key=pub, train=trainer(k), evaluate=evaluate
        )
        client.make_submission = clock.wrap("encrypt", client.make_submission, hp)  # type: ignore[method-assign]
        client.report_holdout = clock.wrap("decrypt", client.report_holdout, hp)  # type: ignore[method-assign]
        clients.append(client)
    clock.watch_chain(admin.sender, "operator")
    now = int(w3.eth.get_block("latest")["timestamp"])
    start = time.perf_counter()
    admin.open_round(1, genesis_hash, now + 3600, hospitals, spec_hash, spec.max_total_weight)
    while admin.round(1).status != RoundStatus.SEALED:
        for c in clients:
            c.tick()
        for node in miners:
            node.tick()
    while not all(c.model is not None for c in clients):
        for c in clients:
            c.tick()
    wall = time.perf_counter() - start
    t0 = time.perf_counter()
    total = sum(n for _, n in deltas)
    plain = sum(d * n for d, n in deltas) / total  # the plaintext FedAvg baseline
    plain_seconds = time.perf_counter() - t0
    err = float(np.max(np.abs(clients[0].model.weights - plain.astype(np.float32))))
    clock.seconds["max |encrypted - plaintext|"] = err
    return clock, wall, plain_seconds, stores[0].get(admin.round(1).aggregate_hash)
