"""Load process: N POST /diagnosis requests at a fixed concurrency; prints latencies as JSON.

Run as ``python -m benchmarks.diagnosis.load URL TOKEN --requests N --concurrency C``; it
is a separate process so the server's CPU time and the client's are not mixed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time

import httpx

SYMPTOMS = [  # terms of the knowledge table the synthetic libraries are drawn from
    ("chest_pain", 0.5, "exertional", 6),
    ("breathlessness", 2, "gradual", 5),
    ("cough", 5, "gradual", 6),
    ("high_fever", 3, "sudden", 6),
    ("wheezing", 1, "sudden", 6),
    ("acidity", 40, "postprandial", 5),
    ("diarrhoea", 2, "sudden", 6),
    ("sweating", 0.1, "sudden", 5),
]


def findings(rng: random.Random) -> dict[str, object]:
    chosen = rng.sample(SYMPTOMS, rng.randint(2, 4))
    return {
        "patient_id": f"load-{rng.randrange(10**6)}",
        "symptoms": [
            {"name": n, "duration_days": d * rng.uniform(0.5, 1.5), "onset": o, "severity": s}
            for n, d, o, s in chosen
        ],
        "labs": [{"name": "crp", "value": rng.uniform(1, 150), "normal_low": 0, "normal_high": 5}],
        "top_k": 10,
        "threshold": 0.3,
    }


async def run(
    url: str, token: str, requests: int, concurrency: int, seed: int
) -> dict[str, object]:
    rng = random.Random(seed)
    bodies = [findings(rng) for _ in range(requests)]
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as http:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                t0 = time.perf_counter()
                r = await http.post("/diagnosis", json=body)
                latencies.append(time.perf_counter() - t0)
                errors += r.status_code != 200

        await http.post("/diagnosis", json=bodies[0])  # warm the connection and caches
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    latencies.sort()
    pick = lambda q: 1e3 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {
        "requests": len(latencies),
        "errors": errors,
        "concurrency": concurrency,
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "max_ms": 1e3 * latencies[-1],
        "throughput_rps": len(latencies) / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    result = asyncio.run(run(a.url, a.token, a.requests, a.concurrency, a.seed))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
