"""In-process top-10: the columnar index against a plain per-case Python loop of the formula."""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np

from benchmarks.diagnosis.synthetic import Generator, model_like_weights, queries
from diagnosis.index import CaseIndex
from diagnosis.similarity import case_similarity


@dataclass
class InProcessResult:
    n: int
    build_s: float
    first_query_ms: float
    p50_ms: float
    p99_ms: float
    loop_ms_per_query: float
    loop_cases_timed: int
    max_abs_diff: float
    rss_mb: float

    @property
    def ratio(self) -> float:
        return self.loop_ms_per_query / self.p50_ms

    @property
    def extrapolated(self) -> bool:
        return self.loop_cases_timed < self.n


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(n: int, *, n_queries: int = 50, loop_sample: int = 2000, seed: int = 5) -> InProcessResult:
    gen = Generator(seed=1)
    t0 = time.perf_counter()
    index = CaseIndex.from_columns(gen.columns(n, seed))
    build_s = time.perf_counter() - t0
    weights = model_like_weights(gen, seed=3)
    qs = queries(gen, n_queries, seed=seed + 100)

    t0 = time.perf_counter()
    index.top_k(qs[0], weights, k=10, version=1)  # includes computing Σ w_p once per weight set
    first_ms = 1e3 * (time.perf_counter() - t0)
    times = []
    for q in qs:
        t0 = time.perf_counter()
        index.top_k(q, weights, k=10, version=1)
        times.append(1e3 * (time.perf_counter() - t0))

    # The baseline: the formula case by case in Python (records rebuilt from the same columns).
    m = min(n, loop_sample)
    rows = np.random.default_rng(seed).choice(n, m, replace=False) if m < n else np.arange(n)
    records = [index.features_of(int(r)) for r in rows]
    loop_q = qs[:3]
    t0 = time.perf_counter()
    ref = []
    for q in loop_q:
        sims = [case_similarity(c, q, weights).similarity for c in records]
        heapq.nlargest(10, zip(sims, range(m), strict=True))
        ref.append(sims)
    loop_ms = 1e3 * (time.perf_counter() - t0) / len(loop_q) * (n / m)
    diff = max(
        float(np.max(np.abs(index.scores(q, weights, version=1)[rows] - np.array(s))))
        for q, s in zip(loop_q, ref, strict=True)
    )
    return InProcessResult(
        n=n,
        build_s=build_s,
        first_query_ms=first_ms,
        p50_ms=float(np.percentile(times, 50)),
        p99_ms=float(np.percentile(times, 99)),
        loop_ms_per_query=loop_ms,
        loop_cases_timed=m,
        max_abs_diff=diff,
        rss_mb=_rss_mb(),
    )
