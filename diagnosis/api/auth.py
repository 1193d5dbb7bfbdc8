"""Doctor bearer-token check (constant-time against every configured token)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from fastapi import HTTPException, Request, status


def bearer_token(header: str) -> str | None:
    """The token of an 'Authorization: Bearer <token>' header value, or None."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return None
    return given


def is_known_token(given: str, known: Sequence[bytes]) -> bool:
    """Constant-time membership: the time does not depend on which token matched."""
    candidate = given.strip().encode()
    ok = False
    for t in known:  # no early exit
        ok |= hmac.compare_digest(candidate, t)
    return ok


def doctor_auth(tokens: Sequence[str]) -> Callable[[Request], Awaitable[str]]:
    """A dependency that returns the caller's token, or refuses with 401.

    It is ``async`` although it never awaits: FastAPI runs a plain ``def`` dependency in its
    thread pool, and that hop (plus the GIL hand-over) cost more than the whole check.
    """
    known = [t.encode() for t in tokens]

    async def require_doctor(request: Request) -> str:
        given = bearer_token(request.headers.get("authorization", ""))
        if given is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail={
                    "message": "a doctor token is required",
                    "fix": "send the header 'Authorization: Bearer <your doctor token>'",
                },
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not is_known_token(given, known):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail={
                    "message": "the doctor token is not recognised",
                    "fix": "ask IT for a token",
                },
                headers={"WWW-Authenticate": "Bearer"},
            )
        return given

    return require_doctor
