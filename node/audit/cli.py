"""`fedchain audit`: print or export the audit report, or serve the auditor's API and page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from node.audit.export import to_csv, to_json
from node.audit.models import AuditReport, CheckStatus
from node.audit.settings import build_auditor, load_auditor_settings

app = typer.Typer(
    help="Audit the ledger: rounds, contributions, rewards, verification.", no_args_is_help=True
)

_STYLE = {CheckStatus.OK: "green", CheckStatus.FAILED: "bold red", CheckStatus.SKIPPED: "yellow"}


def _short(address: str) -> str:
    return address[:8] + "…" + address[-4:] if len(address) > 14 else address


def print_report(report: AuditReport, console: Console) -> None:
    """Rich tables: rounds, rejections, contributions and rewards, miners, failed checks."""
    rounds = Table(title=f"Rounds (ledger {report.ledger}, block {report.block})")
    for col in (
        "round",
        "outcome",
        "accepted",
        "refused",
        "samples",
        "hold-out before→after",
        "quality",
        "credits",
        "reason",
    ):
        rounds.add_column(col)
    for r in report.rounds:
        before, after = r.mean_holdout_before(), r.mean_holdout_after()
        holdout = f"{before:.3f} → {after:.3f}" if before is not None and after is not None else ""
        refused = sum(1 for u in r.updates if u.outcome.value == "refused") + len(r.refusals)
        rounds.add_row(
            str(r.round),
            r.outcome.value,
            str(len(r.accepted())),
            str(refused),
            str(sum(u.sample_count for u in r.accepted())),
            holdout,
            f"{r.quality_factor:.2f}",
            str(r.hospital_credits + r.miner_credits),
            r.rejection_reason,
        )
    console.print(rounds)
    rejections = Table(title="Rejections")
    for col in ("round", "what", "hospital", "by", "reason"):
        rejections.add_column(col)
    for r in report.rounds:
        for u in r.updates:
            for v in u.votes:
                if v.reason:
                    rejections.add_row(
                        str(r.round),
                        f"update {u.update_id}",
                        _short(u.hospital),
                        _short(v.miner),
                        v.reason,
                    )
        for x in r.refusals:
            rejections.add_row(
                str(r.round), "submission", _short(x.hospital), _short(x.miner), x.reason
            )
        if r.rejection_reason:
            rejections.add_row(str(r.round), "round", "", _short(r.rejected_by), r.rejection_reason)
    console.print(rejections)
    contrib = Table(title="Contributions and rewards per hospital per round")
    for col in (
        "round",
        "pair",
        "hospital",
        "proposed",
        "accepted samples",
        "credits",
        "settlement",
    ):
        contrib.add_column(col)
    for c in report.contributions:
        contrib.add_row(
            str(c.round),
            str(c.pair_index),
            _short(c.hospital),
            str(c.proposed_samples),
            str(c.accepted_samples),
            str(c.credits),
            f"{c.settlement:g}",
        )
    console.print(contrib)
    miners = Table(title="Miners' verification and packing work")
    for col in (
        "round",
        "pair",
        "miner",
        "proposed",
        "approved",
        "rejected",
        "packed",
        "attested",
        "partials",
        "credits",
    ):
        miners.add_column(col)
    for m in report.miner_work:
        miners.add_row(
            str(m.round),
            str(m.pair_index),
            _short(m.miner),
            str(m.proposals),
            str(m.approvals),
            str(m.rejections),
            "yes" if m.packed else "",
            "yes" if m.attested else "",
            str(m.partials),
            str(m.credits),
        )
    console.print(miners)
    checks = Table(title="Verification")
    for col in ("check", "ok", "failed", "skipped"):
        checks.add_column(col)
    for kind in sorted({c.kind for c in report.checks}):
        mine = [c for c in report.checks if c.kind is kind]
        checks.add_row(
            kind.value, *(str(sum(1 for c in mine if c.status is s)) for s in CheckStatus)
        )
    console.print(checks)
    for k in report.checks:
        if k.status is not CheckStatus.OK:
            console.print(
                f"[{_STYLE[k.status]}]{k.status.value}[/] {k.kind.value}: {k.subject} — {k.detail}"
            )
    verdict = "[green]VERIFIED[/]" if report.verified else "[bold red]NOT VERIFIED[/]"
    console.print(
        f"{verdict}: {len(report.checks)} checks, {len(report.failures())} failed; "
        f"total supply {report.total_supply}"
    )


@app.command()
def report(
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the report as JSON to this file ('-' for stdout)."),
    ] = None,
    csv_out: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write the flat CSV table to this file ('-' for stdout)."),
    ] = None,
) -> None:
    """Reconstruct and verify the ledger; exit code 1 if any check fails."""
    auditor = build_auditor(load_auditor_settings())
    result = auditor.report()
    to_stdout = str(json_out) == "-" or str(csv_out) == "-"
    if not to_stdout:
        print_report(result, Console())
    for target, text in ((json_out, to_json), (csv_out, to_csv)):
        if target is None:
            continue
        if str(target) == "-":
            typer.echo(text(result))
        else:
            target.write_text(text(result))
    if not result.verified:
        raise typer.Exit(1)


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default FEDCHAIN_AUDITOR_PORT).")] = None,
) -> None:
    """Serve the read-only auditor API and its web page on loopback."""
    import uvicorn

    from node.audit.service import create_app

    settings = load_auditor_settings(**({"auditor_port": port} if port is not None else {}))
    app_ = create_app(
        build_auditor(settings),
        tokens=settings.auditor_tokens,
        cache_seconds=settings.auditor_cache_seconds,
    )
    uvicorn.run(app_, host=settings.auditor_host, port=settings.auditor_port, log_level="warning")
