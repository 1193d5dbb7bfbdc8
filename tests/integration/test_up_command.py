"""The installed `fedchain up`: prints its services and doctor token, stops all on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

FEDCHAIN = Path(sys.executable).with_name("fedchain")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_up_runs_until_sigterm_then_leaves_no_child(tmp_path):
    log = tmp_path / "up.log"
    env = {**os.environ, "COLUMNS": "200", "FEDCHAIN_DATA_DIR": str(tmp_path / "fc")}
    env.pop("FEDCHAIN_RPC_URL", None)
    with log.open("w") as sink:
        up = subprocess.Popen(
            [
                str(FEDCHAIN),
                "up",
                "--hospitals",
                "2",
                "--key-bits",
                "512",
                "--cases",
                "160",
                "--refresh",
                "0.5",
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        end = time.monotonic() + 150
        while "doctor token" not in log.read_text():
            assert up.poll() is None, log.read_text()
            assert time.monotonic() < end, log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        urls = re.findall(r"http://127\.0\.0\.1:\d+", text)
        assert len(set(urls)) >= 4
        children = _children(up.pid)
        assert len(children) >= 5  # anvil, 2 miners, 2 hospitals (+ multiprocessing's tracker)
    finally:
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=90) == 0
    assert "stopped: every service and the devnet" in log.read_text()
    # multiprocessing's resource tracker (from the key ceremony) exits when it sees its
    # parent's pipe close, a moment after `up` itself: give stragglers a few seconds
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = {pid: _cmdline(pid) for pid in children if not _gone(pid)}
    assert not left, f"children still running after `up` exited: {left}"
    assert (tmp_path / "fc" / "network" / "devnet" / "state.json").exists()
    assert (tmp_path / "fc" / "network" / "logs" / "miner-1.log").exists()
