"""The committed artifact loads without solc and matches the committed source's hash."""

from __future__ import annotations

from pathlib import Path

from node.chain.artifact import load_artifact, source_sha256

REPO = Path(__file__).resolve().parents[3]


def test_artifact_matches_the_source_hash_and_declares_the_errors():
    artifact = load_artifact()
    assert artifact.source_sha256 == source_sha256(REPO / "contracts" / "FederatedLedger.sol")
    names = {e["name"] for e in artifact.error_selectors().values()}
    assert {"NotAdmin", "BadSignature", "AlreadyVoted", "NoQuorum", "NotProposer"} <= names
    assert artifact.evm_version == "cancun"
    assert 0x60 <= int(artifact.bytecode[2:4], 16) <= 0x7F  # creation code opens with a PUSH
