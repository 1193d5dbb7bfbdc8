"""Real PSI services for the attack tests: hospital services on a ledger, or item-file services.

Every service is a real process on a free loopback port (honest ones are `fedchain hospital
serve` / `fedchain align serve`; dishonest ones are ``psi_rogues``, the product's app with
one party method overridden), stopped by PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from hospital.datagen.generate import generate_hospitals
from hospital.emr.identity import national_id_token
from hospital.emr.store import NewCase, open_store
from tests.integration.services import fedchain_service, free_port

REPO = Path(__file__).resolve().parents[2]
SALT = "adversarial-consortium-salt-0123"  # the hospitals' secret; relays never get it
TOKEN = "adversarial-doctor-token-0123456"


def hospital_stores(tmp_path: Path, n: int, cases: int = 160) -> list[tuple[str, str]]:
    """``n`` generated EMR stores (name, database URL) whose national ids are salted with SALT."""
    stores = []
    for lib in generate_hospitals(n, cases, seed=5):
        url = f"sqlite:///{tmp_path / (lib.name + '.sqlite')}"
        store = open_store(url)
        store.add_cases(
            [
                NewCase(
                    case=g.case,
                    source="gen",
                    ref=g.ref,
                    national_token=national_id_token(g.national_id, SALT.encode()),
                )
                for g in lib.cases
            ]
        )
        store.close()
        stores.append((lib.name, url))
    return stores


@dataclass
class HospitalService:
    name: str
    url: str
    data_dir: Path

    def latest(self, purpose: str) -> Path:
        """Where the service keeps its latest checked result of ``purpose``."""
        return self.data_dir / "alignment" / self.name / f"latest-{purpose}.json"


@contextmanager
def hospital_services(
    tmp_path: Path, network_file: Path, stores: Sequence[tuple[str, str]], devnet_indexes: list[int]
) -> Iterator[list[HospitalService]]:
    """`fedchain hospital serve` for each store, recording alignments on the ledger."""
    with ExitStack() as stack:
        services = []
        for (name, url), index in zip(stores, devnet_indexes, strict=True):
            port = free_port()
            data = tmp_path / f"data-{name}"
            env = {
                "FEDCHAIN_DATA_DIR": str(data),
                "FEDCHAIN_NETWORK_FILE": str(network_file),
                "FEDCHAIN_DEVNET_ACCOUNT": str(index),
                "FEDCHAIN_DATABASE_URL": url,
                "FEDCHAIN_NATIONAL_ID_SALT": SALT,
                "FEDCHAIN_HOSPITAL_NAME": name,
                "FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS": f'["{TOKEN}"]',
            }
            service = stack.enter_context(
                fedchain_service(
                    ["hospital", "serve", "--port", str(port)],
                    port=port,
                    env=env,
                    log=tmp_path / f"{name}.log",
                )
            )
            services.append(HospitalService(name, service.url, data))
        yield services


@dataclass
class ItemService:
    name: str
    url: str
    results: Path

    def results_kept(self) -> list[Path]:
        """The result files the service kept (one per checked session)."""
        return sorted(self.results.glob("*.json")) if self.results.exists() else []


@contextmanager
def item_services(
    tmp_path: Path,
    sets: dict[str, list[bytes]],
    *,
    relay: str,
    rogues: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[list[ItemService]]:
    """One alignment service per item set; ``rogues`` maps a name to a psi_rogues behaviour."""
    rogues = rogues or {}
    procs: list[subprocess.Popen[bytes]] = []
    services = []
    full_env = {**os.environ, "FEDCHAIN_NATIONAL_ID_SALT": SALT, **(env or {})}
    try:
        for name, items in sets.items():
            path = tmp_path / f"{name}.hex"
            path.write_text("\n".join(x.hex() for x in items))
            port = free_port()
            results = tmp_path / "results" / name
            common = ["--name", name, "--items", str(path), "--port", str(port)]
            common += ["--results", str(results), "--relay", relay]
            if name in rogues:
                command = ["-m", "tests.adversarial.psi_rogues", "--behaviour", rogues[name]]
            else:
                command = ["-m", "node.cli.app", "align", "serve", "--format", "hex"]
            log = (tmp_path / f"{name}.log").open("w")
            procs.append(
                subprocess.Popen(
                    [sys.executable, *command, *common],
                    cwd=REPO,
                    env=full_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            services.append(ItemService(name, f"http://127.0.0.1:{port}", results))
        for service, proc in zip(services, procs, strict=True):
            _wait_ready(service.url, proc, tmp_path / f"{service.name}.log")
        yield services
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/alignment/info", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(url)
