"""The miner's HTTP service: thin routes over miner.intake, plus the chain watcher thread."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from miner.duties import MinerNode
from miner.intake import store_blob, submit_update
from miner.watcher import run_forever
from node.blobstore import normalise_hash
from node.errors import IntegrityError, NotFound, ValidationFailed
from node.requestauth import AuthError, ReplayGuard, verify_request
from node.roundwire import (
    BlobStored,
    BlobUpload,
    MinerStatus,
    ReceiptStatus,
    UpdateReceipt,
    UpdateSubmission,
)

M = TypeVar("M", bound=BaseModel)


class MinerRuntime:
    """The node, the lock that serialises chain writes, the replay guard, the watcher."""

    def __init__(self, node: MinerNode, *, tick_interval: float | None) -> None:
        self.node = node
        self.lock = threading.Lock()
        self.guard = ReplayGuard()
        self.tick_interval = tick_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the chain watcher (if an interval was given)."""
        if self.tick_interval is None:
            return

        def locked_tick_loop() -> None:
            locked = _Locked(self)
            run_forever(locked, interval=self.tick_interval or 1.0, stop=self._stop.is_set)

        self._thread = threading.Thread(target=locked_tick_loop, name="chain-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the watcher and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


class _Locked:
    """A MinerNode whose tick holds the runtime lock (what run_forever drives)."""

    def __init__(self, runtime: MinerRuntime) -> None:
        self.runtime = runtime

    def tick(self) -> None:
        with self.runtime.lock:
            self.runtime.node.tick()


async def _signed_body(request: Request) -> tuple[str, bytes]:
    body = await request.body()
    runtime: MinerRuntime = request.app.state.runtime
    try:
        signer = verify_request(
            dict(request.headers), request.method, request.url.path, body, guard=runtime.guard
        )
    except AuthError as exc:
        raise HTTPException(401, detail=str(exc)) from exc
    return signer, body


def _runtime(request: Request) -> MinerRuntime:
    runtime: MinerRuntime = request.app.state.runtime
    return runtime


SignedBody = Annotated[tuple[str, bytes], Depends(_signed_body)]
Runtime = Annotated[MinerRuntime, Depends(_runtime)]


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        # via pydantic's own JSON: raw errors() hold the input bytes (and exceptions in ctx),
        # which the response cannot serialise (a 500); the input is not echoed back either
        detail = json.loads(exc.json(include_url=False, include_input=False))
        raise HTTPException(422, detail=detail) from exc


def create_app(node: MinerNode, *, tick_interval: float | None = 0.5) -> FastAPI:
    """The miner service around ``node``; the watcher ticks every ``tick_interval`` seconds."""
    runtime = MinerRuntime(node, tick_interval=tick_interval)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(title="fedchain miner", lifespan=lifespan)
    app.state.runtime = runtime

    @app.post("/updates", response_model=UpdateReceipt, responses={422: {"model": UpdateReceipt}})
    def post_update(signed: SignedBody, rt: Runtime) -> JSONResponse:
        """A hospital submits its signed encrypted update (signed request)."""
        signer, body = signed
        submission = _parse(UpdateSubmission, body)
        try:
            with rt.lock:
                receipt = submit_update(node=rt.node, signer=signer, submission=submission)
        except NotFound as exc:
            raise HTTPException(403, detail=str(exc)) from exc
        except ValidationFailed as exc:
            raise HTTPException(422, detail=str(exc)) from exc
        code = 200 if receipt.status is ReceiptStatus.PROPOSED else 422
        return JSONResponse(receipt.model_dump(mode="json"), status_code=code)

    @app.post("/blobs", response_model=BlobStored)
    def post_blob(signed: SignedBody, rt: Runtime) -> BlobStored:
        """A member pushes a blob (replication); it is kept only if it matches its hash."""
        signer, body = signed
        upload = _parse(BlobUpload, body)
        try:
            return store_blob(node=rt.node, signer=signer, upload=upload)
        except NotFound as exc:
            raise HTTPException(403, detail=str(exc)) from exc
        except (IntegrityError, ValidationFailed, ValueError) as exc:
            raise HTTPException(422, detail=str(exc)) from exc

    @app.get("/blobs/{digest}")
    def get_blob(digest: str, rt: Runtime, local: bool = False) -> Response:
        """Any blob by its sha256, from this store or (unless ``local``) a peer's.

        Miners ask each other with ``local=true`` so a missing blob cannot bounce between
        them; readers re-check the hash either way.
        """
        try:
            key = normalise_hash(digest)
            data = rt.node.store.get(key) if local else rt.node.blob(key)
        except ValidationFailed as exc:
            raise HTTPException(422, detail=str(exc)) from exc
        except (NotFound, IntegrityError) as exc:
            raise HTTPException(404, detail=str(exc)) from exc
        return Response(data, media_type="application/octet-stream")

    @app.get("/status", response_model=MinerStatus)
    def status(rt: Runtime) -> MinerStatus:
        """Where this miner is."""
        view = rt.node.view
        return MinerStatus(
            miner=rt.node.me,
            hospital=view.paired_hospital(rt.node.me) if view.pairs else "",
            cursor=view.cursor,
            current_round=view.current_round,
            phase=rt.node.status_phase(),
            blobs=sum(1 for _ in rt.node.store),
        )

    return app
