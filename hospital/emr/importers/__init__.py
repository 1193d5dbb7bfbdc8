"""Importers: each turns one file format into validated NewCases, then one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path

from hospital.emr.importers.disease_symptom import parse_disease_symptom
from hospital.emr.importers.fhir import parse_fhir
from hospital.emr.importers.report import ImportFailed, ImportReport, Parsed, RowError, run_import
from hospital.emr.importers.tabular import parse_csv, parse_json
from hospital.emr.importers.uci_heart import parse_heart
from hospital.emr.mapping import VocabularyMap
from hospital.emr.schema import ConsortiumSchema
from hospital.emr.store import CaseStore
from node.errors import NotFound, ValidationFailed


class Format(StrEnum):
    """Import formats."""

    AUTO = "auto"
    CSV = "csv"
    JSON = "json"
    FHIR = "fhir"
    UCI_HEART = "uci-heart"
    DISEASE_SYMPTOM = "disease-symptom"


def detect_format(path: Path) -> Format:
    """Guess the format from the file name and first line."""
    if path.name.startswith("processed.") and path.suffix == ".data":
        return Format.UCI_HEART
    if path.suffix in (".json", ".jsonl"):
        with path.open(encoding="utf-8") as fh:
            head = fh.read(4096)
        return Format.FHIR if '"resourceType"' in head and '"Bundle"' in head else Format.JSON
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig") as fh:
            first = fh.readline()
        return Format.DISEASE_SYMPTOM if first.startswith("Disease,Symptom_1") else Format.CSV
    raise ValidationFailed(
        f"cannot tell the format of {path}",
        field="format",
        fix="pass --format csv|json|fhir|uci-heart|disease-symptom",
    )


def parse_file(path: Path, fmt: Format, salt: bytes | None) -> Iterator[Parsed]:
    """The parsed rows of one file in format ``fmt``."""
    if not path.is_file():
        raise NotFound(f"no file {path}", fix="check the path")
    fmt = detect_format(path) if fmt == Format.AUTO else fmt
    if fmt == Format.UCI_HEART:
        return parse_heart(path)
    if fmt == Format.DISEASE_SYMPTOM:
        return parse_disease_symptom(path)
    if fmt == Format.FHIR:
        return parse_fhir(path, salt)
    if fmt == Format.CSV:
        return parse_csv(path, salt)
    return parse_json(path, salt)


def import_file(
    store: CaseStore,
    path: Path,
    *,
    fmt: Format = Format.AUTO,
    salt: bytes | None = None,
    skip_invalid: bool = False,
    schema: ConsortiumSchema | None = None,
    vocab: VocabularyMap | None = None,
    on_row: Callable[[], None] | None = None,
    on_validated: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import one file all-or-nothing (or only its valid rows with ``skip_invalid``).

    ``vocab`` maps local terms onto the schema; ``on_row`` is called per parsed row,
    ``on_validated`` with the number of rows to write, ``progress`` per written batch.
    """
    parsed = parse_file(path, fmt, salt)
    if on_row is not None:
        parsed = _counted(parsed, on_row)
    return run_import(
        store,
        path.name,
        parsed,
        skip_invalid=skip_invalid,
        schema=schema,
        vocab=vocab,
        on_validated=on_validated,
        progress=progress,
    )


def _counted(parsed: Iterator[Parsed], on_row: Callable[[], None]) -> Iterator[Parsed]:
    for item in parsed:
        on_row()
        yield item


__all__ = [
    "Format",
    "ImportFailed",
    "ImportReport",
    "RowError",
    "VocabularyMap",
    "detect_format",
    "import_file",
    "parse_file",
]
