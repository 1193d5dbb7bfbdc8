"""The small interfaces diagnosis needs from the rest of a hospital, and in-memory versions.

The EMR store implements ``CaseLibrary`` and ``CaseSink``; the training side supplies a
``DiagnosisModel`` (findings → disease code → probability). The in-memory classes serve
tests, benchmarks and the stand-alone app factory.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from hospital.emr.records import CaseRecord, Disease, Origin, Treatment
from node.errors import AlreadyExists, NotFound, ValidationFailed

if TYPE_CHECKING:
    from diagnosis.weights import SharedWeights

DiagnosisModel = Callable[[CaseRecord], Mapping[str, float]]
"""The consortium model as a function: a feature-only case → ICD-10 code → probability."""


@runtime_checkable
class BatchDiagnosisModel(Protocol):
    """A ``DiagnosisModel`` that can also predict several cases in one pass."""

    def __call__(self, case: CaseRecord) -> Mapping[str, float]:
        """ICD-10 code → probability for one feature-only case."""
        ...

    def predict_many(self, cases: Sequence[CaseRecord]) -> Sequence[Mapping[str, float]]:
        """The distribution of each case, in order: what the cases get one by one."""
        ...


def predict_all(model: DiagnosisModel, cases: Sequence[CaseRecord]) -> list[Mapping[str, float]]:
    """The model's distribution for each case: one batch if it is a ``BatchDiagnosisModel``."""
    if isinstance(model, BatchDiagnosisModel):
        return list(model.predict_many(cases))
    return [model(c) for c in cases]


WEIGHTS, OVERRIDES, MODEL = "weights", "overrides", "model"  # the parts of the shared state


@dataclass(frozen=True)
class SharedChanges:
    """What the processes serving a hospital published since one of them last looked."""

    versions: Mapping[str, int]  # part → version, as now seen
    weights: SharedWeights | None  # None: unchanged
    model: DiagnosisModel | None  # None: unchanged

    @property
    def weight_version(self) -> int:
        """A number that grows with every change of the weights (the same in every process)."""
        return self.versions.get(WEIGHTS, 0) + self.versions.get(OVERRIDES, 0)


class SharedDiagnosisState(Protocol):
    """Diagnosis state shared by every process serving one hospital (its database)."""

    def changes_since(self, seen: Mapping[str, int]) -> SharedChanges | None:
        """What changed after the versions in ``seen`` (None: nothing)."""
        ...

    def publish_overrides(self, overrides: Mapping[str, float]) -> None:
        """Make these clinician overrides (already checked) the ones every process uses."""
        ...


@runtime_checkable
class CaseLibrary(Protocol):
    """Read side of the hospital's case library."""

    def iter_cases(self) -> Iterable[CaseRecord]:
        """Every stored case with its case_id (imported and doctor-validated)."""
        ...

    def get_case(self, case_id: str) -> CaseRecord | None:
        """One stored case, or None."""
        ...

    def get_cases(self, case_ids: Sequence[str]) -> dict[str, CaseRecord]:
        """The stored cases among these ids, by id (one read for a whole batch)."""
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

    def get_cases(self, case_ids: Sequence[str]) -> dict[str, CaseRecord]:
        """The known cases among these ids, by id."""
        return {i: c for i in case_ids if (c := self._cases.get(i)) is not None}

    def add_validated_case(self, case: CaseRecord) -> CaseRecord:
        """Store a doctor-validated case and assign its id."""
        if case.origin is not Origin.DOCTOR_VALIDATED:
            raise ValidationFailed("only doctor-validated cases come back", field="origin")
        with self._lock:
            return self._put(case)


class PendingFeedback(BaseModel):
    """What feedback needs of a suggestion: the findings, the leading diagnosis, the plan."""

    model_config = ConfigDict(frozen=True)

    query: CaseRecord
    leader: Disease | None
    plan: tuple[Treatment, ...]


@runtime_checkable
class SuggestionStore(Protocol):
    """Where suggestions wait for the doctor's feedback (the hospital's database, or memory).

    ``claim`` is atomic across processes: exactly one feedback wins a suggestion.
    """

    def put_many(self, items: Sequence[tuple[str, PendingFeedback]]) -> None:
        """Remember suggestions (one write for a batch)."""
        ...

    def get(self, suggestion_id: str) -> PendingFeedback:
        """A stored suggestion, or NotFound."""
        ...

    def claim(self, suggestion_id: str) -> None:
        """Reserve it for one feedback; AlreadyExists if it has (or is getting) one."""
        ...

    def release(self, suggestion_id: str) -> None:
        """Undo a claim whose feedback failed."""
        ...

    def complete(self, suggestion_id: str, case_id: str) -> None:
        """Record the doctor-validated case the feedback created."""
        ...

    def answered_since(self, seq: int) -> tuple[int, list[str]]:
        """(newest answer number, case ids of the answers numbered after ``seq``, in order)."""
        ...


def already_answered(suggestion_id: str, case_id: str | None) -> AlreadyExists:
    """The conflict a second feedback on one suggestion gets (every store says the same)."""
    return AlreadyExists(
        f"suggestion {suggestion_id} already has feedback"
        + (f" (case {case_id})" if case_id else " (being saved)"),
        fix="request a new suggestion for new findings",
    )


def unknown_suggestion(suggestion_id: str) -> NotFound:
    """The reply to feedback on a suggestion no store knows."""
    return NotFound(
        f"suggestion {suggestion_id!r} is unknown or expired",
        fix="request a new suggestion with POST /diagnosis",
    )


_CLAIMED = ""  # feedback in progress: no case id yet


class InMemorySuggestionStore:
    """Recent suggestions in memory (bounded, oldest dropped): tests and the stand-alone demo.

    Each is kept as one JSON string, not as model objects: thousands of stored suggestions
    then cost the garbage collector nothing (object graphs made full passes stall requests).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, str] = OrderedDict()
        self._answered: dict[str, str] = {}
        self._answer_log: list[str] = []
        self._capacity = capacity

    def put_many(self, items: Sequence[tuple[str, PendingFeedback]]) -> None:
        """Remember suggestions."""
        texts = [(sid, pending.model_dump_json()) for sid, pending in items]
        with self._lock:
            for sid, text in texts:
                self._items[sid] = text
            while len(self._items) > self._capacity:
                old, _ = self._items.popitem(last=False)
                self._answered.pop(old, None)

    def get(self, suggestion_id: str) -> PendingFeedback:
        """A stored suggestion, or NotFound."""
        with self._lock:
            text = self._items.get(suggestion_id)
        if text is None:
            raise unknown_suggestion(suggestion_id)
        return PendingFeedback.model_validate_json(text)

    def claim(self, suggestion_id: str) -> None:
        """Reserve the suggestion for one feedback; AlreadyExists if it has (or is getting) one."""
        with self._lock:
            if suggestion_id not in self._items:
                raise unknown_suggestion(suggestion_id)
            done = self._answered.get(suggestion_id)
            if done is None:
                self._answered[suggestion_id] = _CLAIMED
                return
        raise already_answered(suggestion_id, done)

    def release(self, suggestion_id: str) -> None:
        """Undo a claim whose feedback failed."""
        with self._lock:
            if self._answered.get(suggestion_id) == _CLAIMED:
                del self._answered[suggestion_id]

    def complete(self, suggestion_id: str, case_id: str) -> None:
        """Record the case the feedback created."""
        with self._lock:
            self._answered[suggestion_id] = case_id
            self._answer_log.append(case_id)

    def answered_since(self, seq: int) -> tuple[int, list[str]]:
        """(answers so far, case ids of the answers after the first ``seq``)."""
        with self._lock:
            return len(self._answer_log), self._answer_log[seq:]
