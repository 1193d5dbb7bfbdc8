"""Schemathesis over an in-process ASGI app: every operation, bounded examples, no 5xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode

#: Examples per operation and mode: enough to reach odd bodies, small enough for 2 cores.
EXAMPLES = 20


def server_errors(app: Any, headers: dict[str, str], *, examples: int = EXAMPLES) -> list[str]:
    """Fuzz every operation of ``app``'s OpenAPI with valid and invalid requests.

    Returns one line per request the app answered with a 5xx (empty when none did).
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the app's OpenAPI lists no operation"
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                found.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:200]!r} (body {case.body!r:.200})"
                )

        run()
    return found


def operation_server_errors(
    app: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    *,
    path_parameters: Callable[[], dict[str, str]],
    examples: int = EXAMPLES,
) -> list[str]:
    """Fuzz one operation whose path needs live ids (``path_parameters`` makes fresh ones)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    found: list[str] = []

    @given(case=cases)
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        case.path_parameters = path_parameters()
        response = case.call(headers=headers)
        if response.status_code >= 500:
            found.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:200]!r} (body {case.body!r:.200})"
            )

    run()
    return found
