"""The alignment endpoints of a hospital service: a thin FastAPI router over AlignmentParty.

Bodies are raw wire messages (JSON, or binary frames for point batches), decoded and
validated here; a refused message answers 400 with the field at fault and the fix.
Every POST must be signed by an account the service's ``RelayAuth`` allows (unsigned, badly
signed, stale or replayed: 401; a signer that may not relay: 403), and by the relay the
session names (``SessionOpen.relay``: the account whose signature its counts must carry;
another signer: 403); /info is public.
The crypto runs in the thread pool so the event loop keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hospital.alignment.auth import RelayAuth, RelayRefused
from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.messages import (
    CountsDelivery,
    EncodeRequest,
    M,
    Message,
    PointBatch,
    SessionOpen,
    content_type,
    from_wire,
    to_wire,
)
from hospital.alignment.party import AlignmentParty
from node.requestauth import AuthError

PREFIX = "/alignment"


class PartyInfo(BaseModel):
    """GET /alignment/info: the name this hospital answers to in sessions."""

    party: str


class Refusal(BaseModel):
    """The body of a refused message."""

    error: str
    field: str | None
    fix: str | None


def get_party(request: Request) -> AlignmentParty:
    """The hospital's AlignmentParty, kept on the app state by ``install``."""
    party: AlignmentParty = request.app.state.alignment_party
    return party


async def signed_relay(request: Request) -> str:
    """The relay account that signed this request (401 unsigned/bad/replayed, 403 not allowed)."""
    auth: RelayAuth = request.app.state.alignment_auth
    body = await request.body()
    try:
        return await run_in_threadpool(  # the policy may ask the chain
            auth.verify, dict(request.headers), request.method, request.url.path, body
        )
    except AuthError as exc:
        raise HTTPException(401, detail=str(exc)) from exc
    except RelayRefused as exc:
        raise HTTPException(403, detail=str(exc)) from exc


PartyDep = Annotated[AlignmentParty, Depends(get_party)]
RelayDep = Annotated[str, Depends(signed_relay)]
router = APIRouter(prefix=PREFIX, tags=["alignment"])


def _same_relay(party: AlignmentParty, msg: Message, relay: str) -> None:
    """403 unless the request's signer is the relay the session is bound to."""
    named = msg.relay if isinstance(msg, SessionOpen) else party.session_relay(msg.session_id)
    if named is not None and named.lower() != relay.lower():
        raise HTTPException(
            403,
            detail=f"session {msg.session_id} is relayed by {named}; {relay} may not drive it",
        )


async def _answer(
    request: Request, party: AlignmentParty, relay: str, cls: type[M], step: Callable[[M], Message]
) -> Response:
    msg = from_wire(cls, await request.body())
    _same_relay(party, msg, relay)
    reply = await run_in_threadpool(step, msg)
    return Response(content=to_wire(reply), media_type=content_type(type(reply)))


@router.get("/info")
def info(party: PartyDep) -> PartyInfo:
    """Which party this service is."""
    return PartyInfo(party=party.name)


@router.post("/open")
async def open_session(request: Request, party: PartyDep, relay: RelayDep) -> Response:
    """SessionOpen -> SessionAccepted."""
    return await _answer(request, party, relay, SessionOpen, party.open)


@router.post("/encode")
async def encode(request: Request, party: PartyDep, relay: RelayDep) -> Response:
    """EncodeRequest -> PointBatch (this hospital's own set, hop 1)."""
    return await _answer(request, party, relay, EncodeRequest, party.encode)


@router.post("/blind")
async def blind(request: Request, party: PartyDep, relay: RelayDep) -> Response:
    """PointBatch -> PointBatch raised to this hospital's key."""
    return await _answer(request, party, relay, PointBatch, party.blind)


@router.post("/finish")
async def finish(request: Request, party: PartyDep, relay: RelayDep) -> Response:
    """CountsDelivery -> AlignmentReceipt."""
    return await _answer(request, party, relay, CountsDelivery, party.finish)


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AlignmentRefused)
    body = Refusal(error=exc.message, field=exc.field, fix=exc.fix)
    return JSONResponse(status_code=400, content=body.model_dump())


def install(app: FastAPI, party: AlignmentParty, auth: RelayAuth) -> None:
    """Mount the alignment router on a hospital service app, answering as ``party``.

    ``auth`` decides who may drive the alignment (see ``hospital.alignment.auth``).
    """
    app.state.alignment_party = party
    app.state.alignment_auth = auth
    app.include_router(router)
    app.add_exception_handler(AlignmentRefused, _refused)


def create_app(party: AlignmentParty, auth: RelayAuth) -> FastAPI:
    """A stand-alone app with only the alignment endpoints (tests, `fedchain align serve`)."""
    app = FastAPI(title=f"fedchain alignment: {party.name}")
    install(app, party, auth)
    return app
