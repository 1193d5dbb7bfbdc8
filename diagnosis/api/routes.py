"""Thin FastAPI routes of assisted diagnosis and the doctor's page.

The service, its batcher and the doctor tokens live on the app's state (``mount_diagnosis``), and
routes reach them through the named dependencies below. The dependencies are ``async``
although they never await: FastAPI runs a plain ``def`` dependency in its thread pool,
and on two cores that hop cost more than the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from diagnosis.api.auth import checked_doctor
from diagnosis.api.batching import SuggestionBatcher
from diagnosis.api.fastpath import DiagnosisFastPath
from diagnosis.schemas import (
    FINDINGS_EXAMPLE,
    DiagnosisRequest,
    DiagnosisSuggestion,
    Feedback,
    FeedbackReceipt,
    SimilarCases,
    WeightOverrides,
    to_json,
)
from diagnosis.service import DiagnosisService
from diagnosis.weights import WeightSnapshot


@dataclass(frozen=True, slots=True)
class ServedDiagnosis:
    """What the diagnosis routes of one app serve: the service, its batcher, the tokens."""

    service: DiagnosisService
    batcher: SuggestionBatcher
    doctor_tokens: tuple[bytes, ...]


def mount_diagnosis(app: FastAPI, service: DiagnosisService, doctor_tokens: list[str]) -> None:
    """Serve the diagnosis routes on ``app`` over ``service``, POST /diagnosis's fast path first.

    The fast path shares the routes' batcher, so both paths' requests share batches.
    """
    state = ServedDiagnosis(
        service, SuggestionBatcher(service), tuple(t.encode() for t in doctor_tokens)
    )
    app.state.diagnosis = state
    app.include_router(router)
    app.add_middleware(DiagnosisFastPath, batcher=state.batcher, tokens=doctor_tokens)


async def _state(request: Request) -> ServedDiagnosis:
    state: ServedDiagnosis = request.app.state.diagnosis
    return state


async def _service(request: Request) -> DiagnosisService:
    return (await _state(request)).service


async def _batcher(request: Request) -> SuggestionBatcher:
    return (await _state(request)).batcher


async def _doctor(request: Request) -> str:
    known = (await _state(request)).doctor_tokens
    return checked_doctor(request.headers.get("authorization", ""), known)


DoctorDep = Annotated[str, Depends(_doctor)]
ServiceDep = Annotated[DiagnosisService, Depends(_service)]
BatcherDep = Annotated[SuggestionBatcher, Depends(_batcher)]

router = APIRouter()

_PAGE_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown doctor token"},
    422: {"description": "a field is invalid; the reply names it and the fix"},
}
_FINDINGS_BODY = Body(
    openapi_examples={
        "chest pain": {
            "summary": "exertional chest pain with a normal troponin",
            "value": FINDINGS_EXAMPLE,
        }
    }
)


def _web_file(name: str) -> str:
    return resources.files("diagnosis.web").joinpath(name).read_text(encoding="utf-8")


@router.post(
    "/diagnosis",
    response_model=DiagnosisSuggestion,
    tags=["diagnosis"],
    summary="Findings → similar cases, ranked diagnoses, complications, plan, evidence",
    responses=_ERRORS,
)
async def post_diagnosis(
    _: DoctorDep,
    batcher: BatcherDep,
    request: Annotated[DiagnosisRequest, _FINDINGS_BODY],
) -> Response:
    """Concurrent requests are answered together, in the event loop (no thread hop).

    The reply is the suggestion's own JSON rather than FastAPI validating it a second time.
    """
    suggestion = await batcher.suggest(request)
    return Response(to_json(suggestion), media_type="application/json")


@router.post(
    "/diagnosis/{suggestion_id}/feedback",
    response_model=FeedbackReceipt,
    tags=["diagnosis"],
    summary="Accept or adjust a suggestion → a doctor-validated case in the library",
    responses={
        **_ERRORS,
        404: {"description": "unknown suggestion"},
        409: {"description": "feedback already given"},
    },
)
def post_feedback(
    _: DoctorDep,
    service: ServiceDep,
    suggestion_id: Annotated[str, Path(min_length=1, max_length=64)],
    feedback: Feedback,
) -> FeedbackReceipt:
    """The doctor's verdict becomes a doctor-validated case."""
    return service.feedback(suggestion_id, feedback)


@router.get(
    "/cases/{case_id}/similar",
    response_model=SimilarCases,
    tags=["diagnosis"],
    summary="Library cases most similar to a library case",
    responses={**_ERRORS, 404: {"description": "unknown case"}},
)
def get_similar(
    _: DoctorDep,
    service: ServiceDep,
    case_id: Annotated[str, Path(min_length=1, max_length=128)],
    k: Annotated[int, Query(ge=1, le=100, description="how many cases")] = 10,
    threshold: Annotated[float, Query(ge=0, le=1, description="minimum similarity")] = 0.0,
) -> SimilarCases:
    """The library cases most like one library case."""
    return service.similar(case_id, k=k, threshold=threshold)


@router.get(
    "/diagnosis/weights",
    response_model=WeightSnapshot,
    tags=["diagnosis"],
    summary="The attribute weights w_p in force (model or fallback, with overrides)",
    responses=_ERRORS,
)
def get_weights(_: DoctorDep, service: ServiceDep) -> WeightSnapshot:
    """The weights in force."""
    return service.current_weights()


@router.put(
    "/diagnosis/weights/overrides",
    response_model=WeightSnapshot,
    tags=["diagnosis"],
    summary="Replace the clinician overrides of w_p (they win over the model's weights)",
    responses=_ERRORS,
)
def put_overrides(_: DoctorDep, service: ServiceDep, body: WeightOverrides) -> WeightSnapshot:
    """Replace the clinician overrides."""
    return service.set_overrides(body.overrides)


@router.get("/doctor", response_class=HTMLResponse, include_in_schema=False)
def doctor_page() -> HTMLResponse:
    """The doctor's page."""
    return HTMLResponse(_web_file("index.html"))


@router.get("/doctor/{name}", include_in_schema=False)
def doctor_asset(name: str) -> Response:
    """The page's script and style sheet."""
    media = _PAGE_FILES.get(name)
    if media is None:
        return Response(status_code=404)
    return Response(_web_file(name), media_type=media)
