"""Doctor bearer-token check (constant-time against every configured token)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from fastapi import HTTPException, Request, status


def doctor_auth(tokens: Sequence[str]) -> Callable[[Request], Awaitable[str]]:
    """A dependency that returns the caller's token, or refuses with 401.

    It is ``async`` although it never awaits: FastAPI runs a plain ``def`` dependency in its
    thread pool, and that hop (plus the GIL hand-over) cost more than the whole check.
    """
    known = [t.encode() for t in tokens]

    async def require_doctor(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail={
                    "message": "a doctor token is required",
                    "fix": "send the header 'Authorization: Bearer <your doctor token>'",
                },
                headers={"WWW-Authenticate": "Bearer"},
            )
        candidate = given.strip().encode()
        ok = False
        for t in known:  # no early exit: time does not depend on which token matched
            ok |= hmac.compare_digest(candidate, t)
        if not ok:
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
