"""Worker processes with one listening socket each: both serve, a taken port is named, a stop
stops them all. Real processes on a free loopback port, stopped by PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from diagnosis.demo_server import free_port, start_demo_server
from node.asgi_workers import serve
from node.errors import ConfigError

TOKEN = "asgi-workers-token-0123456789ab"


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _established_sockets(pid: int, port: int) -> int:
    """Established TCP connections on ``port`` held by process ``pid`` (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        local_port, state, inode = int(f[1].split(":")[1], 16), f[3], f[9]
        count += local_port == port and state == "01" and inode in inodes
    return count


def test_connections_spread_over_workers_and_a_stop_stops_them_all(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    with start_demo_server(tokens=[TOKEN], cases=100, database_url=url, workers=2,
                           timeout=120) as server:  # fmt: skip
        port = int(server.url.rsplit(":", 1)[1])
        workers = [p for p in _children(server.process.pid)
                   if Path(f"/proc/{p}/cmdline").read_bytes().count(b"spawn")]  # fmt: skip
        assert len(workers) == 2
        clients = [httpx.Client(base_url=server.url, timeout=30) for _ in range(40)]
        try:
            for c in clients:  # each client keeps its own connection open
                assert c.get("/doctor").status_code == 200
            held = [_established_sockets(w, port) for w in workers]
            assert sum(held) == 40
            assert min(held) >= 8  # spread by the kernel (fewer than 8 of 40: odds ~2e-5)
        finally:
            for c in clients:
                c.close()
    for w in workers:  # the parent's SIGTERM reached every worker
        deadline = time.monotonic() + 15
        while Path(f"/proc/{w}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{w}").exists()


def test_a_taken_port_is_refused_naming_it() -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}") as err:
            serve("diagnosis.demo:create_demo_app", host="127.0.0.1", port=port, workers=2)
        assert "free port" in err.value.fix
        out = subprocess.run(
            [sys.executable, "-m", "node.asgi_workers", "diagnosis.demo:create_demo_app",
             "--port", str(port)], capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 2 and f"127.0.0.1:{port}" in out.stderr
