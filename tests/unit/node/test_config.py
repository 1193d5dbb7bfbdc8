"""Settings come from FEDCHAIN_* variables and refuse malformed or placeholder values."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import load_settings
from node.errors import ConfigError


def test_settings_read_the_fedchain_prefix(monkeypatch):
    monkeypatch.setenv("FEDCHAIN_RPC_URL", "http://127.0.0.1:8545")
    monkeypatch.setenv("FEDCHAIN_CHAIN_ID", "1337")
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", "/tmp/fc")
    settings = load_settings()
    assert settings.rpc_url == "http://127.0.0.1:8545"
    assert settings.chain_id == 1337
    assert settings.devnet_dir == Path("/tmp/fc/devnet")
    assert settings.resolved_network_file == Path("/tmp/fc/network.json")


def test_malformed_rpc_url_names_the_setting(monkeypatch):
    monkeypatch.setenv("FEDCHAIN_RPC_URL", "127.0.0.1:8545")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "rpc_url" in err.value.message and "FEDCHAIN_RPC_URL" in (err.value.fix or "")


def test_placeholder_password_is_refused(monkeypatch):
    monkeypatch.setenv("FEDCHAIN_KEY_PASSWORD", "changeme")
    with pytest.raises(ConfigError):
        load_settings()
