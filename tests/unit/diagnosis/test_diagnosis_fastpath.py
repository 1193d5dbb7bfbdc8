"""POST /diagnosis's fast path: it answers valid requests itself, exactly as FastAPI would.

Every request goes both to an app with the fast path (as ``mount_diagnosis`` builds it,
the requests that pass it counted) and to the same routes without it; status and reply
must be the same (a suggestion's id and time aside). This is the interface the fast path
relies on: FastAPI's route and pydantic's JSON validation agreeing on every request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from diagnosis.api import fastpath
from diagnosis.api.batching import SuggestionBatcher
from diagnosis.api.errors import install_error_handlers
from diagnosis.api.routes import ServedDiagnosis, mount_diagnosis, router
from diagnosis.ports import InMemoryCaseLibrary
from diagnosis.service import DiagnosisService
from hospital.datagen.generate import synthetic_cases
from hospital.emr.records import CaseRecord
from node.errors import FedchainError

TOKEN = "doctor-token-0123456789abcdef"
FINDINGS: dict[str, Any] = {
    "patient_id": "p-fast",
    "symptoms": [
        {"name": "cough", "duration_days": 5, "onset": "gradual", "severity": 6},
        {"name": "high_fever", "duration_days": 4, "onset": "sudden", "severity": 6},
    ],
    "labs": [{"name": "crp", "value": 110, "normal_low": 0, "normal_high": 5}],
    "top_k": 5,
    "threshold": 0.3,
}
JSON = [(b"content-type", b"application/json")]
BEARER = [(b"authorization", f"Bearer {TOKEN}".encode())]


class Counting:
    """ASGI middleware that counts the HTTP requests handed on to the app."""

    def __init__(self, app: Any, counter: list[int]) -> None:
        self.app, self.counter = app, counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.counter[0] += 1
        await self.app(scope, receive, send)


def _plain_routes(service: DiagnosisService) -> FastAPI:
    """The diagnosis routes without the fast path."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.diagnosis = ServedDiagnosis(service, SuggestionBatcher(service), (TOKEN.encode(),))
    app.include_router(router)
    return app


def _both_ways(library: InMemoryCaseLibrary) -> tuple[FastAPI, FastAPI, list[int]]:
    """The plain routes; the routes as mounted (fast path first); how many passed it."""
    plain = _plain_routes(DiagnosisService(library=library, sink=library))
    fast = FastAPI()
    install_error_handlers(fast)
    passed = [0]
    fast.add_middleware(Counting, counter=passed)  # inside the fast path: added first
    mount_diagnosis(fast, DiagnosisService(library=library, sink=library), [TOKEN])
    return plain, fast, passed


async def _call(
    app: Any, body: bytes, headers: Sequence[tuple[bytes, bytes]], chunk: int | None = None
) -> tuple[int, dict[str, Any]]:
    """One POST /diagnosis into an ASGI app (the body in chunks if asked); status, JSON."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/diagnosis",
        "raw_path": b"/diagnosis",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "headers": [(b"host", b"test"), *headers],
    }
    step = chunk or max(1, len(body))
    pieces = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
        for i, p in enumerate(pieces)
    ]
    replies: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        replies.append(message)

    await app(scope, receive, send)
    payload = b"".join(m.get("body", b"") for m in replies[1:])
    return replies[0]["status"], json.loads(payload)


def _comparable(status: int, reply: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return status, {k: v for k, v in reply.items() if k not in {"suggestion_id", "created_at"}}


CASES: list[tuple[str, bytes, list[tuple[bytes, bytes]]]] = [
    ("valid", json.dumps(FINDINGS).encode(), JSON + BEARER),
    (
        "json with charset",
        json.dumps(FINDINGS).encode(),
        [(b"content-type", b"application/json; charset=utf-8"), *BEARER],
    ),
    ("no token", json.dumps(FINDINGS).encode(), JSON),
    (
        "unknown token",
        json.dumps(FINDINGS).encode(),
        JSON + [(b"authorization", b"Bearer not-a-doctor")],
    ),
    ("basic auth", json.dumps(FINDINGS).encode(), JSON + [(b"authorization", b"Basic abc")]),
    (
        "severity out of range",
        json.dumps(
            {**FINDINGS, "symptoms": [{**FINDINGS["symptoms"][0], "severity": 11}]}
        ).encode(),
        JSON + BEARER,
    ),
    ("unknown field", json.dumps({**FINDINGS, "colour": "red"}).encode(), JSON + BEARER),
    ("top_k zero", json.dumps({**FINDINGS, "top_k": 0}).encode(), JSON + BEARER),
    ("not json", b"{symptoms: cough", JSON + BEARER),
    ("empty body", b"", JSON + BEARER),
]


@pytest.mark.parametrize(("name", "body", "headers"), CASES, ids=[c[0] for c in CASES])
def test_fast_path_replies_as_the_routes_do(
    name: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    plain, fast, passed = _both_ways(InMemoryCaseLibrary(synthetic_cases(120, seed=11)))

    expected = asyncio.run(_call(plain, body, headers))
    got = asyncio.run(_call(fast, body, headers, chunk=97))  # the body arrives in pieces
    assert _comparable(*got) == _comparable(*expected)
    handled_in_front = name in {"valid", "json with charset"}
    assert expected[0] == (
        200 if handled_in_front else 401 if "auth" in name or "token" in name else 422
    )
    assert passed == [0 if handled_in_front else 1]


def test_a_body_over_the_limit_is_answered_by_the_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastpath, "MAX_FAST_BODY", 64)
    _, fast, passed = _both_ways(InMemoryCaseLibrary(synthetic_cases(60, seed=3)))
    status, reply = asyncio.run(_call(fast, json.dumps(FINDINGS).encode(), JSON + BEARER, 40))
    assert status == 200 and reply["patient_id"] == "p-fast"
    assert passed == [1]


class FailingLibrary(InMemoryCaseLibrary):
    """A library whose record store is unreachable (the error a database outage gives)."""

    def get_cases(self, case_ids: Sequence[str]) -> dict[str, CaseRecord]:
        raise FedchainError("the case records cannot be read", fix="check the EMR database")


def test_a_service_error_gets_the_same_reply_on_both_paths() -> None:
    plain, fast, passed = _both_ways(FailingLibrary(synthetic_cases(60, seed=3)))
    body = json.dumps(FINDINGS).encode()
    expected = asyncio.run(_call(plain, body, JSON + BEARER))
    got = asyncio.run(_call(fast, body, JSON + BEARER))
    assert got == expected
    assert got[0] == 500 and got[1]["fix"] == "check the EMR database"
    assert passed == [0]
