"""A real multi-round history on anvil: in-process miners and hospitals, file blob stores.

Each round is opened the operator's way (``plan_from_chain`` / ``open_planned_round``), the
hospitals train (a synthetic target), encrypt and submit, the miners verify, aggregate,
threshold-decrypt and seal. Every miner keeps a ``FileBlobStore`` so the auditor reads the
same directories ``FEDCHAIN_AUDITOR_BLOB_DIRS`` would point at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from web3 import Web3

from benchmarks.chainsetup import align_as_relay
from hospital.round import RoundClient
from hospital.roundlink import InProcessLink
from miner.duties import MinerNode
from miner.intake import submit_update
from node.blobnet import StorePeers
from node.blobstore import FileBlobStore
from node.chain.client import LedgerClient
from node.chain.deploy import deploy_ledger
from node.chain.models import RoundStatus
from node.chain.network import devnet_pair_accounts
from node.crypto import decode_key_share, decode_public_key
from node.crypto.codec import public_key_id
from node.identity import devnet_account
from node.modelspec import ModelSpec
from node.roundopen import open_planned_round, plan_from_chain
from node.roundwire import UpdateReceipt, UpdateSubmission


def _submit(node: MinerNode, signer: str, submission: UpdateSubmission) -> UpdateReceipt:
    return submit_update(node=node, signer=signer, submission=submission)


@dataclass
class BuiltHistory:
    """What the auditor is pointed at, and how long producing each round took."""

    ledger: LedgerClient  # the admin's client (the auditor only reads through it)
    from_block: int
    blob_dirs: list[Path]
    public_key_file: Path
    round_seconds: dict[int, float]  # round -> wall time from openRound to every hospital applied


def build_history(
    w3: Web3,
    pub_blob: bytes,
    share_blobs: list[bytes],
    root: Path,
    *,
    hospitals: int,
    rounds: int,
    n_params: int,
    samples: int = 100,
) -> BuiltHistory:
    """Deploy a fresh ledger and run ``rounds`` sealed rounds; blobs under ``root``."""
    admin, _ = deploy_ledger(
        w3,
        devnet_account(0),
        proposer_timeout=60,
        holdout_reports=hospitals,
        holdout_margin_ppm=50_000,
    )
    from_block = int(w3.eth.block_number)
    pairs = [devnet_pair_accounts(i) for i in range(hospitals)]
    for account in (a for pair in pairs for a in pair):  # anvil funds only accounts 0-9
        w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])  # type: ignore[arg-type]
    for h, m in pairs:
        admin.register_pair(h.address, m.address)
    align_as_relay(admin, [h for h, _ in pairs], samples + hospitals)
    pub = decode_public_key(pub_blob)
    (root / "consortium.pub").write_bytes(pub_blob)
    spec = ModelSpec(
        n_params=n_params,
        public_key_id=public_key_id(pub).hex(),
        value_bits=16,
        clip=1.0,
        max_total_weight=1 << 16,
    )
    dirs = [root / f"miner-{k + 1}" for k in range(hospitals)]
    stores = [FileBlobStore(d) for d in dirs]
    rng = np.random.default_rng(0)
    target = rng.normal(0, 0.1, n_params)

    def trainer(k: int):  # type: ignore[no-untyped-def]
        def train(w: np.ndarray) -> tuple[np.ndarray, int]:
            return 0.5 * (target - w) + rng.normal(0, 0.01, n_params), samples + k

        return train

    def evaluate(w: np.ndarray) -> float:
        return float(np.exp(-np.mean((w - target) ** 2)))

    miners, clients = [], []
    for k, (h, m) in enumerate(pairs):
        node = MinerNode(
            ledger=admin.as_account(m),
            store=stores[k],
            peers=StorePeers([s for j, s in enumerate(stores) if j != k]),
            public_key=pub,
            share=decode_key_share(share_blobs[k], pub),
            partial_grace=30.0,
        )
        miners.append(node)
        link = InProcessLink(h.address, partial(_submit, node), stores[k])
        clients.append(
            RoundClient(
                ledger=admin.as_account(h),
                link=link,
                public_key=pub,
                train=trainer(k),
                evaluate=evaluate,
                from_block=from_block,
            )
        )
    seconds: dict[int, float] = {}
    genesis = np.zeros(n_params, np.float32)
    for _ in range(rounds):
        start = time.perf_counter()
        plan = plan_from_chain(admin, spec=spec, initial_weights=genesis)
        for blob in plan.blobs:  # the operator publishes the spec and genesis to every miner
            for store in stores:
                store.put(blob)
        open_planned_round(admin, plan, deadline_in=3600, min_updates=hospitals)
        r = plan.round_id
        while admin.round(r).status != RoundStatus.SEALED:
            if admin.round(r).status == RoundStatus.REJECTED:
                raise RuntimeError(f"round {r} was rejected")
            for c in clients:
                c.tick()
            for node in miners:
                node.tick()
        while not all(c.model is not None and c.model.round >= r for c in clients):
            for c in clients:
                c.tick()
        seconds[r] = time.perf_counter() - start
    return BuiltHistory(admin, from_block, dirs, root / "consortium.pub", seconds)
