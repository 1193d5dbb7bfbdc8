"""Item files for `fedchain align`: plain text lines, hex tokens, or JSON-lines case records."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError

from hospital.alignment.items import AlignmentPurpose, pathology_items
from hospital.emr.records import CaseRecord
from node.errors import ValidationFailed


class ItemFormat(StrEnum):
    """How an item file is read."""

    TEXT = "text"  # one UTF-8 item per line
    HEX = "hex"  # one hex-encoded byte string per line (salted national-id tokens)
    CASES = "cases"  # one CaseRecord JSON per line -> pathology signatures


def default_purpose(fmt: ItemFormat) -> AlignmentPurpose:
    """Case files align pathology signatures; token files align patients."""
    return AlignmentPurpose.PATHOLOGY if fmt is ItemFormat.CASES else AlignmentPurpose.PATIENTS


def load_items(path: Path, fmt: ItemFormat) -> list[bytes]:
    """Read the items of one hospital from ``path``; blank lines are skipped.

    In a case file, cases without a diagnosis (pending) have no signature and are skipped.

    A bad line is refused naming the file and line; nothing is returned half-read.
    """
    if not path.is_file():
        raise ValidationFailed(
            f"no item file at {path}", field="items", fix="give the path of an existing file"
        )
    items: list[bytes] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.strip()
            if not line:
                continue
            try:
                if fmt is ItemFormat.TEXT:
                    items.append(line.encode("utf-8"))
                elif fmt is ItemFormat.HEX:
                    items.append(bytes.fromhex(line.removeprefix("0x")))
                else:
                    items += pathology_items([CaseRecord.model_validate(json.loads(line))])
            except (ValueError, ValidationError) as exc:
                raise ValidationFailed(
                    f"{path}:{lineno} is not a valid {fmt.value} item: {exc}",
                    field="items",
                    fix=f"fix line {lineno} or choose the right --format",
                ) from None
    return items
