"""POST /diagnosis without FastAPI's per-request machinery, for requests with nothing wrong.

FastAPI's routing, dependency solving, body parsing and validation cost ~0.15 ms of CPU
per request: measured in one alternating run (issue 24, benchmarks/diagnosis/README.md),
serving without this layer made the p99 at 100 connections 1.30–1.50× and the CPU per
request 1.46–1.60× in three rounds of four, past the 20 % a home-made piece must save.
This Starlette middleware answers a POST /diagnosis itself when the doctor token is known,
the body is JSON of a valid ``DiagnosisRequest`` and small: the same batcher, the same
reply bytes. Anything else (no or unknown token, invalid body, another route) goes on to
the FastAPI route with the body replayed, so its 401 and readable 422 replies, its OpenAPI
and its examples stay the one definition of the endpoint. It relies on FastAPI agreeing
with ``DiagnosisRequest.model_validate_json`` on what is valid, so fastapi, starlette and
pydantic are pinned below their next minor versions and the test compares the two paths
request by request.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from diagnosis.api.auth import bearer_token, is_known_token
from diagnosis.api.batching import SuggestionBatcher
from diagnosis.api.errors import fedchain_error_reply
from diagnosis.schemas import DiagnosisRequest, to_json
from node.errors import FedchainError

PATH = "/diagnosis"
MAX_FAST_BODY = 256 * 1024  # a findings body is ~1 KB; a larger one takes the full path


class DiagnosisFastPath:
    """ASGI middleware (``app.add_middleware``): answers valid, authorised POST /diagnosis."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        batcher: SuggestionBatcher,
        tokens: Sequence[str],
        max_body: int | None = None,
    ) -> None:
        self.app = app
        self.batcher = batcher
        self.known = [t.encode() for t in tokens]
        self.max_body = MAX_FAST_BODY if max_body is None else max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a valid, authorised POST /diagnosis; hand anything else to the app."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive, self.max_body)
        request = self._parse(scope, body) if complete else None
        if request is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        try:
            suggestion = await self.batcher.suggest(request)
        except FedchainError as exc:  # the FastAPI app's own mapping of domain errors
            status, payload = fedchain_error_reply(exc)
            await JSONResponse(payload, status_code=status)(scope, receive, send)
            return
        reply = to_json(suggestion)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(reply)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    def _parse(self, scope: Scope, body: bytes) -> DiagnosisRequest | None:
        """The request if it may take the fast path: known token, JSON body, valid."""
        authorization = content_type = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value
        if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
            return None
        token = bearer_token(authorization.decode("latin-1"))
        if token is None or not is_known_token(token, self.known):
            return None
        try:
            return DiagnosisRequest.model_validate_json(body)
        except ValidationError:
            return None


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """(body so far, whether it is whole): stops reading once past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive that hands over what was already read, then the rest of the stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay
