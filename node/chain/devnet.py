"""Start, stop and inspect a local anvil devnet whose state file survives restarts."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from pydantic import BaseModel

from node.chain.tools import find_tool
from node.errors import ChainError, ToolMissing

DEVNET_CHAIN_IDS = frozenset({31337, 1337})
# States anvil keeps in memory under --prune-history. With none kept (the bare flag), a
# call that web3 pins to block N fails with BlockOutOfRange as soon as another client's
# transaction mines N+1: concurrent hospitals and miners hit that. 64 recent states cost a
# few MB and nothing is persisted beyond the --state dump.
RECENT_STATES = 64

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class DevnetInfo(BaseModel):
    """What the pid file records about a running devnet."""

    pid: int
    port: int
    chain_id: int
    rpc_url: str
    state_file: str
    log_file: str
    started_at: float


def anvil_binary(extra: Path | None = None) -> Path:
    """The native anvil binary of the npm package (not its node wrapper).

    The wrapper forwards SIGTERM and exits at once, while anvil is still dumping its
    state; running the binary itself lets ``stop`` wait until the dump is complete.
    """
    wrapper = find_tool("anvil", extra)
    modules = wrapper.parent.parent  # node_modules/.bin/anvil -> node_modules
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    native = modules / "@foundry-rs" / f"anvil-{platform.system().lower()}-{arch}" / "bin" / "anvil"
    if native.exists() and os.access(native, os.X_OK):
        return native
    raise ToolMissing(
        f"the anvil wrapper exists but its platform binary {native} does not",
        fix="run `npm ci` (or `make install`) again on this machine",
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that are free right now.

    The sockets stay bound until all are chosen: ports asked for one at a time may repeat
    (the kernel can hand out a port again as soon as its probe socket is closed).
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _is_anvil(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _alive(pid)  # no /proc: trust the pid file
    return b"anvil" in cmdline


def rpc_chain_id(rpc_url: str, timeout: float = 2.0) -> int:
    """Ask a JSON-RPC endpoint for its chain id (raises httpx errors when unreachable)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    reply = httpx.post(rpc_url, json=body, timeout=timeout)
    reply.raise_for_status()
    return int(reply.json()["result"], 16)


class Devnet:
    """An anvil process bound to a state directory: ``state.json``, ``anvil.pid.json``, a log.

    anvil runs with ``--prune-history`` (bounded memory) and ``--state`` (loaded at start,
    dumped on SIGTERM/SIGINT and every ``state_interval`` seconds), so a restart keeps the
    blocks and contract storage.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        chain_id: int = 31337,
        port: int | None = None,
        state_interval: int = 30,
        node_bin: Path | None = None,
        block_time: float | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.chain_id = chain_id
        self.port = port
        self.state_interval = state_interval
        self.node_bin = node_bin
        # a block every ``block_time`` seconds even when idle: the ledger's time-based rules
        # (deadline, rotation, hold-out window) read block.timestamp, which automine freezes
        self.block_time = block_time
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        """The running anvil's DevnetInfo (absent when stopped)."""
        return self.state_dir / "anvil.pid.json"

    @property
    def state_file(self) -> Path:
        """The --state file: loaded at start, dumped on stop."""
        return self.state_dir / "state.json"

    @property
    def log_file(self) -> Path:
        """The log of anvil's stdout and stderr."""
        return self.state_dir / "anvil.log"

    def status(self) -> DevnetInfo | None:
        """The running devnet's info, or None (a stale pid file is removed)."""
        if not self.pid_file.exists():
            return None
        info = DevnetInfo.model_validate_json(self.pid_file.read_text())
        if _alive(info.pid) and _is_anvil(info.pid):
            return info
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, timeout: float = 30.0) -> DevnetInfo:
        """Start anvil (or return the one already running for this state dir)."""
        running = self.status()
        if running is not None:
            if running.chain_id != self.chain_id:
                raise ChainError(
                    f"a devnet with chain id {running.chain_id} already runs from {self.state_dir}",
                    fix="run `fedchain chain down` first or use the same chain id",
                )
            return running
        binary = anvil_binary(self.node_bin)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port = self.port or self._last_port() or free_port()
        args = [
            str(binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chain-id",
            str(self.chain_id),
            "--prune-history",
            str(RECENT_STATES),
            "--state",
            str(self.state_file),
            "--state-interval",
            str(self.state_interval),
        ]
        if self.block_time is not None:
            args += ["--block-time", f"{self.block_time:g}"]
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # `chain up` returns; anvil keeps running
            )
        info = DevnetInfo(
            pid=self._process.pid,
            port=port,
            chain_id=self.chain_id,
            rpc_url=f"http://127.0.0.1:{port}",
            state_file=str(self.state_file),
            log_file=str(self.log_file),
            started_at=time.time(),
        )
        self._wait_ready(info, timeout)
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info.model_dump()))
        tmp.replace(self.pid_file)
        (self.state_dir / "anvil.port").write_text(str(port))
        return info

    def _last_port(self) -> int | None:
        """The port of the previous run when it is free: a restart keeps its RPC URL."""
        path = self.state_dir / "anvil.port"
        if not path.exists():
            return None
        port = int(path.read_text())
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # anvil binds with SO_REUSEADDR too, so TIME_WAIT from its last run is no obstacle
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return None
        return port

    def _wait_ready(self, info: DevnetInfo, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ChainError(
                    f"anvil exited with code {self._process.returncode}: {self._log_tail()}",
                    fix=f"read {self.log_file}; a corrupt {self.state_file} can be removed",
                )
            try:
                if rpc_chain_id(info.rpc_url, timeout=1.0) == info.chain_id:
                    return
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        self._kill(info.pid, signal.SIGKILL, 5.0)
        raise ChainError(f"anvil did not answer on {info.rpc_url} within {timeout:.0f} s")

    def _log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_file.read_text().strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the devnet by PID with SIGTERM (anvil dumps its state) and wait for it.

        Returns False when nothing was running.
        """
        info = self.status()
        if info is None:
            return False
        if not self._kill(info.pid, signal.SIGTERM, timeout):
            self._kill(info.pid, signal.SIGKILL, 5.0)
            self.pid_file.unlink(missing_ok=True)
            raise ChainError(
                f"anvil (pid {info.pid}) ignored SIGTERM for {timeout:.0f} s and was killed; "
                "its last state dump may be older than its last block",
                fix=f"see {self.log_file}",
            )
        self.pid_file.unlink(missing_ok=True)
        return True

    def _kill(self, pid: int, sig: signal.Signals, timeout: float) -> bool:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.pid == pid:
                if self._process.poll() is not None:
                    return True
            elif not _alive(pid):
                return True
            time.sleep(0.02)
        return False
