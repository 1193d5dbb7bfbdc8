"""wrk as the load process (C, light on the shared CPU): POST /diagnosis with varied bodies."""

from __future__ import annotations

import json
import random
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.diagnosis.load import findings

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def script(token: str, bodies: list[dict[str, Any]], *, close: bool = False) -> str:
    """A wrk Lua script that cycles through the JSON bodies (``close``: one per connection)."""
    quoted = ",\n".join("[==[" + json.dumps(b) + "]==]" for b in bodies)
    connection = 'wrk.headers["Connection"] = "close"' if close else ""
    return f"""
bodies = {{ {quoted} }}
i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{connection}
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  i = (i % #bodies) + 1
  return wrk.format(nil, "/diagnosis", nil, bodies[i])
end
"""


def _find(pattern: str, text: str) -> str:
    m = re.search(pattern, text, flags=re.M)
    if m is None:
        raise RuntimeError(f"wrk output lacks {pattern!r}:\n{text}")
    return m.group(1)


def run(
    url: str, token: str, *, connections: int, seconds: int, seed: int = 1, close: bool = False
) -> dict[str, Any]:
    """wrk -t1 -c<connections> for ``seconds``; p50/p90/p99 from its latency distribution.

    ``close`` sends ``Connection: close``: every request on a new connection.
    """
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as d:
        lua = Path(d) / "diagnosis.lua"
        lua.write_text(script(token, [findings(rng) for _ in range(200)], close=close))
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(lua),
                f"{url}/diagnosis",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "concurrency": connections,
        "requests": int(_find(r"(\d+) requests in", out)),
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "p50_ms": _ms(_find(r"^\s+50%\s+(\S+)", out)),
        "p90_ms": _ms(_find(r"^\s+90%\s+(\S+)", out)),
        "p99_ms": _ms(_find(r"^\s+99%\s+(\S+)", out)),
        "max_ms": _ms(_find(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out)),
        "throughput_rps": float(_find(r"Requests/sec:\s+([\d.]+)", out)),
    }
