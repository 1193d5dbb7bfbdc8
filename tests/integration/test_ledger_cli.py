"""The chain, network and demo commands, through typer's runner and the installed script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from node.chain.client import LedgerClient
from node.chain.connect import connect, ledger_from_settings
from node.chain.devnet import Devnet
from node.chain.models import Role
from node.chain.network import NetworkFile, devnet_pair_accounts, init_network
from node.cli.chain import app as chain_app
from node.cli.demo import demo
from node.cli.network import app as network_app
from node.errors import ConfigError
from node.identity import devnet_account

runner = CliRunner()


def test_chain_up_network_init_status_down(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path / "fc"))
    monkeypatch.delenv("FEDCHAIN_RPC_URL", raising=False)
    try:
        up = runner.invoke(chain_app, ["up"])
        assert up.exit_code == 0, up.output
        assert "devnet up" in up.output
        init = runner.invoke(network_app, ["init", "--hospitals", "4"])
        assert init.exit_code == 0, init.output
        network = NetworkFile.load(tmp_path / "fc" / "network.json")
        assert len(network.pairs) == 4 and network.quorum == 3
        ledger = LedgerClient(connect(network.rpc_url), network.ledger_address, devnet_account(0))
        assert ledger.pairs()[3] == (network.pairs[3].hospital, network.pairs[3].miner)
        deployments = json.loads((tmp_path / "fc" / "deployments.json").read_text())
        assert (
            deployments["chains"]["31337"]["FederatedLedger"]["address"] == network.ledger_address
        )
        monkeypatch.setenv("FEDCHAIN_DEVNET_ACCOUNT", "2")  # pair 0's miner
        miner = ledger_from_settings()
        assert miner.account.address == network.pairs[0].miner
        assert miner.member(miner.account.address).role == Role.MINER
        status = runner.invoke(chain_app, ["status"])
        assert status.exit_code == 0 and "block" in status.output
    finally:
        down = runner.invoke(chain_app, ["down"])
    assert "devnet stopped" in down.output
    assert runner.invoke(chain_app, ["status"]).exit_code == 1


def test_network_init_without_a_chain_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path / "fc"))
    monkeypatch.delenv("FEDCHAIN_RPC_URL", raising=False)
    result = runner.invoke(network_app, ["init"])
    assert result.exit_code != 0
    assert "fedchain chain up" in str(result.exception)


@pytest.mark.slow
def test_short_demo_seals_a_round_answers_a_doctor_verifies_the_audit_and_stops(
    tmp_path,
    monkeypatch,
):
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path / "fc"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("FEDCHAIN_RPC_URL", raising=False)
    app = typer.Typer()
    app.command()(demo)
    result = runner.invoke(app, ["--rounds", "1", "--key-bits", "1024", "--cases", "600"])
    assert result.exit_code == 0, result.output
    network = NetworkFile.load(tmp_path / "fc" / "demo" / "network.json")
    assert len(network.pairs) == 3
    for pair in network.pairs:  # the consortium table
        assert pair.hospital in result.output and pair.miner in result.output
    assert "2 of 3 miners" in result.output and network.ledger_address in result.output
    assert "shared samples recorded on chain" in result.output
    assert "round 1" in result.output and "sealed: 3 updates" in result.output
    assert "suggested diagnoses" in result.output and "consortium model used" in result.output
    # high fever, cough and muscle pain of sudden onset: the matched cases point to influenza
    top = next(line for line in result.output.splitlines() if "J" in line and "│" in line)
    assert "J11.1" in top and "Influenza" in top, result.output
    assert "VERIFIED: " in result.output and "NOT VERIFIED" not in result.output
    assert "every service stopped" in result.output
    assert not (tmp_path / "fc" / "demo" / "devnet" / "anvil.pid.json").exists()


def test_installed_script_lists_the_chain_commands():
    script = Path(sys.executable).parent / "fedchain"
    out = subprocess.run(
        [str(script), "chain", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "up" in out and "down" in out and "status" in out


def test_network_init_on_any_rpc_url(devnet, tmp_path, monkeypatch):
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path / "fc"))
    monkeypatch.setenv("FEDCHAIN_RPC_URL", devnet.rpc_url)
    result = runner.invoke(network_app, ["init", "--hospitals", "2"])
    assert result.exit_code == 0, result.output
    network = NetworkFile.load(tmp_path / "fc" / "network.json")
    assert network.rpc_url == devnet.rpc_url and network.quorum == 2


def test_network_init_refuses_devnet_keys_on_a_non_devnet_chain(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path / "fc"))
    monkeypatch.setenv("FEDCHAIN_CHAIN_ID", "5")
    monkeypatch.delenv("FEDCHAIN_RPC_URL", raising=False)
    try:
        assert runner.invoke(chain_app, ["up"]).exit_code == 0
        result = runner.invoke(network_app, ["init"])
        assert result.exit_code != 0
        assert "not a devnet" in str(result.exception)
        assert not (tmp_path / "fc" / "network.json").exists()
        status = Devnet(tmp_path / "fc" / "devnet", chain_id=5).status()
        with pytest.raises(ConfigError):  # the library refuses too, before deploying anything
            init_network(
                connect(status.rpc_url),
                devnet_account(0),
                [devnet_pair_accounts(0)],
                rpc_url=status.rpc_url,
            )
        assert connect(status.rpc_url).eth.block_number == 0
    finally:
        runner.invoke(chain_app, ["down"])


def test_chain_status_checks_the_rpc_url_when_one_is_set(devnet, tmp_path, monkeypatch):
    # the compose healthcheck runs `fedchain chain status` with FEDCHAIN_RPC_URL set
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path / "fc"))
    monkeypatch.setenv("FEDCHAIN_RPC_URL", devnet.rpc_url)
    result = runner.invoke(chain_app, ["status"])
    assert result.exit_code == 0, result.output
    assert devnet.rpc_url in result.output and "block" in result.output
    monkeypatch.setenv("FEDCHAIN_RPC_URL", "http://127.0.0.1:9")
    assert runner.invoke(chain_app, ["status"]).exit_code != 0


def test_network_init_keep_existing_reuses_a_live_ledger(devnet, tmp_path, monkeypatch):
    monkeypatch.setenv("FEDCHAIN_DATA_DIR", str(tmp_path / "fc"))
    monkeypatch.setenv("FEDCHAIN_RPC_URL", devnet.rpc_url)
    first = runner.invoke(network_app, ["init", "--hospitals", "2", "--keep-existing"])
    assert first.exit_code == 0, first.output
    address = NetworkFile.load(tmp_path / "fc" / "network.json").ledger_address
    again = runner.invoke(network_app, ["init", "--hospitals", "2", "--keep-existing"])
    assert again.exit_code == 0 and "kept the ledger" in again.output
    assert NetworkFile.load(tmp_path / "fc" / "network.json").ledger_address == address
    other = runner.invoke(network_app, ["init", "--hospitals", "3", "--keep-existing"])
    assert isinstance(other.exception, ConfigError)
    fresh = runner.invoke(network_app, ["init", "--hospitals", "2"])  # without: a new ledger
    assert NetworkFile.load(tmp_path / "fc" / "network.json").ledger_address != address
    assert fresh.exit_code == 0
