"""Run: .venv/bin/python -m benchmarks.psi [--skip-100k] [--http] [--overlap 0.3] [--checks both]

Two parties at 10k x 10k and 100k x 100k and three parties at 10k each, in process
(every message still goes through the wire codec; bytes = message bodies) and, with
--http, over real uvicorn hospital services (bytes = bodies + HTTP request/status lines and
headers). Each in-process case runs with the checks (canaries, DLEQ proofs, signed counts)
and without them (canaries and proofs off), one right after the other, so their ratio is
measured under the same load. Also compares one worker, a 2-thread pool and a 2-process
pool on hash-to-group + scalar multiplication, and times one DLEQ proof and its check.
The machine's 2 cores are shared with other work: the load average is printed beside
every row, and absolute times are inflated by it.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from eth_account import Account
from rich.console import Console
from rich.table import Table

from hospital.alignment import (
    AlignmentParty,
    AlignmentPurpose,
    AlignmentTerms,
    LocalLink,
    PartyLink,
    Relay,
    WireLog,
)
from hospital.alignment.client import HttpLink
from hospital.alignment.dleq import key_commitment, prove, verify
from hospital.alignment.group import encode_items, new_key, raise_points

TARGET_SECONDS_100K = 15.0
TARGET_BYTES = 200.0
FATE_BYTES = 600.0
REPO = Path(__file__).resolve().parents[2]
RELAY_ACCOUNT = Account.create()  # the relay signs every message; the services allow it
SECRET = b"benchmark consortium secret"
CHECKED = AlignmentTerms()  # the consortium defaults: canaries, DLEQ proofs
UNCHECKED = AlignmentTerms(canaries_per_group=0, proofs=False)  # the protocol before issue 19
console = Console(width=180)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def make_sets(sizes: dict[str, int], overlap: float, seed: int) -> dict[str, list[bytes]]:
    """Random 16-byte tokens; a fraction ``overlap`` of the smallest set is common to all."""
    rng = random.Random(seed)
    common = [rng.randbytes(16) for _ in range(int(min(sizes.values()) * overlap))]
    return {
        k: common + [rng.randbytes(16) for _ in range(n - len(common))] for k, n in sizes.items()
    }


def correct(sets: dict[str, list[bytes]], results: dict[str, dict[bytes, int]]) -> bool:
    as_sets = {k: set(v) for k, v in sets.items()}
    return all(
        results[k] == {x: sum(x in as_sets[o] for o in as_sets if o != k) for x in as_sets[k]}
        for k in sets
    )


def per_real_item(total_bytes: int, sets: dict[str, list[bytes]]) -> float:
    """Bytes over the hospitals' real items (canaries are overhead, not items)."""
    return total_bytes / sum(len(set(v)) for v in sets.values())


def run_local(
    sets: dict[str, list[bytes]], terms: AlignmentTerms = CHECKED
) -> tuple[float, float, float | None, bool]:
    cpu = time.process_time()  # all threads of this process: hospitals and relay
    log = WireLog()
    parties = {
        k: AlignmentParty(k, lambda _p, v=v: v, secret=SECRET, terms=terms) for k, v in sets.items()
    }
    summary = Relay(RELAY_ACCOUNT, terms=terms).run(
        [LocalLink(p, log) for p in parties.values()],
        run="bench",
        purpose=AlignmentPurpose.PATIENTS,
        log=log,
    )
    results = {k: p.result(summary.session_id).holders_by_item() for k, p in parties.items()}
    cpu = time.process_time() - cpu
    per_item = per_real_item(log.total_bytes, sets)
    return summary.seconds, per_item, cpu, correct(sets, results)


def run_unchecked(sets: dict[str, list[bytes]]) -> tuple[float, float, float | None, bool]:
    """The same run with canaries and proofs off (what the protocol was before issue 19)."""
    return run_local(sets, UNCHECKED)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_http(sets: dict[str, list[bytes]]) -> tuple[float, float, float | None, bool]:
    """Each hospital a real `fedchain align serve` process; this process is the relay."""
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            urls = []
            for name, items in sets.items():
                path = Path(tmp) / f"{name}.hex"
                path.write_text("\n".join(x.hex() for x in items))
                port = free_port()
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "node.cli.app",
                            "align",
                            "serve",
                            "--name",
                            name,
                            "--items",
                            str(path),
                            "--format",
                            "hex",
                            "--port",
                            str(port),
                            "--relay",
                            RELAY_ACCOUNT.address,
                        ],
                        cwd=REPO,
                        stdout=subprocess.DEVNULL,
                    )
                )
                urls.append(f"http://127.0.0.1:{port}")
            for url in urls:
                for _ in range(300):
                    try:
                        httpx.get(f"{url}/alignment/info", timeout=1.0)
                        break
                    except httpx.HTTPError:
                        time.sleep(0.2)
            log = WireLog()
            with httpx.Client() as client:
                links: list[PartyLink] = [
                    HttpLink(u, client, log, account=RELAY_ACCOUNT) for u in urls
                ]
                summary = Relay(RELAY_ACCOUNT).run(
                    links, run="bench", purpose=AlignmentPurpose.PATIENTS, log=log
                )
            ok = all(
                summary.receipts[k].shared_size
                == len(set(v) & set().union(*(set(o) for j, o in sets.items() if j != k)))
                for k, v in sets.items()
            )
            return summary.seconds, per_real_item(log.total_bytes, sets), None, ok
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=10)


def pools(n: int, rounds: int = 3) -> Table:
    """One worker vs 2 threads vs 2 processes; best of ``rounds`` interleaved trials.

    CPU/wall > 1 for threads means two threads ran libsodium at once: rbcl's ctypes calls
    release the GIL. (A process pool's CPU is in its children, so its ratio is not shown.)
    """
    items = [os.urandom(16) for _ in range(n)]
    key = new_key()
    configs = (("1 worker", 1, "thread"), ("2 threads", 2, "thread"), ("2 processes", 2, "process"))
    best = {label: (float("inf"), 0.0) for label, _, _ in configs}
    for _ in range(rounds):
        for label, workers, pool in configs:
            wall, cpu = time.perf_counter(), time.process_time()
            encode_items(items, key, context=b"bench", workers=workers, pool=pool)  # type: ignore[arg-type]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if wall < best[label][0]:
                best[label] = (wall, cpu)
    table = Table(
        title=f"hash-to-group + scalar mult, {n:,} items, best of {rounds} (load {load()})"
    )
    for col in ("pool", "seconds", "µs/item", "speed-up vs 1 worker", "CPU/wall"):
        table.add_column(col)
    base = best["1 worker"][0]
    for label, _, pool in configs:
        wall, cpu = best[label]
        table.add_row(
            label,
            f"{wall:.2f}",
            f"{wall / n * 1e6:.1f}",
            f"{base / wall:.2f}x",
            "-" if pool == "process" else f"{cpu / wall:.2f}",
        )
    return table


def dleq_costs(n: int, rounds: int = 3) -> Table:
    """One blind hop of ``n`` points: raising, proving and checking the proof (best of rounds)."""
    inputs = encode_items([os.urandom(16) for _ in range(n)], new_key(), context=b"bench")
    key = new_key()
    outputs = raise_points(inputs, key)
    steps = {
        "raise (the hop itself)": lambda: raise_points(inputs, key),
        "prove (hospital)": lambda: prove(key, inputs, outputs, statement=b"bench"),
        "verify (relay)": lambda: verify(
            key_commitment(key),
            inputs,
            outputs,
            prove(key, inputs, outputs, statement=b"bench"),
            statement=b"bench",
        ),
    }
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(rounds):
        for label, step in steps.items():
            wall = time.perf_counter()
            step()
            best[label] = min(best[label], time.perf_counter() - wall)
    best["verify (relay)"] -= best["prove (hospital)"]  # the lambda proves first
    table = Table(
        title=f"one blind hop of {n:,} points, 2 threads, best of {rounds} (load {load()})"
    )
    for col in ("step", "seconds", "µs/point", "x the hop"):
        table.add_column(col)
    for label, seconds in best.items():
        table.add_row(
            label,
            f"{seconds:.2f}",
            f"{seconds / n * 1e6:.1f}",
            f"{seconds / best['raise (the hop itself)']:.2f}",
        )
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-100k", action="store_true", help="leave out 100k x 100k")
    ap.add_argument("--only-100k", action="store_true", help="only 100k x 100k, no pool table")
    ap.add_argument("--http", action="store_true", help="also run every case over HTTP")
    ap.add_argument("--overlap", type=float, default=0.3)
    ap.add_argument(
        "--checks",
        choices=("both", "on", "off"),
        default="both",
        help="canaries + DLEQ proofs on, off, or both one after the other (in process)",
    )
    args = ap.parse_args()

    console.print(f"cores: {os.cpu_count()}, load average (1/5/15 min) at start: {load()}")
    big = ("2 parties", {"a": 100_000, "b": 100_000})
    cases = [("2 parties", {"a": 10_000, "b": 10_000}), ("3 parties", dict.fromkeys("abc", 10_000))]
    if args.only_100k:
        cases = [big]
    else:
        console.print(pools(10_000))
        console.print(dleq_costs(10_000))
        if not args.skip_100k:
            cases.insert(1, big)
    table = Table(title=f"ECDH PSI over ristretto255, {args.overlap:.0%} overlap")
    for col in (
        "case",
        "checks",
        "transport",
        "seconds",
        "target s",
        "CPU s",
        "bytes/item",
        "target",
        "FATE ECDH/RSA",
        "vs FATE",
        "exact",
        "load before/after",
    ):
        table.add_column(col)
    for label, sizes in cases:
        sets = make_sets(sizes, args.overlap, seed=sum(sizes.values()))
        size = " x ".join(f"{n // 1000}k" for n in sizes.values())
        transports = []
        if args.checks in ("both", "on"):
            transports.append(("canaries + DLEQ", "in process", run_local))
        if args.checks in ("both", "off"):
            transports.append(("off", "in process", run_unchecked))
        if args.http:
            transports.append(("canaries + DLEQ", "HTTP", run_http))
        for checks, name, fn in transports:
            before = load()
            seconds, per_item, cpu, ok = fn(sets)
            target = f"{TARGET_SECONDS_100K:.0f}" if max(sizes.values()) == 100_000 else "-"
            table.add_row(
                f"{label} {size}",
                checks,
                name,
                f"{seconds:.2f}",
                target,
                "-" if cpu is None else f"{cpu:.1f}",
                f"{per_item:.1f}",
                f"{TARGET_BYTES:.0f}",
                f"{FATE_BYTES:.0f}",
                f"{per_item / FATE_BYTES:.2f}x",
                "yes" if ok else "NO",
                f"{before} / {load()}",
            )
    console.print(table)
    console.print(
        "CPU s = CPU time of the in-process run (every hospital and the relay, all "
        "threads): on two idle cores the wall time is about half of it."
    )
    console.print(
        "bytes/item = all bytes both ways (relay <-> hospitals) / sum of real set sizes "
        "(canaries are counted as overhead); "
        "in process: message bodies (binary frames, JSON headers); HTTP adds request/"
        "status lines and headers. FATE figure: ~0.6 KB per item (issue 5)."
    )


if __name__ == "__main__":
    main()
