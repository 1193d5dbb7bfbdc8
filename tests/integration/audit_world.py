"""A three-round history on its own anvil for the auditor's tests (helpers, not tests).

Round 1 is honest and seals. In round 2 a rogue miner proposes a malformed update for
hospital 0 (the other miners reject it; it is refused) and hospital 0's honest retry is
refused at the edge as a duplicate; the other two seal the round. In round 3 hospital 2
sends a poisoned update and the hold-out check rejects the round.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn

from hospital.round import RoundClient
from hospital.roundlink import InProcessLink
from miner.app import create_app as create_miner_app
from miner.duties import MinerNode
from miner.intake import submit_update
from node.blobnet import StorePeers
from node.blobstore import FileBlobStore, blob_hash
from node.chain.connect import connect
from node.chain.deploy import deploy_ledger
from node.chain.devnet import Devnet, free_port
from node.chain.models import RoundStatus
from node.chain.network import NetworkFile, PairEntry, devnet_pair_accounts
from node.crypto import decode_key_share, decode_public_key, read_update
from node.crypto.codec import encode_update, public_key_id
from node.fedopt import encode_global_model, initial_model
from node.identity import devnet_account
from node.modelspec import ModelSpec
from tests.integration.conftest import (  # type: ignore[import-not-found]
    Federation,
    LedgerWorld,
    Task,
)

SAMPLES = (30, 50, 70)


@dataclass
class AuditWorld:
    """The federation, its devnet, the miners' blob directories and the public-key file."""

    fed: Federation
    devnet: Devnet
    blob_dirs: list[Path]
    public_key_file: Path
    genesis_hash: str

    @property
    def ledger(self):  # noqa: ANN201 - the admin's LedgerClient
        return self.fed.world.admin


def _federation(devnet: Devnet, root: Path, key: tuple[bytes, list[bytes]]) -> Federation:
    w3 = connect(devnet.status().rpc_url)  # type: ignore[union-attr]
    admin, _ = deploy_ledger(
        w3,
        devnet_account(0),
        hospital_rate=1,
        verifier_rate=10,
        packer_rate=50,
        proposer_timeout=60,
        holdout_reports=3,
        holdout_margin_ppm=1000,
        max_share_ppm=500_000,
    )
    pairs = [devnet_pair_accounts(i) for i in range(3)]
    for h, m in pairs:
        admin.register_pair(h.address, m.address)
    world = LedgerWorld(
        w3=w3,
        admin=admin,
        hospitals=[admin.as_account(h) for h, _ in pairs],
        miners=[admin.as_account(m) for _, m in pairs],
        outsider=admin.as_account(devnet_account(9)),
        timeout=60,
    )
    for k in range(3):
        world.align(k, 10_000)
    pub_blob, shares = key
    pub = decode_public_key(pub_blob)
    spec = ModelSpec(n_params=40, public_key_id=public_key_id(pub).hex(), value_bits=16, clip=1.0)
    task = Task(40)
    stores = [FileBlobStore(root / f"miner-{k}") for k in range(3)]
    genesis = initial_model(np.zeros(40, np.float32), spec, blob_hash(spec.canonical()))
    for s in stores:
        spec_hash = s.put(spec.canonical())
        genesis_hash = s.put(encode_global_model(genesis))
    miners = [
        MinerNode(
            ledger=world.miners[k],
            store=stores[k],
            peers=StorePeers([s for j, s in enumerate(stores) if j != k]),
            public_key=pub,
            share=decode_key_share(shares[k], pub),
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
            train=task.trainer(SAMPLES[k], seed=k),
            evaluate=task.evaluate,
        )
        for k in range(3)
    ]
    return Federation(world, miners, hospitals, spec, spec_hash, genesis_hash, task, set(), set())


def _rogue_proposal(fed: Federation) -> None:
    """Miner 0 skips its checks and proposes hospital 0's update with a ciphertext set to 0."""
    h = fed.hospitals[0]
    h.view.catch_up(h.ledger)
    r = h.view.rounds[h.view.current_round]
    pub = fed.miners[0].public_key
    update = read_update(h.make_submission(r).blob(), pub)
    blob = encode_update(dataclasses.replace(update, ciphertexts=(0, *update.ciphertexts[1:])), pub)
    digest = fed.miners[0].publish(blob)
    signature = fed.world.hospitals[0].sign_update(r.round, digest, SAMPLES[0])
    fed.world.miners[0].propose_update(
        fed.world.hospitals[0].account.address, r.round, digest, SAMPLES[0], signature
    )


def build_audit_world(root: Path, key: tuple[bytes, list[bytes]]) -> AuditWorld:
    """Start an anvil with a state file under ``root`` and run the three rounds on it."""
    devnet = Devnet(root / "devnet", state_interval=1)
    devnet.start()
    try:
        fed = _federation(devnet, root, key)
        fed.open_round(1)
        fed.drive(lambda: fed.status(1) == RoundStatus.SEALED)
        fed.open_round(2, min_updates=2)
        _rogue_proposal(fed)
        fed.drive(lambda: fed.status(2) == RoundStatus.SEALED)
        fed.hospitals[2].train = fed.task.trainer(SAMPLES[2], scale=-8.0, seed=2)
        fed.open_round(3)
        fed.drive(lambda: fed.status(3) == RoundStatus.REJECTED)
    except BaseException:
        devnet.stop()
        raise
    pub_file = root / "consortium.pub"
    pub_file.write_bytes(key[0])
    return AuditWorld(
        fed, devnet, [root / f"miner-{k}" for k in range(3)], pub_file, fed.genesis_hash
    )


# ---------------------------------------------------------------- helpers for the audit tests
@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Run an ASGI app on a free loopback port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > end or not thread.is_alive():
            raise AssertionError("service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def miner_services(world: AuditWorld) -> Iterator[list[str]]:
    """Each in-process miner behind its real HTTP routes (no chain watcher)."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(serve_app(create_miner_app(m, tick_interval=None)))
            for m in world.fed.miners
        ]


@contextmanager
def tampered(path: Path, data: bytes) -> Iterator[Path]:
    """Replace a file's bytes for the duration of the block, then put the original back."""
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.write_bytes(original)


def blob_path(blob_dir: Path, digest: str) -> Path:
    """Where a FileBlobStore keeps ``digest``."""
    return blob_dir / digest[:2] / digest


def write_network_file(world: AuditWorld, path: Path) -> Path:
    """The network file an auditor reads (chain, ledger, pairs)."""
    admin = world.ledger
    rates = admin.rates()
    network = NetworkFile(
        chain_id=int(admin.w3.eth.chain_id),
        rpc_url=world.devnet.status().rpc_url,  # type: ignore[union-attr]
        ledger_address=admin.address,
        ledger_block=0,
        admin=admin.account.address,
        quorum=admin.quorum(),
        proposer_timeout=admin.proposer_timeout(),
        hospital_rate=rates.hospital_rate,
        verifier_rate=rates.verifier_rate,
        packer_rate=rates.packer_rate,
        pairs=[
            PairEntry(index=k, hospital=h.account.address, miner=m.account.address)
            for k, (h, m) in enumerate(
                zip(world.fed.world.hospitals, world.fed.world.miners, strict=True)
            )
        ],
    )
    return network.save(path)
