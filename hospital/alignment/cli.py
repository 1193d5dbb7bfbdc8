"""`fedchain align`: run a private alignment among hospital services, or among local files.

`serve` starts one hospital's alignment endpoints over an item file; `run` relays a session
among running services, signing every message and every hospital's counts with this node's
account (FEDCHAIN_KEYSTORE or FEDCHAIN_DEVNET_ACCOUNT) and appending a signed line per run to
its audit trail; `audit` reads and checks such a trail; `local` runs the same protocol in
process over item files (demo).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from eth_account import Account
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hospital.alignment.audit import AuditTrail, read_trail
from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.links import LocalLink, PartyLink, WireLog
from hospital.alignment.party import AlignmentParty, ItemSource, PartyResult
from hospital.alignment.receipts import LedgerDomain
from hospital.alignment.relay import Relay
from hospital.alignment.sources import ItemFormat, default_purpose, load_items
from hospital.alignment.summary import RunSummary
from hospital.alignment.terms import AlignmentSettings
from node.errors import ValidationFailed

app = typer.Typer(
    name="align",
    no_args_is_help=True,
    help="Private sample alignment (PSI): which of your items other hospitals also hold.",
)
_out = Console()

PurposeOpt = Annotated[
    AlignmentPurpose | None,
    typer.Option(help="pathology signatures or patient tokens (default: from --format)"),
]
FormatOpt = Annotated[ItemFormat, typer.Option("--format", help="how item files are read")]
MinOpt = Annotated[int, typer.Option(min=1, help="others that must hold an item to share it")]
RunOpt = Annotated[str, typer.Option(help="run id (a number where it is recorded on chain)")]


def _run_with_progress(
    relay: Relay,
    links: list[PartyLink],
    log: WireLog,
    *,
    run: str,
    purpose: AlignmentPurpose,
    min_other: int,
) -> RunSummary:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_out, transient=False) as bar:
        task = bar.add_task("opening session", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        return relay.run(
            links, run=run, purpose=purpose, min_other_holders=min_other, log=log, progress=progress
        )


def _print_summary(summary: RunSummary, min_other: int) -> None:
    table = Table(
        title=f"alignment {summary.run} ({summary.purpose.value}), session {summary.session_id}"
    )
    for col in (
        "hospital",
        "items",
        f"shared (held by >= {min_other} others)",
        "sharedSetHash (for recordAlignment)",
    ):
        table.add_column(col)
    for name in summary.parties:
        r = summary.receipts[name]
        table.add_row(name, str(summary.items(name)), str(r.shared_size), r.shared_set_hash)
    _out.print(table)
    _out.print(
        f"every hospital checked its {summary.canaries_per_party} canaries; "
        f"{summary.seconds:.2f} s, {summary.payload_bytes + summary.framing_bytes:,} bytes on "
        f"the wire ({summary.framing_bytes:,} of them HTTP framing), "
        f"{summary.bytes_per_item:.1f} bytes per item"
    )


def _fixed(items: list[bytes]) -> ItemSource:
    return lambda _purpose: items


@app.command()
def local(
    files: Annotated[list[Path], typer.Argument(help="one item file per hospital")],
    fmt: FormatOpt = ItemFormat.TEXT,
    purpose: PurposeOpt = None,
    min_other_holders: MinOpt = 1,
    run: RunOpt = "local-demo",
    out: Annotated[Path | None, typer.Option(help="write each hospital's result here")] = None,
) -> None:
    """Run the protocol in this process among local item files (one hospital per file)."""
    if len(files) < 2:
        raise ValidationFailed(
            "alignment needs at least two hospitals",
            field="files",
            fix="give two or more item files",
        )
    names = [f.stem for f in files]
    if len(set(names)) != len(names):
        raise ValidationFailed(
            "item files must have distinct names",
            field="files",
            fix="the file name (without suffix) names the hospital",
        )
    sets = {name: load_items(path, fmt) for name, path in zip(names, files, strict=True)}
    results: list[PartyResult] = []

    def keep(result: PartyResult) -> None:
        results.append(result)

    terms = AlignmentSettings().terms()
    secret = secrets.token_bytes(32)  # one process holds every party: any shared secret does
    parties = [
        AlignmentParty(name, _fixed(items), secret=secret, terms=terms, on_result=keep)
        for name, items in sets.items()
    ]
    log = WireLog()
    summary = _run_with_progress(
        Relay(Account.create(), terms=terms),
        [LocalLink(p, log) for p in parties],
        log,
        run=run,
        purpose=purpose or default_purpose(fmt),
        min_other=min_other_holders,
    )
    _print_summary(summary, min_other_holders)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for res in results:
            (out / f"{res.party}.json").write_text(res.model_dump_json(indent=1))
        _out.print(f"each hospital's local result (items, counts, salt) written to {out}/")


def relay_account() -> LocalAccount:
    """The account that signs what the relay sends (checked against the network's chain id)."""
    return _relay_node()[0]


def _relay_node() -> tuple[LocalAccount, LedgerDomain | None, Path]:
    """The relay's account, its network's ledger domain (if any) and its audit trail path."""
    from node.chain.network import NetworkFile
    from node.config import load_settings
    from node.identity import load_identity

    settings = load_settings()
    chain_id, domain = settings.chain_id, None
    if settings.resolved_network_file.exists():
        network = NetworkFile.load(settings.resolved_network_file)
        chain_id = network.chain_id
        domain = LedgerDomain(chain_id=network.chain_id, ledger=network.ledger_address)
    trail = settings.data_dir / "alignment-audit.jsonl"
    return load_identity(settings, chain_id), domain, trail


@app.command("run")
def run_remote(
    urls: Annotated[list[str], typer.Argument(help="alignment service URL of each hospital")],
    purpose: Annotated[AlignmentPurpose, typer.Option(help="what the hospitals align")] = (
        AlignmentPurpose.PATHOLOGY
    ),
    min_other_holders: MinOpt = 1,
    run: RunOpt = "1",
    audit: Annotated[
        Path | None, typer.Option(help="audit trail (JSON lines) to append this run to")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            help="record each hospital's signed outcome on the network file's ledger "
            "(this account must be the admin or an active miner)"
        ),
    ] = True,
) -> None:
    """Relay a session among running hospital services (this process is the relay).

    Every message is signed with this node's account; hospital services accept only the
    consortium's designated relays: the ledger admin and active miners (never a hospital).
    Each hospital's counts are signed too; a signed line per run (completed or refused) is
    appended to the audit trail ($FEDCHAIN_DATA_DIR/alignment-audit.jsonl unless --audit).
    With a network file, the outcomes the hospitals signed are then recorded on chain by
    this account (``recordAlignment``); a refused run records nothing.
    """
    if len(urls) < 2:
        raise ValidationFailed(
            "alignment needs at least two hospitals",
            field="urls",
            fix="give two or more service URLs",
        )
    from hospital.alignment.client import HttpLink

    account, domain, trail = _relay_node()
    relay = Relay(
        account,
        terms=AlignmentSettings().terms(),
        domain=domain,
        trail=AuditTrail(audit or trail, account),
    )
    log = WireLog()
    with httpx.Client() as client:
        links: list[PartyLink] = [HttpLink(u, client, log, account=account) for u in urls]
        summary = _run_with_progress(
            relay, links, log, run=run, purpose=purpose, min_other=min_other_holders
        )
    _print_summary(summary, min_other_holders)
    _out.print(f"signed audit line appended to {relay.trail.path if relay.trail else '-'}")
    if record and domain is not None:
        _record_on_chain(account, summary)


def _record_on_chain(account: LocalAccount, summary: RunSummary) -> None:
    """Record the receipts' signed outcomes on the network file's ledger, as the relay."""
    from hospital.alignment.recording import record_on_chain
    from node.chain.connect import ledger_from_network
    from node.chain.network import NetworkFile
    from node.config import load_settings

    settings = load_settings()
    network = NetworkFile.load(settings.resolved_network_file)
    ledger = ledger_from_network(network, account, settings=settings)
    for r in record_on_chain(ledger, summary.records()):
        _out.print(
            f"recorded for {r.party}: {r.shared_size} shared cases, u = {r.unique_ppm} ppm "
            f"(tx {r.tx_hash[:12]}…)"
        )


@app.command("audit")
def audit_trail(
    path: Annotated[Path, typer.Argument(help="a relay's alignment audit trail (JSON lines)")],
) -> None:
    """Check every line of an alignment audit trail (signed by its relay) and list the runs."""
    lines = read_trail(path)
    table = Table(title=f"{len(lines)} alignment runs in {path}, every line signed by its relay")
    for col in ("when (UTC)", "run", "purpose", "relay", "outcome", "hospital: items/shared"):
        table.add_column(col)
    for line in lines:
        e = line.entry
        sizes = ", ".join(
            f"{p.name}: {'-' if p.set_size is None else p.set_size}/"
            f"{'-' if p.shared_size is None else p.shared_size}"
            for p in e.parties
        )
        outcome = e.outcome if e.accused is None else f"{e.outcome} ({e.accused} accused)"
        when = datetime.fromtimestamp(e.started, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(when, e.run, e.purpose.value, e.relay, outcome, sizes)
    _out.print(table)


@app.command()
def serve(
    name: Annotated[str, typer.Option(help="the name this hospital answers to")],
    items: Annotated[Path, typer.Option(help="this hospital's item file")],
    fmt: FormatOpt = ItemFormat.TEXT,
    purpose: PurposeOpt = None,
    port: Annotated[int, typer.Option(help="loopback port")] = 8650,
    results: Annotated[Path | None, typer.Option(help="directory for local results")] = None,
    relay: Annotated[
        list[str] | None,
        typer.Option(help="account address allowed to relay (signs every message); repeatable"),
    ] = None,
) -> None:
    """Serve one hospital's alignment endpoints on 127.0.0.1 over an item file."""
    import uvicorn

    from hospital.alignment.auth import AllowedRelays, RelayAuth
    from hospital.alignment.router import create_app
    from hospital.emr.settings import EmrSettings

    allowed = [a for a in relay or [] if _is_address(a)]
    if not relay or len(allowed) != len(relay):
        raise ValidationFailed(
            f"--relay must name the relay accounts as 0x addresses, got {relay or []}",
            field="--relay",
            fix="pass --relay 0x<40 hex digits> for each allowed relay",
        )

    loaded = load_items(items, fmt)
    serves = purpose or default_purpose(fmt)

    def items_for(asked: AlignmentPurpose) -> list[bytes]:
        if asked is not serves:
            raise AlignmentRefused(
                f"{name} serves {serves.value} items, not {asked.value}",
                field="purpose",
                fix=f"run the session with {serves.value}",
            )
        return loaded

    def keep(res: PartyResult) -> None:  # a stand-alone service records nothing on chain
        if results is not None:
            results.mkdir(parents=True, exist_ok=True)
            (results / f"{res.session_id}.json").write_text(res.model_dump_json())

    party = AlignmentParty(
        name,
        items_for,
        secret=EmrSettings().salt,  # FEDCHAIN_NATIONAL_ID_SALT: the hospitals' shared secret
        terms=AlignmentSettings().terms(),
        on_result=keep,
    )
    _out.print(f"{name}: {len(loaded)} {serves.value} items on http://127.0.0.1:{port}")
    app_ = create_app(party, RelayAuth(AllowedRelays(allowed)))
    uvicorn.run(app_, host="127.0.0.1", port=port, log_level="warning")


def _is_address(text: str) -> bool:
    return (
        len(text) == 42
        and text.startswith("0x")
        and all(c in "0123456789abcdefABCDEF" for c in text[2:])
    )
