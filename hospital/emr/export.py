"""Exporting a store to the documented CSV or JSON case format (re-importable)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hospital.emr.importers.tabular import CSV_COLUMNS, case_to_csv_row
from hospital.emr.store import CaseStore


def export_store(store: CaseStore, path: Path, fmt: str = "json") -> int:
    """Write every case to ``path`` (csv or json); returns how many. Images are not exported."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    tmp = path.with_suffix(path.suffix + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            for case in store.iter_cases():
                writer.writerow(case_to_csv_row(case, case.case_id or ""))
                count += 1
        else:
            fh.write("[\n")
            for case in store.iter_cases():
                data = case.model_dump(mode="json", exclude={"case_id", "image"})
                data["case_ref"] = case.case_id
                fh.write((",\n" if count else "") + json.dumps(data, separators=(",", ":")))
                count += 1
            fh.write("\n]\n")
    tmp.replace(path)  # never leave a half-written export behind
    return count
