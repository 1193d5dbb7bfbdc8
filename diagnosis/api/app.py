"""Stand-alone app factory for the diagnosis routes (tests, benchmarks, a single-hospital demo)."""

from __future__ import annotations

from fastapi import FastAPI

from diagnosis.api.errors import install_error_handlers
from diagnosis.api.routes import build_router
from diagnosis.api.settings import DiagnosisSettings
from diagnosis.service import DiagnosisService


def create_app(service: DiagnosisService, settings: DiagnosisSettings) -> FastAPI:
    """A FastAPI app serving the diagnosis router over ``service``."""
    app = FastAPI(
        title="fedchain assisted diagnosis",
        version="0.1.0",
        description="Weighted-similarity case matching (patent CN111180061A, module 5).",
    )
    install_error_handlers(app)
    app.include_router(build_router(service, settings.doctor_tokens))
    return app
