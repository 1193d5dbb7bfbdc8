"""The EMR store seen through the diagnosis module's CaseLibrary and CaseSink ports."""

from __future__ import annotations

from collections.abc import Iterator

from hospital.emr.records import CaseRecord, Origin
from hospital.emr.store import CaseStore
from node.errors import NotFound, ValidationFailed


class EmrCaseLibrary:
    """Imported and doctor-validated cases answer queries; validated feedback is stored."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store

    def iter_cases(self) -> Iterator[CaseRecord]:
        """Every case a doctor may be shown: pending findings are not evidence yet."""
        return (c for c in self.store.iter_cases() if c.origin is not Origin.PENDING)

    def get_case(self, case_id: str) -> CaseRecord | None:
        """One stored case, or None."""
        try:
            return self.store.get_case(case_id)
        except NotFound:
            return None

    def add_validated_case(self, case: CaseRecord) -> CaseRecord:
        """Store a doctor-validated case (later rounds train on it); return it with its id."""
        if case.origin is not Origin.DOCTOR_VALIDATED:
            raise ValidationFailed(
                f"a case from feedback must be doctor-validated, not {case.origin.value}",
                field="origin",
                fix="send feedback through POST /diagnosis/{id}/feedback",
            )
        case_id = self.store.add_case(case, source="doctor")
        return self.store.get_case(case_id)
