"""Thin FastAPI routes of assisted diagnosis and the doctor's page."""
# No "from __future__ import annotations": FastAPI must see the closure-local DoctorDep alias.

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import HTMLResponse, Response

from diagnosis.api.auth import doctor_auth
from diagnosis.api.batching import SuggestionBatcher
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

_PAGE_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown doctor token"},
    422: {"description": "a field is invalid; the reply names it and the fix"},
}


def _web_file(name: str) -> str:
    return resources.files("diagnosis.web").joinpath(name).read_text(encoding="utf-8")


def build_router(
    service: DiagnosisService, doctor_tokens: list[str], batcher: SuggestionBatcher | None = None
) -> APIRouter:
    """The diagnosis routes over one service; every API route needs a doctor token.

    ``batcher`` is shared with the app's ``DiagnosisFastPath`` when it has one, so that
    both paths' requests are answered in the same batches.
    """
    router = APIRouter()
    batcher = batcher or SuggestionBatcher(service)
    DoctorDep = Annotated[str, Depends(doctor_auth(doctor_tokens))]

    @router.post(
        "/diagnosis",
        response_model=DiagnosisSuggestion,
        tags=["diagnosis"],
        summary="Findings → similar cases, ranked diagnoses, complications, plan, evidence",
        responses=_ERRORS,
    )
    async def post_diagnosis(
        _: DoctorDep,
        request: Annotated[
            DiagnosisRequest,
            Body(
                openapi_examples={
                    "chest pain": {
                        "summary": "exertional chest pain with a normal troponin",
                        "value": FINDINGS_EXAMPLE,
                    }
                }
            ),
        ],
    ) -> Response:
        # Concurrent requests are answered together in the event loop (no thread hop: it
        # costs more than it saves on 2 cores); the reply is the suggestion's own JSON rather
        # than FastAPI validating it a second time (the same bytes as the fast path's).
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
        suggestion_id: Annotated[str, Path(min_length=1, max_length=64)],
        feedback: Feedback,
    ) -> FeedbackReceipt:
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
        case_id: Annotated[str, Path(min_length=1, max_length=128)],
        k: Annotated[int, Query(ge=1, le=100, description="how many cases")] = 10,
        threshold: Annotated[float, Query(ge=0, le=1, description="minimum similarity")] = 0.0,
    ) -> SimilarCases:
        return service.similar(case_id, k=k, threshold=threshold)

    @router.get(
        "/diagnosis/weights",
        response_model=WeightSnapshot,
        tags=["diagnosis"],
        summary="The attribute weights w_p in force (model or fallback, with overrides)",
        responses=_ERRORS,
    )
    def get_weights(_: DoctorDep) -> WeightSnapshot:
        return service.current_weights()

    @router.put(
        "/diagnosis/weights/overrides",
        response_model=WeightSnapshot,
        tags=["diagnosis"],
        summary="Replace the clinician overrides of w_p (they win over the model's weights)",
        responses=_ERRORS,
    )
    def put_overrides(_: DoctorDep, body: WeightOverrides) -> WeightSnapshot:
        return service.set_overrides(body.overrides)

    @router.get("/doctor", response_class=HTMLResponse, include_in_schema=False)
    def doctor_page() -> HTMLResponse:
        return HTMLResponse(_web_file("index.html"))

    @router.get("/doctor/{name}", include_in_schema=False)
    def doctor_asset(name: str) -> Response:
        media = _PAGE_FILES.get(name)
        if media is None:
            return Response(status_code=404)
        return Response(_web_file(name), media_type=media)

    return router
