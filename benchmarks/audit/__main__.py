"""python -m benchmarks.audit: how long `fedchain audit` takes to verify a real history.

For each key size and consortium size, a fresh ledger on one anvil gets ``--rounds`` sealed
rounds (in-process miners and hospitals, file blob stores); then the audit is timed by check
kind, beside what producing those rounds took and a hash-only audit, ratios in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.audit.history import BuiltHistory, build_history
from benchmarks.audit.measure import KINDS, AuditTiming, time_audit, time_hash_only, time_report
from node.chain.connect import connect
from node.chain.devnet import Devnet
from node.cli.keys import deal_in_subprocess

ROUND_KINDS = ["blob hashes", "aggregate", "model re-derivation"]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bits", default="1024,2048", help="consortium key sizes")
    p.add_argument("--hospitals", default="3,4", help="hospital/miner pairs")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument(
        "--params",
        type=int,
        default=28294,
        help="model parameters (28,294: the demo's general BP model, hidden 16)",
    )
    args = p.parse_args()
    console = Console(width=240)
    note = "2 shared cores, other work running: absolute times inflated, compare the ratios"
    totals = Table(
        title=f"audit of {args.rounds} sealed rounds, {args.params:,} parameters, "
        f"t = 2/3 of m miners ({note})"
    )
    for col in [
        "bits",
        "hospitals",
        *KINDS,
        "audit s",
        "report() s",
        "hash-only s",
        "produce s",
        "audit / produce",
        "audit / hash-only",
        "checks",
        "failed",
    ]:
        totals.add_column(col, justify="right")
    per_round = Table(
        title="per round (the largest configuration): audit work beside producing the round"
    )
    for col in ["round", *ROUND_KINDS, "audit s", "produce s", "audit / produce"]:
        per_round.add_column(col, justify="right")
    last: tuple[BuiltHistory, AuditTiming] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        chain = Devnet(Path(tmp) / "devnet", state_interval=3600)
        info = chain.start()
        try:
            w3 = connect(info.rpc_url)
            for bits in _ints(args.bits):
                for n in _ints(args.hospitals):
                    t0 = time.perf_counter()
                    pub, shares = deal_in_subprocess(
                        miners=n, threshold=max(1, (2 * n + 2) // 3), n_bits=bits
                    )
                    console.print(
                        f"key {bits} bits for {n} miners: {time.perf_counter() - t0:.1f} s"
                    )
                    root = Path(tmp) / f"h{bits}-{n}"
                    root.mkdir()
                    built = build_history(
                        w3, pub, shares, root, hospitals=n, rounds=args.rounds, n_params=args.params
                    )
                    produce = sum(built.round_seconds.values())
                    timing = time_audit(built)
                    report_s, verified = time_report(built)
                    hash_only = time_hash_only(built)
                    s = timing.seconds
                    totals.add_row(
                        str(bits),
                        str(n),
                        *[f"{s[k]:.3f}" for k in KINDS],
                        f"{timing.total:.2f}",
                        f"{report_s:.2f}",
                        f"{hash_only:.2f}",
                        f"{produce:.1f}",
                        f"{timing.total / produce:.3f}",
                        f"{timing.total / hash_only:.1f}x",
                        str(len(timing.checks)),
                        str(timing.failed) + ("" if verified else " (NOT VERIFIED)"),
                    )
                    console.print(
                        f"done {bits} bits x {n} hospitals: produce {produce:.1f} s, "
                        f"audit {timing.total:.2f} s, report() {report_s:.2f} s, "
                        f"hash-only {hash_only:.2f} s, verified {verified}"
                    )
                    last = (built, timing)
        finally:
            chain.stop()
    assert last is not None
    built, timing = last
    for r, produced in sorted(built.round_seconds.items()):
        spent = timing.per_round[r]
        audit = sum(spent[k] for k in ROUND_KINDS)
        per_round.add_row(
            str(r),
            *[f"{spent[k]:.3f}" for k in ROUND_KINDS],
            f"{audit:.3f}",
            f"{produced:.1f}",
            f"{audit / produced:.3f}",
        )
    console.print(totals)
    console.print(per_round)


if __name__ == "__main__":
    main()
