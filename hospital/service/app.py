"""The hospital service: one FastAPI app over the hospital's EMR library.

It answers alignment runs (PSI over its cases and patient tokens), doctors' diagnosis
queries and feedback (validated cases go back into the library), and its health.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

from diagnosis.api.errors import install_error_handlers
from diagnosis.api.routes import mount_diagnosis
from diagnosis.service import DiagnosisService
from hospital.alignment.auth import RelayAuth
from hospital.alignment.party import AlignmentParty
from hospital.alignment.router import install as install_alignment
from hospital.alignment.terms import AlignmentTerms
from hospital.emr.settings import DEV_SALT
from hospital.service.alignment import AlignmentBook
from hospital.service.diagnosis_app import diagnosis_service
from hospital.service.rounds import HospitalRounds, RoundParticipation


class Health(BaseModel):
    """What /health reports."""

    status: str
    hospital: str
    cases: int
    diagnosis_index: int
    applied_round: int = 0


def create_hospital_app(
    *,
    name: str,
    book: AlignmentBook,
    relay_auth: RelayAuth,
    doctor_tokens: list[str],
    diagnosis: DiagnosisService | None = None,
    rounds: Callable[[DiagnosisService], HospitalRounds] | None = None,
    schema_name: str = "general",
    consortium_secret: bytes = DEV_SALT.encode(),
    alignment_terms: AlignmentTerms | None = None,
) -> FastAPI:
    """The hospital's app: alignment, diagnosis, health and (if ``rounds``) round status.

    ``relay_auth`` decides who may drive the alignment endpoints (signed relay requests);
    ``consortium_secret`` (the national-id salt; the devnet's by default) is what the
    alignment canaries derive from, and ``alignment_terms`` the least a session must check.

    ``rounds`` builds the round participation around the diagnosis service; its thread runs
    for the app's lifetime. ``schema_name`` is the consortium schema the diagnosis service
    names diseases and checks query terms by (when ``diagnosis`` is not given).
    """
    service = diagnosis or diagnosis_service(book.store, schema_name=schema_name)
    participation = rounds(service) if rounds is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if participation is not None:
            participation.start()
        try:
            yield
        finally:
            if participation is not None:
                participation.stop()

    app = FastAPI(
        lifespan=lifespan,
        title=f"fedchain hospital: {name}",
        version="0.1.0",
        description="A hospital's EMR library: private alignment, assisted diagnosis.",
    )
    install_error_handlers(app)
    party = AlignmentParty(
        name,
        book.items_for,
        secret=consortium_secret,
        terms=alignment_terms,
        on_result=book.on_result,
    )
    install_alignment(app, party, relay_auth)
    mount_diagnosis(app, service, doctor_tokens)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        return Health(
            status="ok",
            hospital=name,
            cases=book.store.count(),
            diagnosis_index=len(service.index),
            applied_round=participation.status().applied_round if participation else 0,
        )

    @app.get("/rounds", response_model=RoundParticipation, tags=["health"])
    def rounds_status() -> RoundParticipation:
        """The hospital's participation in the training rounds (disabled if not configured)."""
        return participation.status() if participation else RoundParticipation(enabled=False)

    return app
