"""The anvil devnet: start, stop by PID, restart from the state file, clear tool errors."""

from __future__ import annotations

import os

import pytest

from node.chain.client import LedgerClient
from node.chain.connect import connect
from node.chain.deploy import deploy_ledger
from node.chain.devnet import Devnet, anvil_binary
from node.chain.models import Role
from node.chain.tools import find_tool
from node.errors import ToolMissing
from node.identity import devnet_account


def test_restart_from_the_state_file_keeps_blocks_and_contract_storage(tmp_path):
    chain = Devnet(tmp_path / "devnet")
    info = chain.start()
    first_url = info.rpc_url
    try:
        w3 = connect(info.rpc_url)
        ledger, deployment = deploy_ledger(w3, devnet_account(0))
        ledger.register_pair(devnet_account(1).address, devnet_account(2).address)
        block = w3.eth.block_number
    finally:
        assert chain.stop()
    assert chain.status() is None
    assert chain.state_file.stat().st_size > 0

    info = chain.start()
    try:
        w3 = connect(info.rpc_url)
        assert info.rpc_url == first_url  # the port is reused when free
        assert w3.eth.block_number == block
        again = LedgerClient(w3, deployment.address, devnet_account(0))
        assert again.member(devnet_account(1).address).role == Role.HOSPITAL
        assert again.pair_count() == 1
        # history (events) is still readable after the restart
        assert [e.event for e in again.events(names={"PairRegistered"})] == ["PairRegistered"]
    finally:
        chain.stop()


def test_status_and_stop_by_pid_from_another_handle(tmp_path):
    chain = Devnet(tmp_path / "devnet", chain_id=1337)
    info = chain.start()
    other = Devnet(tmp_path / "devnet", chain_id=1337)
    status = other.status()
    assert status is not None and status.pid == info.pid and status.chain_id == 1337
    assert connect(status.rpc_url).eth.chain_id == 1337
    assert chain.start().pid == info.pid  # already running: the same process
    assert other.stop()
    assert not other.stop()
    assert chain.status() is None


def test_stale_pid_file_is_ignored(tmp_path):
    chain = Devnet(tmp_path / "devnet")
    chain.start()
    chain.stop()
    chain.state_dir.mkdir(exist_ok=True)
    chain.pid_file.write_text(
        '{"pid": 999999, "port": 1, "chain_id": 31337, "rpc_url": "http://127.0.0.1:1",'
        ' "state_file": "x", "log_file": "y", "started_at": 0}'
    )
    assert chain.status() is None
    assert not chain.pid_file.exists()


def test_missing_anvil_says_to_run_make_install(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("node.chain.tools.PACKAGE_ROOT", tmp_path)
    monkeypatch.delenv("FEDCHAIN_NODE_BIN", raising=False)
    with pytest.raises(ToolMissing) as err:
        find_tool("anvil")
    assert "make install" in (err.value.fix or "")
    with pytest.raises(ToolMissing):
        anvil_binary()
    with pytest.raises(ToolMissing):
        Devnet(tmp_path / "devnet").start()


def test_node_bin_override_finds_the_tools(repo_root, monkeypatch):
    monkeypatch.setenv("FEDCHAIN_NODE_BIN", str(repo_root / "node_modules" / ".bin"))
    assert find_tool("solcjs").name == "solcjs"
    assert os.access(anvil_binary(), os.X_OK)
