"""Compiled loops of the matcher: one pass per query finding over the cases that have it.

numpy evaluated a query as ~40 whole-array operations, each a temporary and a Python call;
these loops compute the same float32 expressions element by element in the same order
(float32 sums depend on it), so every Sim is bit for bit what the array form gave. Each
finding's terms are computed in one loop that the compiler turns into SIMD, then added into
the numerators in a second loop (a scatter does not vectorise). ``error_model="numpy"``
gives IEEE division (0/0 is NaN, as in numpy) instead of Python's ZeroDivisionError, and
is what lets the divisions vectorise. NaN marks a facet a case does not record.

Pure: arrays in, arrays out; numba compiles them once per machine (cached beside the module).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.core.types import Tuple, boolean, float32, int64, optional, void

F32 = np.float32
_ONE, _ZERO, _SEVERITY_SCALE = F32(1), F32(0), F32(10)

DURATION_UNKNOWN, DURATION_ZERO, DURATION_GIVEN = 0, 1, 2  # how the query gives a duration

_F = float32[::1]
_jit = njit(cache=True, nogil=True, error_model="numpy")


@njit(
    void(_F, _F, _F, _F, _F, int64, float32, float32, float32, boolean, boolean),
    cache=True, nogil=True, error_model="numpy",
)  # fmt: skip
def symptom_terms(
    out, duration, onset_term, severity, phi,
    mode, q_duration, q_severity, w, clamp_duration, clamp_severity,
):  # fmt: skip
    """out[j] = w·(φ_p + φ_d·Sim_d + φ_o·Sim_o + φ_s·Sim_s) for case j of a symptom column.

    ``phi`` is (φ_p, φ_d, φ_s, φ_d·u, φ_s·u) in float32; ``onset_term`` is φ_o·Sim(onset)
    case by case for the query's onset; ``q_severity`` NaN means the query gives none. A
    facet the case lacks multiplies its term by 0. Without a clamp a missing duration counts
    as 0 (it scores what NaN would, 0); with one, fmax(Sim, 0) turns NaN and out-of-range
    values into 0.
    """
    phi_p, phi_d, phi_s, unknown_d, unknown_s = phi[0], phi[1], phi[2], phi[3], phi[4]
    fill = not clamp_duration
    sev_known = not np.isnan(q_severity)
    for j in range(out.size):
        d = duration[j]
        if mode == DURATION_UNKNOWN:
            part = phi_p + unknown_d * F32(not np.isnan(d))
        elif mode == DURATION_ZERO:
            part = phi_p + phi_d * F32(d == _ZERO)
        else:
            d = _ZERO if (fill and np.isnan(d)) else d
            hi = d if d > q_duration else q_duration  # NaN d: the numerator is NaN anyway
            x = _ONE - abs(d - q_duration) / hi
            x = x if (fill or x >= _ZERO) else _ZERO  # fmax(x, 0): NaN, negatives → 0
            part = x * phi_d + phi_p
        part = part + onset_term[j]
        s = severity[j]
        if sev_known:
            y = _ONE - abs(s - q_severity) / _SEVERITY_SCALE
            y = y if (not clamp_severity or y >= _ZERO) else _ZERO
            part = part + y * phi_s
        else:
            part = part + unknown_s * F32(not np.isnan(s))
        out[j] = part * w


@njit(
    void(_F, _F, _F, float32, float32, boolean, float32, float32),
    cache=True, nogil=True, error_model="numpy",
)  # fmt: skip
def lab_terms(out, value, width, q_value, fallback, use_fallback, u, w):
    """out[j] = w·(Sim_lab − u): u was counted for every case until the query named the lab.

    Sim_lab = max(0, 1 − |a − b| / width); a case without a range reads the difference
    against ``fallback`` when ``use_fallback`` (the query's range, or, when that is NaN,
    max(|a|, |b|)); a non-positive scale scores 1.
    """
    bb = abs(q_value)
    for j in range(out.size):
        a = value[j]
        scale = width[j]
        if use_fallback and np.isnan(scale):
            aa = abs(a)
            own = aa if (aa >= bb or np.isnan(aa)) else bb
            scale = own if np.isnan(fallback) else fallback
        sim = _ONE - abs(a - q_value) / scale
        sim = _ZERO if sim < _ZERO else sim  # max(0, sim), NaN kept
        sim = sim if scale > _ZERO else _ONE
        out[j] = (sim - u) * w


@_jit
def scatter_add(num, rows, terms):
    """num[rows[j]] += terms[j] (rows of one column are distinct)."""
    for j in range(rows.size):
        num[rows[j]] += terms[j]


@_jit
def divide(num, den, den_positive):
    """Sim = num / den in place; a case with no weighted attribute (den ≤ 0) scores 0."""
    if den_positive:
        for i in range(num.size):
            num[i] = num[i] / den[i]
    else:
        for i in range(num.size):
            num[i] = num[i] / den[i] if den[i] > _ZERO else _ZERO
    return num


@_jit
def _sift_down(heap, i):
    size = heap.size
    while True:
        small = left = 2 * i + 1
        if left >= size:
            return
        if left + 1 < size and heap[left + 1] < heap[left]:
            small = left + 1
        if not heap[small] < heap[i]:
            return
        heap[i], heap[small] = heap[small], heap[i]
        i = small


@njit(
    optional(Tuple((int64[::1], boolean)))(_F, int64, float32),
    cache=True, nogil=True, error_model="numpy",
)  # fmt: skip
def best_first(sims, k, floor):
    """Rows scoring ≥ max(k-th largest, floor), best first, and whether two score the same.

    Equal scores come by row; None if a score is NaN. The k-th largest counts equal scores
    (as ``np.partition(sims, n − k)[n − k]``), so every case tied with the k-th is returned
    and the caller's tie-break sees them all.
    """
    n = sims.size
    if 0 < k < n:
        heap = sims[:k].copy()  # min-heap of the k largest so far
        for i in range(k):
            if np.isnan(heap[i]):
                return None
        for i in range(k // 2 - 1, -1, -1):
            _sift_down(heap, i)
        for i in range(k, n):
            v = sims[i]
            if not v <= heap[0]:
                if np.isnan(v):
                    return None
                heap[0] = v
                _sift_down(heap, 0)
        if heap[0] > floor:
            floor = heap[0]
    else:
        for i in range(n):
            if np.isnan(sims[i]):
                return None
    found = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        if sims[i] >= floor:
            found[count] = i
            count += 1
    rows = found[:count]
    rows = rows[np.argsort(-sims[rows], kind="mergesort")]  # stable: equal scores by row
    ties = False
    for a in range(1, count):
        ties = ties or sims[rows[a]] == sims[rows[a - 1]]
    return rows, ties
