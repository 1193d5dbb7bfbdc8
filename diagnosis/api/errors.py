"""Readable error replies: a bad request names the field and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from node.errors import AlreadyExists, FedchainError, NotFound, ValidationFailed


def field_path(loc: Sequence[int | str]) -> str:
    """('body', 'symptoms', 0, 'severity') → 'symptoms[0].severity'; other places keep theirs."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or (str(loc[0]) if loc else "body")


def fix_for(error: dict[str, Any]) -> str:
    """A short instruction for one pydantic error."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return "add this field"
    if kind == "extra_forbidden":
        return "remove this field (it is not part of the request)"
    if kind in {"less_than_equal", "less_than"}:
        return f"use a value ≤ {ctx.get('le', ctx.get('lt'))}"
    if kind in {"greater_than_equal", "greater_than"}:
        return f"use a value ≥ {ctx.get('ge', ctx.get('gt'))}"
    if kind == "enum":
        return f"use one of {ctx.get('expected')}"
    if kind in {"float_parsing", "float_type", "int_parsing", "int_type"}:
        return "send a number"
    if kind in {"string_too_short", "too_short"}:
        return "fill it in"
    if kind in {"string_too_long", "too_long"}:
        return "shorten it"
    if kind == "json_invalid":
        return "send a valid JSON body"
    return "correct this value"


def _validation_reply(exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append({"field": field_path(e.get("loc", ())), "problem": msg, "fix": fix_for(e)})
    summary = "; ".join(f"{x['field']}: {x['problem']} ({x['fix']})" for x in errors[:5])
    return JSONResponse(status_code=422, content={"message": summary, "errors": errors})


def fedchain_error_reply(exc: FedchainError) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of a fedchain error: its message, fix and field."""
    status = 500
    body: dict[str, Any] = {"message": exc.message, "fix": exc.fix}
    if isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, AlreadyExists):
        status = 409
    elif isinstance(exc, ValidationFailed):
        status = 422
        body["errors"] = [{"field": exc.field, "problem": exc.message, "fix": exc.fix}]
    return status, body


def install_error_handlers(app: FastAPI) -> None:
    """Register the readable 422 and the fedchain error → HTTP status mapping on an app."""

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_reply(exc)

    async def on_fedchain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FedchainError)
        status, body = fedchain_error_reply(exc)
        return JSONResponse(status_code=status, content=body)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(FedchainError, on_fedchain)
