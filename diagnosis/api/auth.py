"""Doctor bearer-token check (constant-time against every configured token)."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from fastapi import HTTPException, status


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


def checked_doctor(authorization: str, known: Sequence[bytes]) -> str:
    """The doctor's token from an Authorization header value, or a 401 naming the fix."""
    given = bearer_token(authorization)
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
            detail={"message": "the doctor token is not recognised", "fix": "ask IT for a token"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return given
