"""Worker processes fed by one acceptor: connections split evenly, a new one goes to the worker
holding fewest, a taken port is named, a stop stops them all. Real processes on a free loopback
port, stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from node.asgi_workers import handing_order, serve
from node.errors import ConfigError
from tests.integration.services import diagnosis_server, free_port

TOKEN = "asgi-workers-token-0123456789ab"
UPGRADE = (
    b"GET /doctor HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
    b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _client_ports(pid: int, port: int, *, any_state: bool = False) -> set[int]:
    """Client ports of the TCP connections to ``port`` held by ``pid`` (/proc).

    Established ones only, unless ``any_state`` (a socket the client has closed is in
    CLOSE_WAIT until the worker closes it too, and its count follows that close).
    """
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        local_port, remote_port = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16)
        if local_port == port and (any_state or f[3] == "01") and f[9] in inodes:
            ports.add(remote_port)
    return ports


def _workers(server_pid: int) -> list[int]:
    return [
        p for p in _children(server_pid) if Path(f"/proc/{p}/cmdline").read_bytes().count(b"spawn")
    ]


def _keep_alive_client(port: int) -> socket.socket:
    """A raw connection that has had one answer and stays open."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.sendall(b"GET /doctor HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), head[:80]
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
    )
    body = head.split(b"\r\n\r\n", 1)[1]
    while len(body) < length:
        body += conn.recv(65536)
    return conn


def _until(condition: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_connections_split_evenly_and_a_stop_stops_them_all(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    with diagnosis_server(
        tmp_path / "serve.log", tokens=[TOKEN], cases=100, database_url=url, workers=2
    ) as server:
        port = int(server.url.rsplit(":", 1)[1])
        workers = _workers(server.process.pid)
        assert len(workers) == 2
        clients = [httpx.Client(base_url=server.url, timeout=30) for _ in range(40)]
        try:
            for c in clients:  # each client keeps its own connection open
                assert c.get("/doctor").status_code == 200
            assert [len(_client_ports(w, port)) for w in workers] == [20, 20]
        finally:
            for c in clients:
                c.close()
    for w in workers:  # the parent's SIGTERM reached every worker
        _until(lambda: not Path(f"/proc/{w}").exists())  # noqa: B023


def test_a_new_connection_goes_to_the_worker_holding_fewest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    with diagnosis_server(
        tmp_path / "serve.log", tokens=[TOKEN], cases=100, database_url=url, workers=2
    ) as server:
        port = int(server.url.rsplit(":", 1)[1])
        first, second = _workers(server.process.pid)
        clients = [_keep_alive_client(port) for _ in range(20)]
        try:
            on_first = _client_ports(first, port)
            assert len(on_first) == 10 and len(_client_ports(second, port)) == 10
            for c in [c for c in clients if c.getsockname()[1] in on_first]:
                clients.remove(c)
                # a WebSocket upgrade request last: it must not hide the close from the count
                c.sendall(UPGRADE)
                assert c.recv(65536).startswith(b"HTTP/1.1 ")
                c.close()
            _until(lambda: not _client_ports(first, port, any_state=True) & on_first)
            clients += [_keep_alive_client(port) for _ in range(6)]
            # with a hash of the client's port, all six on the emptied worker has odds 1 in 64
            assert len(_client_ports(first, port)) == 6
            assert len(_client_ports(second, port)) == 10
        finally:
            for c in clients:
                c.close()


def test_a_dead_worker_stops_the_service_naming_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'emr.sqlite'}"
    with diagnosis_server(
        tmp_path / "serve.log", tokens=[TOKEN], cases=100, database_url=url, workers=2
    ) as server:
        first, second = _workers(server.process.pid)
        os.kill(first, signal.SIGKILL)
        assert server.process.wait(timeout=30) == 1  # stopped, for its supervisor to restart
        assert f"(PID {first}) ended with exit code -9" in server.output()
        _until(lambda: not Path(f"/proc/{second}").exists())


def test_handing_order_is_fewest_open_first_without_the_gone() -> None:
    assert handing_order([5, 5], [0, 1]) == [1, 0]
    assert handing_order([3, 3, 3], [1, 1, 1]) == [0, 1, 2]  # ties by index
    assert handing_order([9, 2, 4], [8, 0, 0], gone={0}) == [1, 2]


def test_a_taken_port_is_refused_naming_it() -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}") as err:
            serve(
                "hospital.service.diagnosis_app:create_demo_app",
                host="127.0.0.1",
                port=port,
                workers=2,
            )
        assert "free port" in err.value.fix
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "node.asgi_workers",
                "hospital.service.diagnosis_app:create_demo_app",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2 and f"127.0.0.1:{port}" in out.stderr
