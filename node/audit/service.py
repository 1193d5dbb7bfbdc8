"""The auditor's read-only HTTP service: report, rounds, contributions, rewards, exports, page."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Sequence
from importlib.resources import files
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from pydantic import BaseModel

from node.audit.auditor import Auditor
from node.audit.export import to_csv, to_json
from node.audit.models import (
    AuditReport,
    CheckResult,
    Contribution,
    MinerWork,
    Reward,
    RoundRecord,
)
from node.errors import ConfigError, FedchainError

_WEB = files("node.audit.web")
_ASSETS = {"app.js": "text/javascript", "app.css": "text/css"}


class Verification(BaseModel):
    """The verdict and every check."""

    verified: bool
    failed: int
    checks: list[CheckResult]


class ReportCache:
    """Recomputes the report at most every ``seconds`` (one audit at a time)."""

    def __init__(self, auditor: Auditor, seconds: float) -> None:
        self.auditor = auditor
        self.seconds = seconds
        self._lock = threading.Lock()
        self._report: AuditReport | None = None
        self._at = 0.0

    def get(self) -> AuditReport:
        """The latest report, recomputed when older than the cache period."""
        with self._lock:
            if self._report is None or time.monotonic() - self._at >= self.seconds:
                self._report = self.auditor.report()
                self._at = time.monotonic()
            return self._report


def _report(request: Request) -> AuditReport:
    cache: ReportCache = request.app.state.cache
    return cache.get()


Report = Annotated[AuditReport, Depends(_report)]


def auditor_auth(tokens: Sequence[str]):  # noqa: ANN201 - a FastAPI dependency
    """A dependency that accepts only a configured auditor bearer token (constant time)."""
    known = [t.encode() for t in tokens]

    def require_auditor(request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        ok = False
        for t in known:  # no early exit: timing does not depend on which token matched
            ok |= hmac.compare_digest(given.strip().encode(), t)
        if scheme.lower() != "bearer" or not ok:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail={
                    "message": "an auditor token is required",
                    "fix": "send 'Authorization: Bearer <auditor token>' "
                    "(one of FEDCHAIN_AUDITOR_TOKENS)",
                },
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_auditor


def create_app(auditor: Auditor, *, tokens: Sequence[str], cache_seconds: float = 5.0) -> FastAPI:
    """The auditor service; every /api route needs an auditor token; nothing writes."""
    if not tokens:
        raise ConfigError(
            "no auditor token configured", fix="set FEDCHAIN_AUDITOR_TOKENS='[\"<random token>\"]'"
        )
    cache = ReportCache(auditor, cache_seconds)
    app = FastAPI(
        title="fedchain auditor",
        version="1",
        description="Read-only audit of the fedchain ledger and blob store.",
    )
    app.state.cache = cache

    @app.exception_handler(FedchainError)
    async def unavailable(request: Request, exc: FedchainError) -> JSONResponse:
        """The chain or the blob sources cannot be read: 503 with the fix, never a 500."""
        return JSONResponse({"detail": {"message": exc.message, "fix": exc.fix}}, status_code=503)

    auth = [Depends(auditor_auth(tokens))]

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness (no token needed, no data)."""
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/audit")

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        """The auditor's page (static; it fetches the API with the token typed in)."""
        return HTMLResponse(_WEB.joinpath("index.html").read_text())

    @app.get("/audit/{asset}", include_in_schema=False)
    def asset(asset: str) -> Response:
        if asset not in _ASSETS:
            raise HTTPException(404, detail="no such asset")
        return Response(_WEB.joinpath(asset).read_text(), media_type=_ASSETS[asset])

    @app.get("/api/report", response_model=AuditReport, dependencies=auth)
    def get_report(r: Report) -> AuditReport:
        """Everything: history, contributions, miners' work, rewards, balances, checks."""
        return r

    @app.get("/api/rounds", response_model=list[RoundRecord], dependencies=auth)
    def rounds(r: Report) -> list[RoundRecord]:
        """Every round with its updates, votes, refusals, hold-out reports and outcome."""
        return r.rounds

    @app.get("/api/rounds/{round_id}", response_model=RoundRecord, dependencies=auth)
    def one_round(round_id: int, r: Report) -> RoundRecord:
        """One round."""
        for x in r.rounds:
            if x.round == round_id:
                return x
        raise HTTPException(
            404,
            detail={
                "message": f"no round {round_id} on the ledger",
                "fix": "list rounds with GET /api/rounds",
            },
        )

    @app.get("/api/contributions", response_model=list[Contribution], dependencies=auth)
    def contributions(r: Report) -> list[Contribution]:
        """Accepted samples and credits per hospital per round."""
        return r.contributions

    @app.get("/api/miners", response_model=list[MinerWork], dependencies=auth)
    def miners(r: Report) -> list[MinerWork]:
        """Each miner's verification and packing work per round."""
        return r.miner_work

    @app.get("/api/rewards", response_model=list[Reward], dependencies=auth)
    def rewards(r: Report) -> list[Reward]:
        """Credits per account per sealed round, recomputed from events."""
        return r.rewards

    @app.get("/api/verification", response_model=Verification, dependencies=auth)
    def verification(r: Report) -> Verification:
        """The verdict and every check (ok / failed / skipped with what and where)."""
        return Verification(verified=r.verified, failed=len(r.failures()), checks=r.checks)

    @app.get("/api/export.json", dependencies=auth, response_class=PlainTextResponse)
    def export_json(r: Report) -> Response:
        """The report as a JSON download."""
        return Response(
            to_json(r),
            media_type="application/json",
            headers={"content-disposition": "attachment; filename=audit.json"},
        )

    @app.get("/api/export.csv", dependencies=auth, response_class=PlainTextResponse)
    def export_csv(r: Report) -> Response:
        """The flat CSV table as a download."""
        return Response(
            to_csv(r),
            media_type="text/csv",
            headers={"content-disposition": "attachment; filename=audit.csv"},
        )

    return app
