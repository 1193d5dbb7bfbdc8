"""Start fedchain services as real processes on free loopback ports; stop them by PID."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # the network modules are imported only by the tests that start one
    from node.chain.client import LedgerClient
    from node.netup import Network

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def fedchain_service(
    args: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str],
    log: Path,
    health: str = "/health",
    timeout: float = 60.0,
) -> Iterator[Service]:
    """Run `fedchain <args>` until its ``health`` answers 200; terminate it by PID afterwards."""
    full_env = {**os.environ, **env}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "node.cli.app", *args],
            cwd=REPO,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    service = Service(f"http://127.0.0.1:{port}", process, log)
    try:
        end = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"`fedchain {' '.join(args)}` exited:\n{service.output()}")
            try:
                if httpx.get(service.url + health, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > end:
                raise TimeoutError(f"{service.url}{health} not ready:\n{service.output()}")
            time.sleep(0.2)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed_synthetic_cases(database_url: str, cases: int) -> int:
    """Put ``cases`` synthetic cases into the EMR database unless it has them; return the count."""
    from hospital.datagen.generate import synthetic_cases
    from hospital.emr.store import NewCase, open_store

    store = open_store(database_url)
    try:
        if store.count() < cases:
            new = [
                NewCase(case=c, source="synthetic", ref=c.case_id or "")
                for c in synthetic_cases(cases)
            ]
            store.add_cases(new)
        return store.count()
    finally:
        store.close()


@contextmanager
def diagnosis_server(
    log: Path,
    *,
    tokens: Sequence[str],
    cases: int = 600,
    database_url: str | None = None,
    workers: int = 1,
) -> Iterator[Service]:
    """`fedchain diagnosis serve` on a free port: the synthetic demo library in memory, or
    ``database_url`` (seeded with synthetic cases first) in ``workers`` processes."""
    port = free_port()
    args = ["diagnosis", "serve", "--port", str(port), "--demo-cases", str(cases)]
    args += ["--workers", str(workers), "--no-access-log"]
    if database_url is not None:
        seed_synthetic_cases(database_url, cases)
        args += ["--database", database_url]
    env = {"FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS": json.dumps(list(tokens))}
    with fedchain_service(args, port=port, env=env, log=log, health="/doctor", timeout=120) as s:
        yield s


def get_json(url: str) -> dict[str, Any]:
    """The JSON object at ``url``, or {} while the service is down or answers otherwise."""
    try:
        reply = httpx.get(url, timeout=5)
        return dict(reply.json()) if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 0.5) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"not within {timeout:.0f} s: {what}"
        time.sleep(every)


@contextmanager
def aligned_network(data_dir: Path) -> Iterator[tuple[Network, LedgerClient]]:
    """(network, admin ledger client) of a running 3-hospital network whose samples are
    aligned: the set-up of the tests that kill or restart a hospital around a round."""
    import io

    from rich.console import Console

    from node.cli.demo import align
    from node.cli.round import admin_ledger
    from node.netup import Network, NetworkOptions  # noqa: F811 - the runtime import

    options = NetworkOptions(
        hospitals=3,
        key_bits=1024,
        cases=240,
        train={"epochs": 4, "batch_size": 16, "optimizer": "adam", "lr": 0.005},
    )
    with Network(data_dir, options) as net:
        assert net.network is not None
        align(net, Console(file=io.StringIO()))
        _, ledger = admin_ledger(net.settings(devnet_account=0))
        yield net, ledger
