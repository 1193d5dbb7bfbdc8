"""EMR benchmark: import throughput (cases/s) on SQLite and PostgreSQL, vectorise throughput.

Run: .venv/bin/python -m benchmarks.emr [--cases 100000]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hospital.datagen.generate import generate_hospitals
from hospital.emr.identity import national_id_token
from hospital.emr.schema import default_schema
from hospital.emr.store import NewCase, open_store
from hospital.vectorize import case_to_v1, case_to_v2, v1_layout, v2_layout, vectorize_cases

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.integration.pg_cluster import postgres_cluster  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    console = Console()
    libs, t_gen = timed(lambda: generate_hospitals(1, args.cases, seed=1))
    salt = b"benchmark-consortium-salt-000000"
    batch = [
        NewCase(
            case=g.case,
            source="bench",
            ref=g.ref,
            national_token=national_id_token(g.national_id, salt),
        )
        for g in libs[0].cases
    ]
    cases = [g.case for g in libs[0].cases]
    rows = [("generate (1 hospital)", args.cases, t_gen)]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.sqlite")
        _, t = timed(lambda: store.add_cases(batch))
        rows.append(("import, SQLite file (one transaction)", args.cases, t))
        _, t = timed(lambda: store.add_cases(batch))
        rows.append(("re-import same cases, SQLite (all duplicates)", args.cases, t))
        _, t = timed(lambda: sum(1 for _ in store.iter_cases()))
        rows.append(("read back all cases, SQLite", args.cases, t))
        store.close()
    try:
        with postgres_cluster() as url:
            store = open_store(url)
            _, t = timed(lambda: store.add_cases(batch))
            rows.append(("import, PostgreSQL (one transaction)", args.cases, t))
            _, t = timed(lambda: store.add_cases(batch))
            rows.append(("re-import same cases, PostgreSQL", args.cases, t))
            _, t = timed(lambda: sum(1 for _ in store.iter_cases()))
            rows.append(("read back all cases, PostgreSQL", args.cases, t))
            store.close()
    except RuntimeError as exc:
        console.print(f"PostgreSQL skipped: {exc}")
    schema = default_schema()
    l1, l2 = v1_layout(schema), v2_layout(schema)

    def chunks():  # 10k-case matrices at a time: 100k x 1591 float32 would be 640 MB
        for i in range(0, len(cases), 10_000):
            vectorize_cases(cases[i : i + 10_000], l1, l2)

    _, t = timed(chunks)
    rows.append((f"vectorise V1 ({l1.width} cols) + V2 ({l2.width} cols)", args.cases, t))
    _, t = timed(lambda: all(case_to_v1(c, l1) is not None for c in cases))
    rows.append(("vectorise V1 only", args.cases, t))
    _, t = timed(lambda: all(case_to_v2(c, l2) is not None for c in cases))
    rows.append(("vectorise V2 only", args.cases, t))
    table = Table(
        "step",
        "cases",
        "seconds",
        "cases/s",
        "vs SQLite import",
        title=f"EMR benchmark, {args.cases} generated cases (2 shared cores: absolute "
        "times inflated by other work on the machine)",
    )
    base = next(n / s for name, n, s in rows if name.startswith("import, SQLite"))
    for name, n, s in rows:
        table.add_row(name, str(n), f"{s:.2f}", f"{n / s:,.0f}", f"{(n / s) / base:.2f}x")
    console.print(table)


if __name__ == "__main__":
    main()
