"""The committed ledger artifact is what solcjs compiles from the committed source."""

from __future__ import annotations

import pytest

from node.chain.artifact import load_artifact, source_sha256
from node.chain.compile import compile_contract


@pytest.mark.slow  # solcjs (emscripten) takes 5-17 s for the via-IR build
def test_committed_artifact_is_current(repo_root, tmp_path):
    committed = load_artifact()
    source = repo_root / "contracts" / "FederatedLedger.sol"
    assert committed.source_sha256 == source_sha256(source), "run `fedchain chain compile`"
    fresh = compile_contract(cache_dir=tmp_path)
    assert fresh.bytecode == committed.bytecode
    assert fresh.abi == committed.abi
