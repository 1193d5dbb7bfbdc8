"""Network's crash and restart of one hospital, on stand-in processes (no devnet)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from node.errors import FedchainError
from node.netup import Child, Network


def _sleeper(tmp_path) -> Child:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    return Child("hospital-1", "http://127.0.0.1:1", "/health", tmp_path / "h.log", process)


def test_a_killed_hospital_is_reaped_and_a_running_one_is_not_restarted(tmp_path):
    net = Network(tmp_path / "net")
    child = _sleeper(tmp_path)
    net.hospitals = [child]
    try:
        with pytest.raises(FedchainError) as err:
            net.restart_hospital(0)
        assert "still running" in str(err.value)
        net.kill_hospital(0)
        assert not child.alive() and child.process.returncode == -9  # SIGKILL, reaped
        net.kill_hospital(0)  # killing a dead one again is harmless
    finally:
        if child.alive():
            child.process.kill()
            child.process.wait()
