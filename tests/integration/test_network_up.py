"""`fedchain up`'s Network: all services healthy, a round opened, every child stopped by PID."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from node.chain.connect import connect
from node.chain.models import RoundStatus
from node.cli.round import admin_ledger
from node.cli.round import app as round_app
from node.netup import Network, NetworkOptions

runner = CliRunner()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_up_serves_every_node_healthy_opens_a_round_and_stops_every_child(tmp_path, monkeypatch):
    options = NetworkOptions(hospitals=3, key_bits=512, cases=240)
    with Network(tmp_path / "net", options) as net:
        pids = net.pids()
        w3 = connect(net.chain.rpc_url)
        first = w3.eth.block_number
        time.sleep(2.2)
        assert w3.eth.block_number > first  # --block-time 1: the chain's clock runs when idle
        assert len(pids) == 7  # 3 miners, 3 hospitals, anvil
        for m in net.miner_urls:
            assert httpx.get(m + "/status", timeout=5).json()["current_round"] == 0
        for k, h in enumerate(net.hospital_urls):
            assert httpx.get(h + "/health", timeout=5).json()["cases"] > 0
            rounds = httpx.get(h + "/rounds", timeout=5).json()
            assert rounds["enabled"] and rounds["applied_round"] == 0
            assert (net.logs / f"{net.hospitals[k].name}.log").exists()

        # the operator's command: spec + genesis model to every miner, then openRound
        for key, value in {
            "FEDCHAIN_NETWORK_FILE": str(net.network_file),
            "FEDCHAIN_RPC_URL": net.settings().rpc_url or "",
            "FEDCHAIN_DATA_DIR": str(net.data_dir),
        }.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("FEDCHAIN_DEVNET_ACCOUNT", raising=False)
        result = runner.invoke(
            round_app,
            [
                "open",
                "--miners",
                ",".join(net.miner_urls),
                "--public-key",
                str(net.key_dir / "consortium.pub"),
                "--init-weights",
                str(net.genesis_weights),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "round 1 open" in result.output and "genesis published" in result.output
        _, ledger = admin_ledger(net.settings())
        info = ledger.round(1)
        assert info.status is RoundStatus.OPEN and info.min_updates == 3
        genesis = info.prev_model_hash.removeprefix("0x")
        for m in net.miner_urls:
            assert (
                httpx.get(f"{m}/blobs/{genesis}", params={"local": "true"}, timeout=5).status_code
                == 200
            )
        again = runner.invoke(round_app, ["open", "--miners", ",".join(net.miner_urls)])
        assert again.exit_code != 0 and "still open" in str(again.exception)
    assert all(_gone(pid) for pid in pids)
    assert not (tmp_path / "net" / "devnet" / "anvil.pid.json").exists()
    assert (tmp_path / "net" / "devnet" / "state.json").exists()
