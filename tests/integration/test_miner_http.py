"""Three real miner processes (uvicorn) and three HTTP round clients on a real anvil."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from web3.exceptions import Web3RPCError

from hospital.round import RoundClient
from hospital.roundlink import HttpLink
from node.blobnet import HttpPeers
from node.chain.devnet import free_port
from node.chain.models import RoundStatus
from node.chain.network import NetworkFile, PairEntry
from node.cli.keys import write_ceremony
from node.crypto import decode_public_key
from node.crypto.codec import public_key_id
from node.fedopt import encode_global_model, initial_model
from node.modelspec import ModelSpec
from node.roundwire import ReceiptStatus
from tests.integration.conftest import Task  # type: ignore[import-not-found]

FEDCHAIN = Path(sys.executable).with_name("fedchain")


class MinerProcess:
    """One `fedchain miner serve` process, stopped by PID."""

    def __init__(self, k: int, env: dict[str, str], log: Path) -> None:
        self.k, self.env, self.log = k, env, log
        self.url = f"http://127.0.0.1:{env['FEDCHAIN_MINER_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(FEDCHAIN), "miner", "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"miner {self.k} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/status", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"miner {self.k} did not come up")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def status(self) -> dict:
        return httpx.get(f"{self.url}/status", timeout=5).json()


@pytest.fixture
def http_federation(make_world, consortium_key, devnet, tmp_path):
    world = make_world(3, timeout=4, holdout=(3, 1000), max_share_ppm=500_000)
    pub_blob, shares = consortium_key
    write_ceremony(tmp_path / "keys", pub_blob, shares)
    network = NetworkFile(
        chain_id=int(world.w3.eth.chain_id),
        rpc_url=devnet.rpc_url,
        ledger_address=world.admin.address,
        ledger_block=0,
        admin=world.admin.account.address,
        quorum=world.admin.quorum(),
        proposer_timeout=4,
        hospital_rate=1,
        verifier_rate=10,
        packer_rate=50,
        pairs=[
            PairEntry(
                index=k,
                hospital=world.hospitals[k].account.address,
                miner=world.miners[k].account.address,
                hospital_devnet_index=2 * k + 1,
                miner_devnet_index=2 * k + 2,
            )
            for k in range(3)
        ],
    )
    network_file = network.save(tmp_path / "network.json")
    ports = [free_port() for _ in range(3)]
    miners = []
    for k in range(3):
        env = {
            **os.environ,
            "FEDCHAIN_NETWORK_FILE": str(network_file),
            "FEDCHAIN_DATA_DIR": str(tmp_path / f"m{k}"),
            "FEDCHAIN_RPC_URL": devnet.rpc_url,
            "FEDCHAIN_DEVNET_ACCOUNT": str(2 * k + 2),
            "FEDCHAIN_MINER_PORT": str(ports[k]),
            "FEDCHAIN_MINER_KEY_DIR": str(tmp_path / "keys"),
            "FEDCHAIN_MINER_TICK": "0.2",
            "FEDCHAIN_MINER_PARTIAL_GRACE": "1",
            "FEDCHAIN_MINER_PEERS": ",".join(
                f"http://127.0.0.1:{p}" for j, p in enumerate(ports) if j != k
            ),
        }
        miners.append(MinerProcess(k, env, tmp_path / f"miner{k}.log"))
    try:
        for m in miners:
            m.start()
        yield world, miners
    finally:
        for m in miners:
            m.kill(signal.SIGTERM)


def test_rounds_over_http_survive_a_killed_miner_and_its_restart(http_federation, consortium_key):
    world, miners = http_federation
    pub = decode_public_key(consortium_key[0])
    spec = ModelSpec(n_params=30, public_key_id=public_key_id(pub).hex())
    task = Task(30)
    publisher = HttpPeers([m.url for m in miners], world.admin.account)
    spec_hash = publisher_put(publisher, spec.canonical())
    genesis = encode_global_model(initial_model(np.zeros(30, np.float32), spec, spec_hash))
    genesis_hash = publisher_put(publisher, genesis)
    clients = [
        RoundClient(
            ledger=world.hospitals[k],
            link=HttpLink(miners[k].url, world.hospitals[k].account),
            public_key=pub,
            train=task.trainer(20 + k, seed=k),
            evaluate=task.evaluate,
        )
        for k in range(3)
    ]

    def drive(until, timeout=90.0, skip=()):
        end = time.monotonic() + timeout
        while True:
            try:  # anvil may answer a call racing a block being mined with a range error
                if until():
                    return
                for k, c in enumerate(clients):
                    if k not in skip:
                        c.tick()
                # anvil (automine) makes blocks only for transactions; a consortium chain
                # makes them on a timer, which time-based rules (hold-out window) rely on
                world.rpc("evm_mine")
            except Web3RPCError as exc:
                print("transient RPC error, retrying:", exc)
            assert time.monotonic() < end, (
                f"round did not progress in time: {world.admin.round(world.admin.current_round())}"
            )
            time.sleep(0.2)

    # round 1: honest, over HTTP, every hospital applies the sealed model
    world.admin.open_round(1, genesis_hash, world.now() + 600, 3, spec_hash)
    drive(lambda: all(c.model is not None for c in clients))
    assert all(c.receipts[1].status is ReceiptStatus.PROPOSED for c in clients)
    assert world.admin.model_hash().removeprefix("0x") == clients[0].view.rounds[1].sealed_hash

    # round 2: a non-packer miner is killed after the commit; t = 2 of 3 still decrypt
    world.admin.open_round(2, world.admin.model_hash(), world.now() + 600, 3, spec_hash)
    drive(lambda: world.admin.round(2).status == RoundStatus.COMMITTED)
    victim = next(k for k in range(3) if k != world.admin.round(2).packer)
    miners[victim].kill()
    drive(lambda: world.admin.round(2).status == RoundStatus.SEALED, skip={victim})

    # the victim restarts on its blob store, catches up from the chain, and works round 3
    miners[victim].start()
    deadline = time.monotonic() + 30
    while miners[victim].status()["current_round"] != 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    world.admin.open_round(3, world.admin.model_hash(), world.now() + 600, 3, spec_hash)
    drive(
        lambda: (
            all(
                c.model is not None and c.model.round == 3
                for c in clients
                if c is not clients[victim]
            )
            and world.admin.round(3).status == RoundStatus.SEALED
        )
    )
    me = world.miners[victim].account.address
    assert any(
        e.miner == me and e.update_id >> 16 == 3
        for e in world.admin.events(names={"UpdateApproved"})
    )


def publisher_put(peers: HttpPeers, blob: bytes) -> str:
    from node.blobstore import blob_hash

    assert peers.push(blob) == len(peers.urls)
    return blob_hash(blob)
