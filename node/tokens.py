"""Bearer tokens for people (doctors, auditors): one rule for what counts as a real one."""

from __future__ import annotations

PLACEHOLDERS = frozenset(
    {"changeme", "change-me", "secret", "token", "password", "doctor", "auditor", "test"}
)
MIN_LENGTH = 16


def require_real_tokens(tokens: list[str], *, role: str) -> list[str]:
    """Return ``tokens`` if each is a random-looking string; raise ValueError naming the fix.

    Used as a pydantic field validator, so the error names the setting that held it.
    """
    for token in tokens:
        if len(token) < MIN_LENGTH or token.lower() in PLACEHOLDERS:
            raise ValueError(
                f"each {role} token must be a random string of at least {MIN_LENGTH} "
                "characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
            )
    return tokens
