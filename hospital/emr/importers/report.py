"""Import reports: per-row errors with row, field and reason; the all-or-nothing import run."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import BaseModel, ValidationError

from hospital.emr.mapping import VocabularyMap, count_unknown, map_case
from hospital.emr.schema import ConsortiumSchema
from hospital.emr.store import CaseStore, NewCase
from node.errors import ValidationFailed


class RowError(BaseModel):
    """Why one row (or resource) could not be imported."""

    row: int | str
    field: str
    reason: str

    def describe(self, source: str) -> str:
        """One line naming the file, row, field and reason."""
        return f"{source}: row {self.row}, field {self.field!r}: {self.reason}"


class ImportReport(BaseModel):
    """The outcome of one import."""

    source: str
    rows: int
    added: int = 0
    duplicates: int = 0
    skipped: list[RowError] = []
    unknown_terms: dict[str, int] = {}


class ImportFailed(ValidationFailed):
    """An import was refused (nothing written); ``report`` lists every bad row."""

    def __init__(self, report: ImportReport) -> None:
        first = report.skipped[0]
        more = f" (and {len(report.skipped) - 1} more bad rows)" if len(report.skipped) > 1 else ""
        super().__init__(
            f"{first.describe(report.source)}{more}; nothing was imported",
            field=first.field,
            fix="correct the rows listed (see docs/emr-import.md for the format) "
            "or re-run with --skip-invalid to import the valid rows only",
        )
        self.report = report


def errors_from(exc: ValidationError, row: int | str, prefix: str = "") -> list[RowError]:
    """RowErrors for each problem pydantic found, with dotted field paths."""
    out = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        out.append(RowError(row=row, field=f"{prefix}{path}" or "row", reason=err["msg"]))
    return out


Parsed = NewCase | list[RowError]


def run_import(
    store: CaseStore,
    source: str,
    parsed: Iterable[Parsed],
    *,
    skip_invalid: bool,
    schema: ConsortiumSchema | None = None,
    vocab: VocabularyMap | None = None,
    on_validated: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate everything first, then write it in one transaction (or write nothing).

    ``vocab`` renames local terms onto the consortium schema; ``on_validated`` is told how
    many rows will be written, ``progress`` how many were just written.
    """
    good: list[NewCase] = []
    bad: list[RowError] = []
    rows = 0
    for item in parsed:
        rows += 1
        if isinstance(item, NewCase):
            if vocab is not None:
                item = item.model_copy(update={"case": map_case(item.case, vocab)})
            good.append(item)
        else:
            bad.extend(item)
    report = ImportReport(source=source, rows=rows, skipped=bad)
    if bad and not skip_invalid:
        raise ImportFailed(report)
    if schema is not None:
        unknown = count_unknown((g.case for g in good), schema)
        report.unknown_terms = {
            f"{t.kind.value}:{t.term}": n
            for t, n in sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0].kind, kv[0].term))
        }
    if on_validated is not None:
        on_validated(len(good))
    result = store.add_cases(good, progress=progress)
    report.added, report.duplicates = result.added, result.duplicates
    return report
