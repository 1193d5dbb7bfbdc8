"""REST latency: the demo app in its own uvicorn process, a separate load process hitting it."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from typing import Any

from diagnosis.demo_server import start_demo_server


def run(cases: int, requests: int, concurrencies: list[int]) -> tuple[float, list[dict[str, Any]]]:
    """Start a server over ``cases`` demo cases; load it at each concurrency; stop it."""
    token = secrets.token_urlsafe(24)
    t0 = time.perf_counter()
    results = []
    with start_demo_server(tokens=[token], cases=cases, timeout=600) as server:
        startup_s = time.perf_counter() - t0
        for c in concurrencies:
            load_before = os.getloadavg()[0]
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.diagnosis.load", server.url, token,
                 "--requests", str(requests), "--concurrency", str(c)],
                check=True, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            r = json.loads(out.stdout)
            r["load_avg_before"] = load_before
            r["load_avg_after"] = os.getloadavg()[0]
            results.append(r)
    return startup_s, results
