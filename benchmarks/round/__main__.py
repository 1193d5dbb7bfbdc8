"""python -m benchmarks.round: wall time of one encrypted round by phase, and its gas."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.round.measure import run_round
from benchmarks.round.processes import time_decrypt
from node.chain.connect import connect
from node.chain.devnet import Devnet
from node.cli.keys import deal_in_subprocess

PHASES = ["train", "encrypt", "verify", "chain", "aggregate", "decrypt"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hospitals", default="3,5")
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--bits", type=int, default=2048)
    p.add_argument(
        "--no-processes",
        action="store_true",
        help="skip timing the decrypt phase with each miner in its own process",
    )
    args = p.parse_args()
    console = Console(width=220)
    table = Table(
        title=f"one encrypted round, {args.bits}-bit key, t = majority of m miners "
        "(2 shared cores: absolute times inflated by other work)"
    )
    for col in [
        "hospitals",
        "params",
        *PHASES,
        "wall s",
        "plaintext FedAvg s",
        "ratio",
        "gas / round",
        "txs",
        "max err",
    ]:
        table.add_column(col, justify="right")
    critical = Table(
        title="the same rounds, critical path: per phase the slowest party (each "
        "hospital and miner on its own machine; phases taken as barriers; chain = "
        "each party's own transactions)"
    )
    for col in ["hospitals", "params", *PHASES, "critical path s", "summed s", "summed / critical"]:
        critical.add_column(col, justify="right")
    procs = Table(
        title="decrypt phase, partial decryptions only (each ciphertext to t miners): "
        "miners in turn in one process vs each miner in its own process"
    )
    for col in [
        "hospitals",
        "params",
        "ciphertexts",
        "per busiest miner",
        "in turn, 1 process s",
        "m processes at once s",
        "ratio",
        "busiest miner alone s",
        "ratio",
    ]:
        procs.add_column(col, justify="right")
    calls = Table(title="gas per call in the last round measured (median, max)")
    calls.add_column("call")
    calls.add_column("count", justify="right")
    calls.add_column("gas", justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        chain = Devnet(Path(tmp), state_interval=3600)
        info = chain.start()
        try:
            w3 = connect(info.rpc_url)
            for n in [int(x) for x in args.hospitals.split(",")]:
                t0 = time.perf_counter()
                pub, shares = deal_in_subprocess(miners=n, threshold=n // 2 + 1, n_bits=args.bits)
                console.print(f"key for {n} miners: {time.perf_counter() - t0:.1f} s")
                for size in [int(x) for x in args.sizes.split(",")]:
                    clock, wall, plain, aggregate = run_round(
                        w3, pub, shares, hospitals=n, n_params=size
                    )
                    s = clock.seconds
                    path = {ph: clock.critical(ph) for ph in PHASES}
                    summed = sum(s[ph] for ph in PHASES)
                    crit = sum(path.values())
                    critical.add_row(
                        str(n),
                        f"{size:,}",
                        *[f"{path[ph]:.2f}" for ph in PHASES],
                        f"{crit:.1f}",
                        f"{summed:.1f}",
                        f"{summed / crit:.1f}x",
                    )
                    if not args.no_processes:
                        d = time_decrypt(pub, shares, aggregate)
                        procs.add_row(
                            str(n),
                            f"{size:,}",
                            str(d.ciphertexts),
                            str(d.per_miner),
                            f"{d.sequential:.2f}",
                            f"{d.processes_wall:.2f}",
                            f"{d.sequential / d.processes_wall:.1f}x",
                            f"{d.alone:.2f}",
                            f"{d.sequential / d.alone:.1f}x",
                        )
                    table.add_row(
                        str(n),
                        f"{size:,}",
                        *[f"{s[ph]:.2f}" for ph in PHASES],
                        f"{wall:.1f}",
                        f"{plain:.4f}",
                        f"{wall / plain:,.0f}x",
                        f"{clock.gas:,}",
                        str(clock.txs),
                        f"{s['max |encrypted - plaintext|']:.1e}",
                    )
                    console.print(
                        f"done: {n} hospitals x {size:,} params, {wall:.1f} s: "
                        + " ".join(f"{ph}={s[ph]:.2f}" for ph in PHASES)
                        + f" gas={clock.gas:,} txs={clock.txs}"
                    )
        finally:
            chain.stop()
    for name, gas in sorted(clock.gas_by_call.items()):
        gas = sorted(gas)
        calls.add_row(name, str(len(gas)), f"{gas[len(gas) // 2]:,} (max {gas[-1]:,})")
    console.print(table)
    console.print(critical)
    if not args.no_processes:
        console.print(procs)
    console.print(calls)


if __name__ == "__main__":
    main()
