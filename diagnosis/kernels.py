"""Compiled loops of the matcher: a batch of queries scored and ranked in one call.

numpy evaluated a query as ~40 whole-array operations, each a temporary and a Python call;
these loops compute the same float32 expressions element by element in the same order
(float32 sums depend on it), so every Sim is bit for bit what the array form gave. For each
finding of a query its column's terms are computed into a buffer in one loop that the
compiler turns into SIMD, then added into the numerators in a second loop (a scatter does
not vectorise); after the division a k-element heap finds the k-th best score, and the
cases at least that good are ranked (equal Sim: more of the query recorded, then the row).
One call answers a whole batch of queries, so Python's per-call cost is paid once.

``error_model="numpy"`` gives IEEE division (0/0 is NaN, as in numpy) instead of Python's
ZeroDivisionError, and is what lets the divisions vectorise. NaN marks a facet a case does
not record. A NaN score (only from non-finite values in bulk-loaded columns) is never a
match. Pure: arrays in, arrays out; numba compiles them once per machine (cached beside the
module); the entry points have explicit signatures, so a Python float can never select a
float64 version.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.core.types import Tuple, boolean, float32, int8, int64, void

from diagnosis.similarity import SEVERITY_SCALE

F32 = np.float32
_ONE, _ZERO, _SEVERITY_SCALE = F32(1), F32(0), F32(SEVERITY_SCALE)
_NEG_INF = F32(-np.inf)

DURATION_UNKNOWN, DURATION_ZERO, DURATION_GIVEN = 0, 1, 2  # how the query gives a duration

_jit = njit(cache=True, nogil=True, error_model="numpy")
_F, _I, _B = float32[::1], int64[::1], boolean[::1]

# The case library, packed (columns.PackedColumns), then the weight set's per-case terms.
_LIBRARY = (
    _I,
    _I,
    _F,
    int8[::1],
    _F,
    _B,
    _B,  # symptoms: offsets, rows, duration, onset, severity, clamps
    float32[:, ::1],
    boolean[:, ::1],
    float32[:, ::1],  # onset terms, filled, onset tables
    _I,
    _I,
    _F,
    _F,
    _B,  # labs: offsets, rows, value, width, missing widths
    _F,
    float32,  # φ = (φ_p, φ_d, φ_s, φ_d·u, φ_s·u), u
    _F,
    _F,
    boolean,  # unknown = u·Σ_labs w_l, den = Σ_p w_p, den > 0 everywhere
)
# A batch's findings: symptoms (row, duration mode, duration, onset code, severity, w),
# labs (row, value, the query's range or NaN, w), each with per-query offsets.
_FINDINGS = (_I, _I, _I, _F, _I, _F, _F, _I, _I, _F, _F, _F)
_SYMPTOM_OFFSETS, _LAB_OFFSETS, _DEN = 0, 10, 18  # positions in the library tuple


@_jit
def _symptom(
    num,
    scratch,
    s_off,
    s_rows,
    s_dur,
    s_onset,
    s_sev,
    s_clamp_d,
    s_clamp_s,
    o_terms,
    o_filled,
    o_tables,
    phi,
    r,
    code,
    mode,
    q_duration,
    q_severity,
    w,
):
    """num[case] += w·(φ_p + φ_d·Sim_d + φ_o·Sim_o + φ_s·Sim_s) for each case with symptom r.

    A facet the case lacks multiplies its term by 0. Without a duration clamp a missing
    duration counts as 0 (it scores what NaN would, 0); with one (or a severity clamp),
    fmax(Sim, 0) turns NaN and out-of-range values into 0. The onset terms of (query onset
    code, row) are gathered from ``o_tables`` once and kept.
    """
    a, b = s_off[r], s_off[r + 1]
    if not o_filled[code, r]:
        for j in range(a, b):
            o_terms[code, j] = o_tables[code, s_onset[j] + 1]
        o_filled[code, r] = True
    phi_p, phi_d, phi_s, unknown_d, unknown_s = phi[0], phi[1], phi[2], phi[3], phi[4]
    fill, clamp_s = not s_clamp_d[r], s_clamp_s[r]
    sev_known = not np.isnan(q_severity)
    onset = o_terms[code]
    for j in range(a, b):
        d = s_dur[j]
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
        part = part + onset[j]
        s = s_sev[j]
        if sev_known:
            y = _ONE - abs(s - q_severity) / _SEVERITY_SCALE
            y = y if (not clamp_s or y >= _ZERO) else _ZERO
            part = part + y * phi_s
        else:
            part = part + unknown_s * F32(not np.isnan(s))
        scratch[j - a] = part * w
    for j in range(a, b):
        num[s_rows[j]] += scratch[j - a]


@_jit
def _lab(num, scratch, l_off, l_rows, l_val, l_width, l_missing, r, q_value, fallback, u, w):
    """num[case] += w·(Sim_lab − u) for each case with lab r (u was counted for every case).

    Sim_lab = max(0, 1 − |a − b| / width); a case without a range reads the difference
    against the query's range (``fallback``), or when that is NaN against max(|a|, |b|);
    a non-positive scale scores 1.
    """
    a, b = l_off[r], l_off[r + 1]
    use_fallback = l_missing[r]
    bb = abs(q_value)
    for j in range(a, b):
        v = l_val[j]
        scale = l_width[j]
        if use_fallback and np.isnan(scale):
            aa = abs(v)
            own = aa if (aa >= bb or np.isnan(aa)) else bb
            scale = own if np.isnan(fallback) else fallback
        sim = _ONE - abs(v - q_value) / scale
        sim = _ZERO if sim < _ZERO else sim  # max(0, sim), NaN kept
        sim = sim if scale > _ZERO else _ONE
        scratch[j - a] = (sim - u) * w
    for j in range(a, b):
        num[l_rows[j]] += scratch[j - a]


@_jit
def _score(num, scratch, library, findings, q):
    """Sim of every case against query q of the batch, into ``num``."""
    (
        s_off,
        s_rows,
        s_dur,
        s_onset,
        s_sev,
        s_clamp_d,
        s_clamp_s,
        o_terms,
        o_filled,
        o_tables,
        l_off,
        l_rows,
        l_val,
        l_width,
        l_missing,
        phi,
        u,
        unknown,
        den,
        den_positive,
    ) = library
    (fs_off, f_srow, f_mode, f_dur, f_onset, f_sev, f_sw, fl_off, f_lrow, f_val, f_range, f_lw) = (
        findings
    )
    num[:] = unknown  # every lab counts u·w_l until the query names it
    for f in range(fs_off[q], fs_off[q + 1]):
        r, w = f_srow[f], f_sw[f]
        if w != _ZERO:
            _symptom(
                num,
                scratch,
                s_off,
                s_rows,
                s_dur,
                s_onset,
                s_sev,
                s_clamp_d,
                s_clamp_s,
                o_terms,
                o_filled,
                o_tables,
                phi,
                r,
                f_onset[f],
                f_mode[f],
                f_dur[f],
                f_sev[f],
                w,
            )
    for f in range(fl_off[q], fl_off[q + 1]):
        r, w = f_lrow[f], f_lw[f]
        if w != _ZERO:
            _lab(
                num,
                scratch,
                l_off,
                l_rows,
                l_val,
                l_width,
                l_missing,
                r,
                f_val[f],
                f_range[f],
                u,
                w,
            )
    if den_positive:
        for i in range(num.size):
            num[i] = num[i] / den[i]
    else:
        for i in range(num.size):
            num[i] = num[i] / den[i] if den[i] > _ZERO else _ZERO


@_jit
def _scratch(library):
    """A buffer for the terms of the longest column."""
    longest = 0
    for off in (library[_SYMPTOM_OFFSETS], library[_LAB_OFFSETS]):
        for r in range(off.size - 1):
            longest = max(longest, off[r + 1] - off[r])
    return np.empty(longest, dtype=np.float32)


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


@_jit
def _candidates(sims, k, floor):
    """Rows (ascending) scoring ≥ max(k-th largest score, floor); NaN scores never count.

    The k-th largest counts equal scores (as ``np.partition``), so every case tied with the
    k-th is a candidate and the tie-break sees them all.
    """
    n = sims.size
    if 0 < k < n:
        heap = np.full(k, _NEG_INF, dtype=np.float32)  # min-heap of the k largest so far
        least = heap[0]
        for i in range(n):
            v = sims[i]
            if v > least:  # one comparison per case; False for NaN
                heap[0] = v
                _sift_down(heap, 0)
                least = heap[0]
        if least > floor:
            floor = least
    count = 0
    for i in range(n):
        count += sims[i] >= floor
    rows = np.empty(count, dtype=np.int64)
    count = 0
    for i in range(n):
        if sims[i] >= floor:
            rows[count] = i
            count += 1
    return rows


@_jit
def _rank(sims, rows, present, lab_value, findings, q):
    """``rows`` best first: by Sim, equal Sim by the query's findings the case records, then row.

    The second key is the weight of the query's findings that the case also records.
    """
    order = rows[np.argsort(-sims[rows], kind="mergesort")]  # stable: equal Sim by row
    ties = False
    for a in range(1, order.size):
        ties = ties or sims[order[a]] == sims[order[a - 1]]
    if not ties:
        return order
    (fs_off, f_srow, _, _, _, _, f_sw, fl_off, f_lrow, _, _, f_lw) = findings
    cover = np.zeros(rows.size, dtype=np.float32)
    for i in range(rows.size):
        c = _ZERO
        for f in range(fs_off[q], fs_off[q + 1]):
            c = c + f_sw[f] * F32(present[f_srow[f], rows[i]])
        for f in range(fl_off[q], fl_off[q + 1]):
            c = c + f_lw[f] * F32(not np.isnan(lab_value[f_lrow[f], rows[i]]))
        cover[i] = c
    by_cover = np.argsort(-cover, kind="mergesort")  # rows ascending, then more coverage
    ranked = rows[by_cover]
    return ranked[np.argsort(-sims[ranked], kind="mergesort")]


@njit(
    Tuple((_I, _F, _I))(
        Tuple(_LIBRARY),
        Tuple(_FINDINGS),
        boolean[:, ::1],
        float32[:, ::1],
        _I,
        _F,
        _I,
        _I,
    ),
    cache=True,
    nogil=True,
    error_model="numpy",
)
def top_k_batch(library, findings, present, lab_value, k, floor, ex_off, ex_rows):
    """The top k[q] of each query q of a batch: (rows, Sim, per-query offsets into them).

    ``floor[q]`` is the query's threshold; ``ex_rows[ex_off[q]:ex_off[q + 1]]`` are cases
    it must not match. ``present`` and ``lab_value`` (symptom and lab rows × cases) give
    the tie-break its coverage.
    """
    n = library[_DEN].size
    queries = k.size
    num = np.empty(n, dtype=np.float32)
    scratch = _scratch(library)
    out_off = np.zeros(queries + 1, dtype=np.int64)
    out_rows = np.empty(int(np.maximum(k, 0).sum()), dtype=np.int64)
    out_sims = np.empty(out_rows.size, dtype=np.float32)
    for q in range(queries):
        taken = 0
        if n > 0 and k[q] > 0:
            _score(num, scratch, library, findings, q)
            for e in range(ex_off[q], ex_off[q + 1]):
                num[ex_rows[e]] = _NEG_INF
            ranked = _rank(num, _candidates(num, k[q], floor[q]), present, lab_value, findings, q)
            taken = min(k[q], ranked.size)
            for i in range(taken):
                out_rows[out_off[q] + i] = ranked[i]
                out_sims[out_off[q] + i] = num[ranked[i]]
        out_off[q + 1] = out_off[q] + taken
    return out_rows[: out_off[queries]], out_sims[: out_off[queries]], out_off


@njit(void(_F, Tuple(_LIBRARY), Tuple(_FINDINGS)), cache=True, nogil=True, error_model="numpy")
def scores(out, library, findings):
    """Sim of every case against the first (only) query of ``findings``, into ``out``."""
    _score(out, _scratch(library), library, findings, 0)
