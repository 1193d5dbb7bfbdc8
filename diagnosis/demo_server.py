"""Run the demo diagnosis app as a uvicorn process on a free loopback port (tests, benches)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from node.errors import FedchainError


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoServer:
    """A uvicorn process serving ``diagnosis.demo:create_demo_app``; stop it by its PID."""

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

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def seed_demo_database(database_url: str, cases: int) -> int:
    """Put ``cases`` synthetic demo cases into the EMR database (idempotent); return the count."""
    from diagnosis.demo import synthetic_cases
    from hospital.emr.store import NewCase, open_store

    store = open_store(database_url)
    try:
        if store.count() < cases:
            demo = synthetic_cases(cases)
            store.add_cases([NewCase(case=c, source="demo", ref=c.case_id or "") for c in demo])
        return store.count()
    finally:
        store.close()


def start_demo_server(
    *,
    tokens: list[str],
    cases: int = 600,
    port: int | None = None,
    timeout: float = 60.0,
    database_url: str | None = None,
    workers: int = 1,
    source_dir: str | None = None,
) -> DemoServer:
    """Start the demo app on 127.0.0.1 and wait until it answers; raise with its log if not.

    Without ``database_url`` the app keeps cases and suggestions in memory (one process).
    With it, the database is seeded with the demo cases and served by the hospital's
    diagnosis app in ``workers`` processes. ``source_dir`` runs the code of another
    checkout (the benchmark's baseline).
    """
    port = port or free_port()
    env = {
        **os.environ,
        "FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS": json.dumps(tokens),
        "FEDCHAIN_DIAGNOSIS_DEMO_CASES": str(cases),
    }
    app = "diagnosis.demo:create_demo_app"
    if database_url is not None:
        seed_demo_database(database_url, cases)
        env["FEDCHAIN_DATABASE_URL"] = database_url
        app = "hospital.service.diagnosis_app:create_diagnosis_app"
    elif workers != 1:
        raise FedchainError(
            "the in-memory demo keeps suggestions in one process",
            fix="give a database_url to serve with several workers",
        )
    if source_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_dir, env.get("PYTHONPATH")]))
    # several workers: node.asgi_workers where the checkout served has it (an older baseline
    # of the benchmark may predate it and runs uvicorn's shared socket)
    root = Path(source_dir) if source_dir is not None else Path(__file__).resolve().parents[1]
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
    server = DemoServer(proc, f"http://127.0.0.1:{port}")
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
        f"the demo diagnosis server did not start on port {port}: {log[-2000:]}",
        fix="check that uvicorn is installed and the port is free",
    )
