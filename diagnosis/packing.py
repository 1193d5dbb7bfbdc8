"""The case columns end to end: what the compiled matcher (``diagnosis.kernels``) reads.

Every symptom column (the cases having that symptom, with their facets) one after another,
with per-row offsets, then every lab column the same way; the clamp flags per row; room for
the φ_o·Sim(onset) terms of each (query onset, row), filled by the matcher the first time a
query asks; and the onset table those terms come from. Built once per change of the cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from diagnosis.columns import F32, ColumnStore, FArray, IArray

__all__ = ["PackedColumns", "offsets", "pack"]


@dataclass(frozen=True, slots=True)
class PackedColumns:
    """The arrays of ``kernels`` library tuples that depend on the cases and the config."""

    symptoms: tuple[Any, ...]  # offsets, rows, duration, onset, severity, two clamp flags
    onsets: tuple[Any, ...]  # terms (query onset code × entry), filled, table
    labs: tuple[Any, ...]  # offsets, rows, value, width, missing-width flag
    present: npt.NDArray[np.bool_]  # symptom rows × cases (the tie-break's coverage)
    lab_value: FArray  # lab rows × cases (NaN: not recorded)


def offsets(sizes: list[int]) -> IArray:
    """Where each of consecutive parts of these sizes starts, then the total."""
    off = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=off[1:])
    return off


def _joined(parts: list[npt.NDArray[Any]], dtype: Any) -> npt.NDArray[Any]:
    return np.ascontiguousarray(np.concatenate(parts) if parts else np.empty(0), dtype=dtype)


def pack(store: ColumnStore) -> PackedColumns:
    """The store's columns packed for the matcher (a copy: the store may grow later)."""
    cols = [store.symptom_column(r) for r in range(len(store.symptoms))]
    labs = [store.lab_column(r) for r in range(len(store.labs))]
    m = store.onset_matrix  # [case onset code, query onset code]
    codes = len(m)
    phi_o, u = F32(store.config.facets.onset), F32(store.config.unknown_similarity)
    table = np.empty((codes + 1, codes + 1), dtype=F32)  # [query code, case code + 1]
    for c in range(codes):  # the same float32 products as the array form
        table[c] = phi_o * np.concatenate([[F32(0)], m[:, c]])
    table[codes] = phi_o * u * np.concatenate([[F32(0)], np.ones(codes, dtype=F32)])
    entries = sum(c.rows.size for c in cols)
    return PackedColumns(
        symptoms=(
            offsets([c.rows.size for c in cols]),
            _joined([c.rows for c in cols], np.int64),
            _joined([c.duration for c in cols], F32),
            _joined([c.onset for c in cols], np.int8),
            _joined([c.severity for c in cols], F32),
            np.array([c.clamp_duration for c in cols], dtype=bool),
            np.array([c.clamp_severity for c in cols], dtype=bool),
        ),
        onsets=(
            np.empty((codes + 1, entries), dtype=F32),
            np.zeros((codes + 1, len(cols)), dtype=bool),
            table,
        ),
        labs=(
            offsets([c.rows.size for c in labs]),
            _joined([c.rows for c in labs], np.int64),
            _joined([c.value for c in labs], F32),
            _joined([c.width for c in labs], F32),
            np.array([c.any_missing_width for c in labs], dtype=bool),
        ),
        present=np.ascontiguousarray(store.present),
        lab_value=np.ascontiguousarray(store.lab_value),
    )
