"""`python -m benchmarks.diagnosis`: matching speed vs a per-case loop, REST latency, accuracy."""

from __future__ import annotations

import argparse
import os
import platform
import time
from contextlib import ExitStack

from rich.console import Console
from rich.table import Table

from benchmarks.diagnosis import accuracy, cpu, equivalence, inprocess, rest


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.diagnosis")
    ap.add_argument(
        "--sizes", default="10000,100000,1000000", help="library sizes, comma separated"
    )
    ap.add_argument("--queries", type=int, default=100, help="timed queries per size")
    ap.add_argument("--loop-sample", type=int, default=2000, help="cases the Python loop times")
    ap.add_argument("--rest-cases", type=int, default=10000, help="demo cases in the REST server")
    ap.add_argument("--rest-requests", type=int, default=2000, help="per level (httpx client)")
    ap.add_argument("--rest-seconds", type=int, default=10, help="per level (wrk client)")
    ap.add_argument("--client", default="auto", help="REST load process: auto, wrk or httpx")
    ap.add_argument("--concurrency", default="1,10,100")
    ap.add_argument(
        "--rest-configs",
        default="baseline,memory,db1,db2",
        help=f"server configurations, any of {','.join(rest.CONFIGS)}",
    )
    ap.add_argument(
        "--equivalence-queries",
        type=int,
        default=1500,
        help="suggestions compared with the baseline's",
    )
    ap.add_argument("--rest-rounds", type=int, default=1, help="repeat the REST levels")
    ap.add_argument(
        "--close-connections",
        action="store_true",
        help="wrk sends Connection: close (a new connection per request)",
    )
    ap.add_argument(
        "--baseline-ref",
        default="896843a",
        help="git commit whose code the baseline runs (default: before the REST work)",
    )
    ap.add_argument(
        "--cpu-baseline-ref",
        default="5cb172d",
        help="git commit the CPU-per-request table compares with (default: before the CPU work)",
    )
    ap.add_argument("--cpu-requests", type=int, default=3200, help="per CPU measurement")
    ap.add_argument("--cpu-rounds", type=int, default=3, help="alternating runs per tree")
    ap.add_argument("--skip", default="", help="any of: inprocess,cpu,rest,accuracy")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    console = Console(width=200)
    console.print(
        f"[bold]diagnosis benchmark[/] · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} cores · load average at start {os.getloadavg()[0]:.1f} "
        "(the cores are shared with other work: absolute times are inflated, ratios hold)"
    )

    if "inprocess" not in skip:
        t = Table(title="In-process top-10 (Sim over the whole library, model-like weights)")
        for col in (
            "cases",
            "index p50 ms",
            "index p99 ms",
            "first query ms",
            "per-case loop ms",
            "loop ÷ index p50",
            "max |Δ| vs loop",
            "RSS MB",
            "load",
        ):
            t.add_column(col, justify="right")
        for n in (int(x) for x in a.sizes.split(",")):
            r = inprocess.run(n, n_queries=a.queries, loop_sample=a.loop_sample)
            loop = f"{r.loop_ms_per_query:,.0f}" + (
                f" (from {r.loop_cases_timed:,} cases)" if r.extrapolated else ""
            )
            t.add_row(
                f"{n:,}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                f"{r.first_query_ms:.0f}",
                loop,
                f"{r.ratio:,.0f}×",
                f"{r.max_abs_diff:.1e}",
                f"{r.rss_mb:,.0f}",
                f"{os.getloadavg()[0]:.1f}",
            )
        console.print(t)
        console.print(
            "first query = Σ w_p per case and packed columns built once per weight set; "
            "loop = similarity.case_similarity case by case + heapq top-10, timed on a "
            "random sample and scaled to the library size when marked"
        )

    if "cpu" not in skip:
        cpu_table(console, a)

    if "rest" not in skip:
        rest_table(console, a)

    if "accuracy" not in skip:
        t = Table(title="Diagnosis accuracy on held-out real data (top-10 matches, threshold 0)")
        for col in ("data / split", "method", "train", "test", "top-1", "top-3"):
            t.add_column(
                col, justify="right" if col in {"train", "test", "top-1", "top-3"} else "left"
            )
        for r in accuracy.heart_rows() + accuracy.disease_symptom_rows():
            t.add_row(
                r.dataset, r.method, str(r.n_train), str(r.n_test), f"{r.top1:.3f}", f"{r.top3:.3f}"
            )
        console.print(t)
        console.print(
            "heart: 4 UCI centres, per-centre stratified 66/34 split (seed 43, own splitter, not "
            "FLamby's), pooled library; categorical attributes as findings, numeric as labs with "
            "the training 5–95 % span as range. symptoms: Kaggle table, stratified 80/20; the row "
            "split lets duplicate rows leak into test, the distinct-row split does not."
        )


def cpu_table(console: Console, a: argparse.Namespace) -> None:
    """CPU ms per request, part by part, beside the baseline tree's."""
    with rest.checkout(a.cpu_baseline_ref) as baseline_dir:
        old, new = cpu.compare(baseline_dir, requests=a.cpu_requests, rounds=a.cpu_rounds)
    t = Table(
        title=f"CPU per POST /diagnosis request (ms, lowest of {a.cpu_rounds} alternating runs "
        f"of {a.cpu_requests:,} requests, batches of 16, 10,000 demo cases) · baseline = code "
        f"of {a.cpu_baseline_ref}"
    )
    for col in ("part", "baseline ms", "this tree ms", "this ÷ baseline"):
        t.add_column(col, justify="left" if col == "part" else "right")
    for part, label in cpu.PARTS.items():
        t.add_row(label, f"{old[part]:.3f}", f"{new[part]:.3f}", f"{new[part] / old[part]:.2f}")
    console.print(t)
    console.print(
        f"process CPU time, load average now {os.getloadavg()[0]:.1f}; the parts are timed "
        "one after another on the same batches, the service and app rows as a whole"
    )


def rest_table(console: Console, a: argparse.Namespace) -> None:
    """Run the REST configurations side by side and print them beside the baseline."""
    t0 = time.perf_counter()
    client = rest.load_client(a.client)
    configs = [rest.config(entry, a.baseline_ref) for entry in a.rest_configs.split(",")]
    with ExitStack() as stack:
        trees = {
            ref: stack.enter_context(rest.checkout(ref))
            for ref in {c.ref for c in configs if c.ref}
        }
        startup, results = rest.run_all(
            configs,
            cases=a.rest_cases,
            requests=a.rest_requests,
            seconds=a.rest_seconds,
            concurrencies=[int(c) for c in a.concurrency.split(",")],
            client=client,
            trees=trees,
            rounds=a.rest_rounds,
            close=a.close_connections,
        )
        differ = compared = 0
        if a.equivalence_queries:
            with rest.checkout(a.baseline_ref) as baseline_dir:
                differ, compared = equivalence.compare(baseline_dir, a.equivalence_queries)
    labels = {c.name: c.label for c in configs}
    base_name = configs[0].name  # ratios are to the first configuration
    base = {(r["run"], r["concurrency"]): r for r in results if r["config"] == base_name}
    t = Table(
        title=f"REST POST /diagnosis · {a.rest_cases:,} demo cases · separate {client} load "
        f"process · ratios to {configs[0].label}"
    )
    for col in (
        "run",
        "conns",
        "server",
        "start s",
        "requests",
        "errors",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "req/s",
        "req/s ÷ base",
        "p99 ÷ base",
        "CPU ms/req",
        "CPU ÷ base",
        "load",
    ):
        t.add_column(col, justify="left" if col == "server" else "right")
    for r in results:
        b = base.get((r["run"], r["concurrency"]))
        t.add_row(
            str(r["run"]),
            str(r["concurrency"]),
            labels[r["config"]],
            f"{startup[r['config']]:.1f}",
            str(r["requests"]),
            str(r["errors"]),
            f"{r['p50_ms']:.1f}",
            f"{r['p90_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.0f}",
            f"{r['throughput_rps']:.0f}",
            f"{r['throughput_rps'] / b['throughput_rps']:.2f}" if b else "",
            f"{r['p99_ms'] / b['p99_ms']:.2f}" if b else "",
            f"{r['server_cpu_ms_per_request']:.3f}",
            f"{r['server_cpu_ms_per_request'] / b['server_cpu_ms_per_request']:.2f}" if b else "",
            f"{r['load_avg_before']:.1f}→{r['load_avg_after']:.1f}",
        )
    console.print(t)
    console.print(
        f"{a.rest_seconds} s per level after a 2 s warm-up, 200 varied bodies, "
        f"{'a new connection per request, ' if a.close_connections else ''}servers "
        "alternating at each level (reversed every other round); CPU ms/req = the server "
        "processes' user+system CPU during the level ÷ its requests (what sets latency at 100 "
        "connections); load = 1-minute load average before→after each level (2 cores, shared). "
        f"REST part took {time.perf_counter() - t0:.0f} s."
    )
    if not compared:
        return
    console.print(
        f"Same answers as the baseline: {compared - differ:,} of {compared:,} (suggestions "
        "without id and time, and similar-case answers, over the same 10,000 demo cases)"
    )


if __name__ == "__main__":
    main()
