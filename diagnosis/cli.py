"""`fedchain diagnosis …`: run the stand-alone diagnosis demo service, make doctor tokens."""

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
) -> None:
    """Serve the diagnosis API and the doctor's page at /doctor over a synthetic library."""
    from diagnosis.api.settings import DiagnosisSettings

    if not DiagnosisSettings().doctor_tokens:
        raise ConfigError(
            "no doctor token is configured, so nobody could use the service",
            fix="export FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS='[\"<token>\"]' "
            "with a token from `fedchain diagnosis new-token`",
        )
    import uvicorn

    os.environ["FEDCHAIN_DIAGNOSIS_DEMO_CASES"] = str(demo_cases)
    typer.echo(f"doctor page: http://{host}:{port}/doctor")
    uvicorn.run("diagnosis.demo:create_demo_app", factory=True, host=host, port=port)
