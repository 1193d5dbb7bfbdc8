"""The EMR store seen through the diagnosis module's CaseLibrary and CaseSink ports."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

from hospital.emr.records import CaseRecord, Origin
from hospital.emr.store import CaseStore
from node.errors import NotFound, ValidationFailed


class EmrCaseLibrary:
    """Imported and doctor-validated cases answer queries; validated feedback is stored."""

    def __init__(self, store: CaseStore, *, cache_size: int = 20_000) -> None:
        self.store = store
        # Stored cases do not change (feedback adds new ones), so the records shown as
        # evidence are kept: five SQL queries per suggestion were most of its time.
        self._cache: OrderedDict[str, CaseRecord] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def iter_cases(self) -> Iterator[CaseRecord]:
        """Every case a doctor may be shown: pending findings are not evidence yet."""
        return (c for c in self.store.iter_cases() if c.origin is not Origin.PENDING)

    def get_case(self, case_id: str) -> CaseRecord | None:
        """One stored case, or None."""
        try:
            return self.store.get_case(case_id)
        except NotFound:
            return None

    def get_cases(self, case_ids: Sequence[str]) -> dict[str, CaseRecord]:
        """The stored cases among these ids, by id; those not yet cached in one read."""
        with self._lock:
            found = {i: c for i in case_ids if (c := self._cache.get(i)) is not None}
            for i in found:
                self._cache.move_to_end(i)
        missing = [i for i in dict.fromkeys(case_ids) if i not in found]
        if missing:
            loaded = {c.case_id: c for c in self.store.get_cases(missing) if c.case_id}
            found.update(loaded)
            with self._lock:
                self._cache.update(loaded)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return found

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
