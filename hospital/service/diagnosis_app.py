"""The diagnosis service over a hospital's EMR database, and its apps for uvicorn.

``diagnosis_service(store)`` is what the hospital service mounts. ``create_diagnosis_app``
is a uvicorn factory (``--factory --workers N``) serving only the diagnosis routes over
the database at FEDCHAIN_DATABASE_URL: suggestions live in that database, so feedback
works from any worker and after a restart; before each batch every worker indexes the
cases other workers' feedback added and takes the model, weights and overrides the
hospital service or another worker published (hospital/service/shared_diagnosis.py).
``create_demo_app`` serves a synthetic library (``hospital.datagen``) kept in memory.
"""

from __future__ import annotations

import datetime as dt

import torch
from fastapi import FastAPI

from diagnosis.api.app import create_app, settle_heap
from diagnosis.api.settings import DiagnosisSettings
from diagnosis.ports import InMemoryCaseLibrary, InMemorySuggestionStore, SuggestionStore
from diagnosis.service import DiagnosisService
from diagnosis.vocabulary import Vocabulary
from hospital.datagen.generate import synthetic_cases
from hospital.emr.schema import schema_named
from hospital.emr.settings import EmrSettings
from hospital.emr.store import CaseStore, SqlCaseStore, open_store
from hospital.service.library import EmrCaseLibrary
from hospital.service.rounds import RoundSettings
from hospital.service.shared_diagnosis import SqlSharedDiagnosis
from hospital.service.suggestions import DEFAULT_KEEP, SqlSuggestionStore
from hospital.vectorize import v2_layout


def diagnosis_service(
    store: CaseStore,
    *,
    schema_name: str = "general",
    alpha: float = 0.5,
    keep: dt.timedelta = DEFAULT_KEEP,
) -> DiagnosisService:
    """Diagnosis over the store's cases; suggestions, weights and model in the same database.

    ``schema_name`` is the consortium schema (FEDCHAIN_ROUND_SCHEMA): its diseases name what
    only the model proposes, and its symptoms and labs are the terms a query is checked
    against.
    """
    library = EmrCaseLibrary(store)
    # every store the hospital opens is SQL; another (a test double) keeps them in memory
    engine = store.engine if isinstance(store, SqlCaseStore) else None
    suggestions: SuggestionStore = (
        SqlSuggestionStore(engine, keep=keep) if engine is not None else InMemorySuggestionStore()
    )
    disease_names, vocabulary = _schema_terms(schema_name)
    return DiagnosisService(
        library=library,
        sink=library,
        alpha=alpha,
        suggestions=suggestions,
        disease_names=disease_names,
        vocabulary=vocabulary,
        shared=SqlSharedDiagnosis(engine) if engine is not None else None,
    )


def _schema_terms(schema_name: str) -> tuple[dict[str, str], Vocabulary]:
    """The schema's disease names by ICD-10 code, and its symptom and lab vocabulary."""
    schema = schema_named(schema_name)
    names = {code: name for code, (_, name) in v2_layout(schema).diseases.items()}
    return names, Vocabulary(schema.symptoms, (lab.name for lab in schema.labs))


def create_diagnosis_app() -> FastAPI:
    """Uvicorn factory: the diagnosis routes over FEDCHAIN_DATABASE_URL (one per worker)."""
    settings = DiagnosisSettings()
    # checkpoints of a SQLite WAL on a thread, not inside a batch's commit in the loop
    store = open_store(EmrSettings().database_url, background_checkpoints=True)
    keep = dt.timedelta(days=settings.suggestion_days)
    schema_name = RoundSettings().schema_name  # the consortium schema the network runs
    service = diagnosis_service(store, schema_name=schema_name, alpha=settings.alpha, keep=keep)
    # one forward pass of 16 rows is far too small to gain from torch's thread pool, and
    # each worker's pool would contend for the cores the other workers are using
    torch.set_num_threads(1)
    settle_heap()
    return create_app(service, settings)


def create_demo_app() -> FastAPI:
    """Uvicorn factory: the diagnosis routes over FEDCHAIN_DIAGNOSIS_DEMO_CASES synthetic cases.

    Cases and suggestions stay in this one process (no workers).
    """
    settings = DiagnosisSettings()
    library = InMemoryCaseLibrary(synthetic_cases(settings.demo_cases))
    disease_names, vocabulary = _schema_terms("general")
    service = DiagnosisService(
        library=library,
        sink=library,
        alpha=settings.alpha,
        disease_names=disease_names,
        vocabulary=vocabulary,
    )
    torch.set_num_threads(1)
    settle_heap()
    return create_app(service, settings)
