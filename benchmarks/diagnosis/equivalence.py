"""Same answers as before: suggestions and similar cases from this code vs a baseline checkout.

Run as a script (``python benchmarks/diagnosis/equivalence.py N``) it prints, one JSON line
each, N suggestions (without their id and time) and similar-case answers from whichever
``diagnosis`` package is first on the path; ``compare`` runs it on both trees.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path


def emit(n: int) -> None:
    """Print n suggestions and the similar cases of every 97th library case as JSON lines."""
    from benchmarks.diagnosis.load import findings
    from diagnosis import schemas

    try:
        from hospital.datagen.generate import synthetic_cases
    except ImportError:  # a tree before issue 24 had its own demo generator (other cases)
        from diagnosis.demo import synthetic_cases  # type: ignore[import-not-found,no-redef]
    from diagnosis.ports import InMemoryCaseLibrary
    from diagnosis.schemas import DiagnosisRequest
    from diagnosis.service import DiagnosisService
    from diagnosis.vocabulary import Vocabulary

    cases = list(synthetic_cases(10_000))
    library = InMemoryCaseLibrary(cases)
    vocabulary = Vocabulary(
        {s.name for c in cases for s in c.symptoms}, {lab.name for c in cases for lab in c.labs}
    )
    service = DiagnosisService(library=library, sink=library, vocabulary=vocabulary)
    # the reply's bytes: suggestions were pydantic models before schemas.to_json
    to_json = getattr(schemas, "to_json", lambda s: s.model_dump_json())
    rng = random.Random(5)
    for _ in range(n):
        body = findings(rng)
        body.update(top_k=rng.choice([1, 3, 10, 30]), threshold=rng.choice([0, 0.3, 0.6]))
        suggestion = service.suggest(DiagnosisRequest.model_validate(body))
        answer = json.loads(to_json(suggestion))
        answer.pop("suggestion_id")
        answer.pop("created_at")
        print(json.dumps(answer, sort_keys=True))
    for i in range(0, len(cases), 97):
        print(service.similar(f"demo-{i:06d}", k=5).model_dump_json())


def _answers(source_dir: str, n: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": source_dir}
    out = subprocess.run(
        [sys.executable, __file__, str(n)],
        env=env,
        cwd=source_dir,
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return out.stdout.splitlines()


def compare(baseline_dir: str, n: int = 1500) -> tuple[int, int]:
    """(answers that differ, answers compared) between the baseline tree and this one."""
    here = str(Path(__file__).resolve().parents[2])
    old, new = _answers(baseline_dir, n), _answers(here, n)
    if len(old) != len(new):
        return max(len(old), len(new)), max(len(old), len(new))
    return sum(a != b for a, b in zip(old, new, strict=True)), len(new)


if __name__ == "__main__":
    emit(int(sys.argv[1]))
