"""The diagnosis app as uvicorn processes on free loopback ports, from this or another checkout.

An older checkout serves with what it had: its own demo factory, and ``node.asgi_workers``
(an acceptor handing connections to workers, removed in issue 24) where it has one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from node.errors import FedchainError
from tests.integration.services import free_port, seed_synthetic_cases


@dataclass
class DiagnosisServer:
    """A uvicorn process serving the diagnosis app; stop it by its PID."""

    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        """Terminate the process (kill after 10 s) and reap it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> DiagnosisServer:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_server(
    *,
    tokens: list[str],
    cases: int = 600,
    port: int | None = None,
    timeout: float = 60.0,
    database_url: str | None = None,
    workers: int = 1,
    source_dir: str | None = None,
) -> DiagnosisServer:
    """Start the diagnosis app on 127.0.0.1 and wait until it answers; raise with its log if not.

    Without ``database_url`` the app keeps synthetic cases and suggestions in memory (one
    process). With it, the database is seeded with synthetic cases (unless it has them) and
    served by the hospital's diagnosis app in ``workers`` processes. ``source_dir`` runs the
    code of another checkout (the benchmark's baseline).
    """
    port = port or free_port()
    env = {
        **os.environ,
        "FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS": json.dumps(tokens),
        "FEDCHAIN_DIAGNOSIS_DEMO_CASES": str(cases),
    }
    root = Path(source_dir) if source_dir is not None else Path(__file__).resolve().parents[2]
    app = (
        "diagnosis.demo:create_demo_app"  # before issue 24
        if (root / "diagnosis/demo.py").exists()
        else "hospital.service.diagnosis_app:create_demo_app"
    )
    if database_url is not None:
        seed_synthetic_cases(database_url, cases)
        env["FEDCHAIN_DATABASE_URL"] = database_url
        app = "hospital.service.diagnosis_app:create_diagnosis_app"
    elif workers != 1:
        raise FedchainError(
            "the in-memory demo keeps suggestions in one process",
            fix="give a database_url to serve with several workers",
        )
    if source_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_dir, env.get("PYTHONPATH")]))
    runner = (
        ["node.asgi_workers", app]
        if workers > 1 and (root / "node/asgi_workers.py").exists()
        else ["uvicorn", app, "--factory"]
    )
    cmd = [
        sys.executable,
        "-m",
        *runner,
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=source_dir
    )
    server = DiagnosisServer(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{server.url}/doctor", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    log = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    raise FedchainError(
        f"the diagnosis server did not start on port {port}: {log[-2000:]}",
        fix="check that uvicorn is installed and the port is free",
    )
