"""`fedchain diagnosis …`: serve the diagnosis routes alone (demo library or an EMR database).

It composes hospital parts (the EMR store, the synthetic generator) with the diagnosis
routes, so it lives here: the diagnosis package imports nothing of a hospital but the case
records.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer

from node.errors import ConfigError

app = typer.Typer(help="Assisted diagnosis: similar cases and suggestions for doctors.")


@app.command("new-token")
def new_token() -> None:
    """Print a fresh random doctor token (add it to FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS)."""
    typer.echo(secrets.token_urlsafe(24))


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="address to listen on (loopback by default)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    demo_cases: Annotated[int, typer.Option(min=1, help="synthetic demo cases to load")] = 600,
    database: Annotated[
        str | None,
        typer.Option(
            help="serve this EMR database's cases (sqlite:///… or postgresql+psycopg://…) "
            "instead of demo cases; suggestions are kept in it"
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="worker processes (needs --database)")
    ] = 1,
    access_log: Annotated[
        bool, typer.Option(help="log every request (costs CPU under heavy load)")
    ] = True,
) -> None:
    """Serve the diagnosis API and the doctor's page at /doctor."""
    from diagnosis.api.settings import DiagnosisSettings

    if not DiagnosisSettings().doctor_tokens:
        raise ConfigError(
            "no doctor token is configured, so nobody could use the service",
            fix="export FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS='[\"<token>\"]' "
            "with a token from `fedchain diagnosis new-token`",
        )
    if workers > 1 and database is None:
        raise ConfigError(
            "the demo library keeps suggestions in one process, so it cannot have workers",
            fix="add --database <EMR database URL> (suggestions are shared through it)",
        )
    import uvicorn

    # uvicorn imports the factory in each worker, which reads its settings from the environment
    factory = "hospital.service.diagnosis_app:create_demo_app"
    if database is not None:
        os.environ["FEDCHAIN_DATABASE_URL"] = database
        factory = "hospital.service.diagnosis_app:create_diagnosis_app"
    os.environ["FEDCHAIN_DIAGNOSIS_DEMO_CASES"] = str(demo_cases)
    typer.echo(f"doctor page: http://{host}:{port}/doctor")
    if workers > 1:  # one acceptor hands each connection to the least busy worker
        from node.asgi_workers import serve as serve_workers

        raise typer.Exit(
            serve_workers(
                factory,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=access_log,
            )
        )
    uvicorn.run(factory, factory=True, host=host, port=port, access_log=access_log)
