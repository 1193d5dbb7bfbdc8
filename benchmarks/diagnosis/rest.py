"""REST latency: the diagnosis app in its own uvicorn process(es), a separate load process.

Several server configurations run one after another in the same invocation, so the
baseline (the code of an older git commit, one process, suggestions in memory) is
measured beside the new ones under the same machine load. ``db2@<ref>`` (any configuration
name, ``@`` a git commit) runs that configuration on the code of that commit.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import Any

from benchmarks.diagnosis import wrk
from benchmarks.diagnosis.proc_cpu import tree_cpu_seconds
from benchmarks.diagnosis.servers import start_server
from tests.integration.services import seed_synthetic_cases

HIDDEN = [16]  # the consortium model's default hidden layer (FEDCHAIN_ROUND_HIDDEN)

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServerConfig:
    """One way of serving POST /diagnosis."""

    name: str
    label: str
    workers: int = 1
    database: bool = False  # suggestions (and cases) in a SQLite EMR file
    baseline: bool = False  # the code of --baseline-ref instead of this checkout
    model: bool = False  # a sealed consortium model published in the database (new code)
    ref: str | None = None  # the git commit whose code serves (None: this checkout)


CONFIGS = {
    c.name: c
    for c in (
        ServerConfig("baseline", "baseline: old code, 1 process, in memory", baseline=True),
        ServerConfig("memory", "new, 1 process, in memory"),
        ServerConfig("db1", "new, 1 process, SQLite", database=True),
        ServerConfig("db2", "new, 2 workers, SQLite", workers=2, database=True),
        ServerConfig(  # what a hospital serves after a sealed round: the model's votes too
            "db2-model",
            "new, 2 workers, SQLite, consortium model",
            workers=2,
            database=True,
            model=True,
        ),
        ServerConfig(  # the fastest configuration in both codes (with --baseline-ref of one)
            "base-db2", "baseline code, 2 workers, SQLite", workers=2, database=True, baseline=True
        ),
    )
}


def config(entry: str, baseline_ref: str) -> ServerConfig:
    """The configuration an entry of --rest-configs names: ``name`` or ``name@<git ref>``."""
    name, _, ref = entry.partition("@")
    base = CONFIGS[name]
    if ref:
        return replace(
            base, name=entry, label=f"{base.label.split(':')[-1].strip()} @ {ref}", ref=ref
        )
    return replace(base, ref=baseline_ref) if base.baseline else base


def publish_consortium_model(database_url: str, cases: int) -> None:
    """Seed the demo cases and publish a (genesis) consortium model as sealed round 1."""
    from hospital.emr.store import open_store
    from hospital.service.rounds import initial_weights
    from hospital.service.shared_diagnosis import SqlSharedDiagnosis

    seed_synthetic_cases(database_url, cases)
    store = open_store(database_url)
    try:
        SqlSharedDiagnosis(store.engine).publish_round(
            initial_weights(HIDDEN), round_id=1, hidden=HIDDEN, schema_name="general"
        )
    finally:
        store.close()


def load_client(preferred: str) -> str:
    """'wrk' when asked for (or 'auto') and installed, else the httpx load process."""
    if preferred in {"auto", "wrk"} and shutil.which("wrk"):
        return "wrk"
    return "httpx"


@contextmanager
def checkout(ref: str) -> Iterator[str]:
    """The tree of git ``ref`` of this repository, unpacked into a temporary directory."""
    tree = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="fedchain-baseline-") as d:
        with tarfile.open(fileobj=BytesIO(tree)) as tar:
            tar.extractall(d, filter="data")
        yield d


def _httpx_load(url: str, token: str, requests: int, concurrency: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.diagnosis.load",
            url,
            token,
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return dict(json.loads(out.stdout))


def run_all(
    configs: list[ServerConfig],
    *,
    cases: int,
    requests: int,
    seconds: int,
    concurrencies: list[int],
    client: str,
    trees: dict[str, str],
    rounds: int = 1,
    close: bool = False,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Start every configuration, then load them in turn level by level, ``rounds`` times.

    All servers stay up (idle ones cost nothing) and the configurations alternate at each
    level, in reverse order every other round, so a change of the machine's load in
    between, and whatever running second does, hits them alike. ``trees`` maps each
    configuration's git ref to its unpacked code. ``close``: wrk opens a new connection for
    every request.
    """
    if close and client != "wrk":
        raise ValueError("--close-connections needs the wrk client (install wrk)")
    token = secrets.token_urlsafe(24)
    startup: dict[str, float] = {}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fedchain-rest-bench-") as d, ExitStack() as stack:
        servers = {}
        for config in configs:
            url = f"sqlite:///{Path(d) / (config.name + '.sqlite')}" if config.database else None
            if url is not None and config.model:
                publish_consortium_model(url, cases)
            t0 = time.perf_counter()
            servers[config.name] = stack.enter_context(
                start_server(
                    tokens=[token],
                    cases=cases,
                    timeout=900,
                    database_url=url,
                    workers=config.workers,
                    source_dir=trees[config.ref] if config.ref else None,
                )
            )
            startup[config.name] = time.perf_counter() - t0
            if client == "wrk":  # every worker has built its index and seen a few requests
                wrk.run(servers[config.name].url, token, connections=10, seconds=2)
        for run in range(1, rounds + 1):
            order = configs if run % 2 else configs[::-1]
            for c in concurrencies:
                for config in order:
                    url, pid = servers[config.name].url, servers[config.name].process.pid
                    load_before = os.getloadavg()[0]
                    cpu_before = tree_cpu_seconds(pid)
                    if client == "wrk":
                        r = wrk.run(url, token, connections=c, seconds=seconds, close=close)
                    else:
                        r = _httpx_load(url, token, requests, c)
                    cpu_ms = (tree_cpu_seconds(pid) - cpu_before) * 1000
                    r.update(
                        config=config.name,
                        run=run,
                        client=client,
                        server_cpu_ms_per_request=cpu_ms / max(r["requests"], 1),
                        load_avg_before=load_before,
                        load_avg_after=os.getloadavg()[0],
                    )
                    results.append(r)
    return startup, results
