"""`fedchain miner serve` refuses an incomplete configuration with the fix."""

from __future__ import annotations

from typer.testing import CliRunner

from miner.cli import app
from node.errors import FedchainError


def test_serve_without_a_network_file_says_how_to_create_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["serve", "--port", "0"])
    assert isinstance(result.exception, FedchainError)
    assert "fedchain network init" in (result.exception.fix or "")
