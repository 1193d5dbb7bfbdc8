"""The small interfaces diagnosis needs from the rest of a hospital, and in-memory versions.

The EMR store implements ``CaseLibrary`` and ``CaseSink``; the training side supplies a
``DiagnosisModel`` (findings → disease code → probability). The in-memory classes serve
tests, benchmarks and the stand-alone app factory.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from hospital.emr.records import CaseRecord, Disease, Origin, Treatment
from node.errors import AlreadyExists, NotFound, ValidationFailed

DiagnosisModel = Callable[[CaseRecord], Mapping[str, float]]
"""The consortium model as a function: a feature-only case → ICD-10 code → probability."""


@runtime_checkable
class CaseLibrary(Protocol):
    """Read side of the hospital's case library."""

    def iter_cases(self) -> Iterable[CaseRecord]:
        """Every stored case with its case_id (imported and doctor-validated)."""
        ...

    def get_case(self, case_id: str) -> CaseRecord | None:
        """One stored case, or None."""
        ...


@runtime_checkable
class CaseSink(Protocol):
    """Write side: where a doctor-validated case goes (the EMR store)."""

    def add_validated_case(self, case: CaseRecord) -> CaseRecord:
        """Store the case; return it with its assigned case_id."""
        ...


class InMemoryCaseLibrary:
    """A dict-backed CaseLibrary and CaseSink (tests, benchmarks, the demo app)."""

    def __init__(self, cases: Iterable[CaseRecord] = ()) -> None:
        self._lock = threading.Lock()
        self._cases: dict[str, CaseRecord] = {}
        for c in cases:
            self._put(c)

    def _put(self, case: CaseRecord) -> CaseRecord:
        if case.case_id is None:
            case = case.model_copy(update={"case_id": f"case-{uuid.uuid4().hex[:12]}"})
        assert case.case_id is not None
        if case.case_id in self._cases:
            raise AlreadyExists(f"case {case.case_id!r} already stored", fix="use a new id")
        self._cases[case.case_id] = case
        return case

    def iter_cases(self) -> Iterable[CaseRecord]:
        """Every case in insertion order."""
        with self._lock:
            return list(self._cases.values())

    def get_case(self, case_id: str) -> CaseRecord | None:
        """One case, or None."""
        return self._cases.get(case_id)

    def add_validated_case(self, case: CaseRecord) -> CaseRecord:
        """Store a doctor-validated case and assign its id."""
        if case.origin is not Origin.DOCTOR_VALIDATED:
            raise ValidationFailed("only doctor-validated cases come back", field="origin")
        with self._lock:
            return self._put(case)


@dataclass
class StoredSuggestion:
    """What feedback needs of a suggestion: the findings, the leading diagnosis, the plan.

    Only these are kept (not the evidence) so that many stored suggestions stay cheap for
    the garbage collector.
    """

    query: CaseRecord
    leader: Disease | None
    plan: tuple[Treatment, ...]
    validated_case_id: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class SuggestionStore:
    """Recent suggestions in memory (bounded, oldest dropped) so feedback can refer to them."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, StoredSuggestion] = OrderedDict()
        self._capacity = capacity

    def put(self, suggestion_id: str, item: StoredSuggestion) -> None:
        """Remember a suggestion."""
        with self._lock:
            self._items[suggestion_id] = item
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def get(self, suggestion_id: str) -> StoredSuggestion:
        """A stored suggestion, or NotFound."""
        with self._lock:
            item = self._items.get(suggestion_id)
        if item is None:
            raise NotFound(
                f"suggestion {suggestion_id!r} is unknown or expired",
                fix="request a new suggestion with POST /diagnosis",
            )
        return item
