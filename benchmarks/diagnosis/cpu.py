"""CPU per POST /diagnosis request, part by part, in this tree and in a baseline tree.

Wall-clock latency on the shared 2-core machine moves with everyone's load; process CPU
time per request moves far less, and at 100 closed-loop connections it is what sets the
latency (≈ connections × CPU per request). Each tree runs in its own process over the same
10,000 demo cases and request bodies, in batches of 16 (as the micro-batcher forms them
under load); the two trees alternate ``rounds`` times and each part keeps its lowest
figure. Run as a script (``python benchmarks/diagnosis/cpu.py``) it prints one tree's
figures as JSON; ``compare`` runs both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PARTS = {
    "match": "matching: Sim over the index, top k",
    "evidence": "evidence: per-attribute terms of the matched cases",
    "recommend": "recommendation: diagnoses, watch list, plan, evidence models",
    "suggestion": "the suggestion model, unknown terms, its JSON",
    "service": "all of DiagnosisService.suggest_many + JSON",
    "asgi": "the whole FastAPI app (auth, body, batcher, reply), no sockets",
    "asgi-db": "the hospital's app over a SQLite EMR (what a REST worker runs), no sockets",
}
_BATCH = 16


def _measure(requests: int, directory: str) -> dict[str, float]:
    """CPU ms per request of each part (one process, this interpreter's diagnosis package)."""
    import asyncio
    import datetime as dt
    import random
    import time
    import uuid

    from benchmarks.diagnosis.load import findings
    from diagnosis import schemas
    from diagnosis.api.app import create_app, settle_heap
    from diagnosis.api.settings import DiagnosisSettings

    try:
        from hospital.datagen.generate import synthetic_cases
    except ImportError:  # a tree before issue 24 had its own demo generator (other cases)
        from diagnosis.demo import synthetic_cases  # type: ignore[import-not-found,no-redef]
    from diagnosis.index import MatchQuery
    from diagnosis.ports import InMemoryCaseLibrary
    from diagnosis.recommend import recommend
    from diagnosis.schemas import DiagnosisRequest, DiagnosisSuggestion, WeightInfo
    from diagnosis.service import DiagnosisService
    from diagnosis.vocabulary import Vocabulary

    # the reply's bytes; before schemas.to_json the suggestion was a pydantic model
    to_json = getattr(schemas, "to_json", lambda s: s.model_dump_json())
    token = "cpu-benchmark-doctor-token-0123456789"
    cases = list(synthetic_cases(10_000))  # the demo server's service, as create_demo_app builds it
    library = InMemoryCaseLibrary(cases)
    vocabulary = Vocabulary(
        {s.name for c in cases for s in c.symptoms}, {lab.name for c in cases for lab in c.labs}
    )
    svc = DiagnosisService(library=library, sink=library, vocabulary=vocabulary)
    app = create_app(svc, DiagnosisSettings(doctor_tokens=[token]))
    settle_heap()
    rng = random.Random(3)
    bodies = [findings(rng) for _ in range(200)]
    reqs = [DiagnosisRequest.model_validate(b) for b in bodies]
    spent = dict.fromkeys(PARTS, 0.0)

    def parts(batch: list[DiagnosisRequest]) -> None:
        t0 = time.process_time()
        queries = [MatchQuery(r.as_case(), r.top_k, r.threshold) for r in batch]
        snap = svc.weights.current()
        found = svc.index.top_k_many(queries, snap.weights, version=snap.version)
        stored = svc.library.get_cases([m.case_id for ms in found for m in ms])
        t1 = time.process_time()
        evidence = [
            svc._evidence(ms, q.query, snap.weights, stored)
            for q, ms in zip(queries, found, strict=True)
        ]
        t2 = time.process_time()
        recs = [
            recommend(ms, records, contribs, alpha=svc.alpha, disease_names={})
            for ms, (records, contribs) in zip(found, evidence, strict=True)
        ]
        t3 = time.process_time()
        info = WeightInfo(version=snap.version, source=snap.source, round_id=snap.round_id)
        for r, q, rec in zip(batch, queries, recs, strict=True):
            suggestion = DiagnosisSuggestion(
                suggestion_id=uuid.uuid4().hex,
                created_at=dt.datetime.now(dt.UTC),
                patient_id=r.patient_id,
                diagnoses=rec.diagnoses,
                complications=rec.complications,
                treatment_plan=rec.treatment_plan,
                evidence=rec.evidence,
                weights=info,
                library_size=len(svc.index),
                model_used=False,
                unknown_terms=vocabulary.unknown_terms(q.query),
            )
            to_json(suggestion)
        t4 = time.process_time()
        for s in svc.suggest_many(batch):
            to_json(s)
        t5 = time.process_time()
        for key, t in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=False):
            spent[key] += t

    db_app = _database_app(token, directory)

    async def through_app(app: Any, n: int) -> None:
        for i in range(0, n, _BATCH):
            await asyncio.gather(
                *(_post(app, token, bodies[(i + j) % len(bodies)]) for j in range(_BATCH))
            )

    for _pass in ("warm-up", "timed"):  # only the last pass's figures are kept
        spent.update(dict.fromkeys(PARTS, 0.0))
        for i in range(0, requests, _BATCH):
            parts([reqs[(i + j) % len(reqs)] for j in range(_BATCH)])
        t = time.process_time()
        asyncio.run(through_app(app, requests))
        spent["asgi"] = time.process_time() - t
        t = time.process_time()
        asyncio.run(through_app(db_app, requests))
        spent["asgi-db"] = time.process_time() - t
    return {k: 1000 * v / requests for k, v in spent.items()}


def _database_app(token: str, directory: str) -> Any:
    """The hospital's diagnosis app (one REST worker's) over 10,000 demo cases in SQLite."""
    from tests.integration.services import seed_synthetic_cases

    url = f"sqlite:///{Path(directory) / 'emr.sqlite'}"
    seed_synthetic_cases(url, 10_000)
    os.environ.update(
        FEDCHAIN_DATABASE_URL=url, FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS=json.dumps([token])
    )
    from hospital.service.diagnosis_app import create_diagnosis_app

    return create_diagnosis_app()


async def _post(app: Any, token: str, body: dict[str, Any]) -> None:
    """One POST /diagnosis straight into the ASGI app."""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/diagnosis",
        "raw_path": b"/diagnosis",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "headers": [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ],
    }
    messages = [{"type": "http.request", "body": raw, "more_body": False}]
    replies: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        replies.append(message)

    await app(scope, receive, send)
    if replies[0]["status"] != 200:
        raise RuntimeError(f"POST /diagnosis answered {replies[0]['status']}")


def _run(source_dir: str, requests: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": source_dir}
    out = subprocess.run(
        [sys.executable, __file__, str(requests)],
        env=env,
        cwd=source_dir,
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return dict(json.loads(out.stdout))


def compare(
    baseline_dir: str, *, requests: int = 3200, rounds: int = 3
) -> tuple[dict[str, float], dict[str, float]]:
    """(baseline, this tree): lowest CPU ms per request of each part over alternating runs."""
    here = str(Path(__file__).resolve().parents[2])
    best: list[dict[str, float]] = [{}, {}]
    for _ in range(rounds):
        for i, tree in enumerate((baseline_dir, here)):
            for part, ms in _run(tree, requests).items():
                best[i][part] = min(ms, best[i].get(part, ms))
    return best[0], best[1]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="fedchain-cpu-bench-") as d:
        print(json.dumps(_measure(int(sys.argv[1]), d)))
