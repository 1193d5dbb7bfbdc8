"""REST latency: the demo app in its own uvicorn process, a separate load process hitting it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from typing import Any

from benchmarks.diagnosis import wrk
from diagnosis.demo_server import start_demo_server


def load_client(preferred: str) -> str:
    """'wrk' when asked for (or 'auto') and installed, else the httpx load process."""
    if preferred in {"auto", "wrk"} and shutil.which("wrk"):
        return "wrk"
    return "httpx"


def _httpx_load(url: str, token: str, requests: int, concurrency: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.diagnosis.load", url, token,
         "--requests", str(requests), "--concurrency", str(concurrency)],
        check=True, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def run(
    cases: int, requests: int, seconds: int, concurrencies: list[int], client: str
) -> tuple[float, list[dict[str, Any]]]:
    """Start a server over ``cases`` demo cases; load it at each concurrency; stop it."""
    token = secrets.token_urlsafe(24)
    t0 = time.perf_counter()
    results = []
    with start_demo_server(tokens=[token], cases=cases, timeout=600) as server:
        startup_s = time.perf_counter() - t0
        for c in concurrencies:
            load_before = os.getloadavg()[0]
            if client == "wrk":
                r = wrk.run(server.url, token, connections=c, seconds=seconds)
            else:
                r = _httpx_load(server.url, token, requests, c)
            r["client"] = client
            r["load_avg_before"] = load_before
            r["load_avg_after"] = os.getloadavg()[0]
            results.append(r)
    return startup_s, results
