"""An ASGI app factory served by N worker processes, each new connection to the least busy.

With keep-alive a connection stays on the worker that took it, so how the connections are
split decides the tail latency: at 100 connections on two cores the busier worker's share
sets the p99. ``uvicorn --workers N`` shares one listening socket and whichever worker wakes
first accepts (wrk's 100 connections landed 65/35, 61/39, 38/62, 77/23, 44/56 in five
tries; the busier worker's requests took up to 2.3x as long). Measured beside uvicorn's
workers in alternating runs (issue 24, benchmarks/diagnosis/README.md), serving without
this acceptor made the p99 at 100 connections > 1.2x in most rounds.
One ``SO_REUSEPORT`` socket per worker spreads them by a hash of the client's port, which is
random, not even (41/59, 46/54, 47/53 measured). Here the parent process accepts every
connection and hands its descriptor (``SCM_RIGHTS`` over a Unix socket pair) to the worker
that holds the fewest open connections: handed minus closed, the closed count written by
the worker into shared memory. The hop costs one accept and one ``sendmsg`` per connection,
not per request. The parent listens only once every worker has started its app (each says
so on its channel), so until then a connection is refused, not queued behind a worker still
building its index.

It reaches into uvicorn: it subclasses ``uvicorn.Server`` and calls ``startup(sockets=[])``,
reads ``server_state``, ``lifespan.state`` and ``config.http_protocol_class``, and builds
the HTTP protocol itself. uvicorn is therefore pinned below its next minor version, and
``tests/unit/node/test_asgi_workers_uvicorn.py`` checks that interface.

Run as ``python -m node.asgi_workers module:factory --host H --port P --workers N``.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import functools
import logging
import multiprocessing
import multiprocessing.process
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence, Set
from types import FrameType
from typing import Any

import uvicorn

from node.errors import ConfigError

log = logging.getLogger(__name__)

_LOAD_TIMEOUT = 900.0  # seconds every worker may take to build its app (a large library)
_BACKLOG = 2048  # uvicorn's default
_HANDED = b"c"  # the byte that carries each handed descriptor
_READY = b"r"  # a worker's message once its app has started

ClosedCounts = ctypes.Array[ctypes.c_int64]  # per worker, in memory shared with the parent


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (not yet listening); a taken port is a ConfigError."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            fix="pick a free port (another server may be using it)",
        ) from exc
    return sock


def handing_order(
    handed: Sequence[int], closed: Sequence[int] | ClosedCounts, gone: Set[int] = frozenset()
) -> list[int]:
    """Workers to try, fewest open connections first (ties by index); ``gone`` left out."""
    live = [i for i in range(len(handed)) if i not in gone]
    return sorted(live, key=lambda i: (handed[i] - closed[i], i))


def _counting(
    protocol_class: type[Any], on_closed: Callable[[], None]
) -> Callable[..., asyncio.Protocol]:
    class CountedProtocol(protocol_class):  # type: ignore[misc, valid-type]
        def connection_lost(self, exc: Exception | None) -> None:
            try:
                super().connection_lost(exc)
            finally:
                on_closed()

    return CountedProtocol


class HandedConnectionServer(uvicorn.Server):
    """A uvicorn server with no listening socket: it serves the connections handed to it."""

    def __init__(
        self, config: uvicorn.Config, channel: socket.socket, on_closed: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self._channel = channel
        self._on_closed = on_closed
        self._tasks: set[asyncio.Task[None]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start the app (its lifespan) as uvicorn does, with no listener; then take fds."""
        await super().startup(sockets=[])  # a failing lifespan exits here, as in uvicorn
        protocol = _counting(self.config.http_protocol_class, self._on_closed)
        create = functools.partial(
            protocol,
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        self._channel.setblocking(False)
        loop = asyncio.get_running_loop()
        loop.add_reader(self._channel.fileno(), self._take_handed, loop, create)
        self._channel.send(_READY)  # the parent listens once every worker has said so

    def _receive(self) -> tuple[bytes, list[int]]:
        data, fds, _, _ = socket.recv_fds(self._channel, len(_HANDED), 1, socket.MSG_CMSG_CLOEXEC)
        return data, fds

    def _take_handed(
        self, loop: asyncio.AbstractEventLoop, create: Callable[[], asyncio.Protocol]
    ) -> None:
        while True:
            try:
                data, fds = self._receive()
            except BlockingIOError:
                return
            if not data:  # the parent closed its end: it stopped or died
                self._stop_taking(loop)
                self.should_exit = True
                return
            if not fds:  # the kernel dropped the descriptor: this process has run out
                log.warning("a handed connection arrived without its descriptor (out of fds?)")
                self._on_closed()
                continue
            conn = socket.socket(fileno=fds[0])
            task = loop.create_task(self._serve_handed(loop, create, conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve_handed(
        self,
        loop: asyncio.AbstractEventLoop,
        create: Callable[[], asyncio.Protocol],
        conn: socket.socket,
    ) -> None:
        try:
            await loop.connect_accepted_socket(create, conn)
        except Exception:  # never set up, so never closed by its protocol: count it here
            log.exception("a handed connection could not be served")
            conn.close()
            self._on_closed()

    def _stop_taking(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop reading the channel; close what was handed but not yet taken (a reset)."""
        if self._channel.fileno() < 0:
            return
        loop.remove_reader(self._channel.fileno())
        while True:
            try:
                data, fds = self._receive()
            except OSError:  # BlockingIOError included: nothing more is queued
                break
            if not data:
                break
            for fd in fds:
                os.close(fd)
            self._on_closed()
        self._channel.close()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop taking handed connections, then uvicorn's shutdown (finish what is in flight)."""
        self._stop_taking(asyncio.get_running_loop())
        await super().shutdown(sockets=sockets)


def _worker(
    index: int,
    factory: str,
    channel: socket.socket,
    closed: ClosedCounts,
    log_level: str,
    access_log: bool,
) -> None:
    # no proxy-header middleware: a worker is not behind a proxy, and nothing it serves
    # reads the client's address (it cost ~1.5 % of a worker's CPU). No WebSocket
    # protocol: nothing here serves one, and an upgrade would swap out the counting protocol.
    config = uvicorn.Config(
        factory,
        factory=True,
        log_level=log_level,
        access_log=access_log,
        proxy_headers=False,
        http="httptools",
        ws="none",
    )

    def on_closed() -> None:  # this worker is the only writer of its slot
        closed[index] += 1

    HandedConnectionServer(config, channel, on_closed).run()  # serves until SIGTERM


class _Dispatcher:
    """The parent's acceptor: waits for every worker, then hands out connections."""

    def __init__(
        self,
        listener: socket.socket,
        channels: list[socket.socket],
        closed: ClosedCounts,
        stop: threading.Event,
    ) -> None:
        self.listener, self.channels, self.closed, self.stop = listener, channels, closed, stop
        self.handed = [0] * len(channels)
        self.gone: set[int] = set()

    def run(self) -> None:
        """Wait until every worker is ready, listen, accept and hand out until ``stop``."""
        if not self._every_worker_ready():
            return  # serve() sees this thread end and stops
        self.listener.listen(_BACKLOG)
        self.listener.settimeout(0.5)  # wake to see ``stop``
        for channel in self.channels:
            channel.setblocking(False)  # a stalled worker must not stall the acceptor
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:  # out of descriptors, say: wait a little, then retry
                log.warning("accept failed: %s", exc)
                self.stop.wait(0.05)
                continue
            with conn:
                self._hand(conn)

    def _every_worker_ready(self) -> bool:
        pending = dict(enumerate(self.channels))
        deadline = time.monotonic() + _LOAD_TIMEOUT
        while pending and not self.stop.is_set():
            if time.monotonic() > deadline:
                log.error("workers %s did not start within %.0f s", sorted(pending), _LOAD_TIMEOUT)
                return False
            readable, _, _ = select.select(list(pending.values()), [], [], 0.5)
            for i in [i for i, ch in pending.items() if ch in readable]:
                if pending.pop(i).recv(len(_READY)) != _READY:
                    return False  # that worker ended before it was ready
        return not pending

    def _hand(self, conn: socket.socket) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the client has already gone
            return
        for i in handing_order(self.handed, self.closed, self.gone):
            try:
                socket.send_fds(self.channels[i], [_HANDED], [conn.fileno()])
            except BlockingIOError:  # its queue is full (a stalled loop): try the next
                continue
            except OSError as exc:  # it has ended: serve() stops; meanwhile the others serve
                log.warning("worker %d cannot take connections: %s", i, exc)
                self.gone.add(i)
                continue
            self.handed[i] += 1
            return
        log.warning("no worker could take a connection: closed it")


def serve(
    factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "warning",
    access_log: bool = True,
) -> int:
    """Serve ``factory`` in ``workers`` processes until SIGTERM/SIGINT or a worker dies.

    Returns the exit status: 0 after a stop signal, 1 if a worker (or the acceptor) ended on
    its own. A worker that dies is not restarted: the service stops, so that whatever
    supervises it (``fedchain up``, compose, systemd) sees the failure and restarts it.
    """
    if workers < 1:
        raise ConfigError(
            f"workers must be at least 1, got {workers}", fix="pass --workers 1 or more"
        )
    listener = listening_socket(host, port)  # a clear error now if the port is taken
    spawn = multiprocessing.get_context("spawn")
    pairs: list[tuple[socket.socket, socket.socket]] = []
    procs: list[multiprocessing.process.BaseProcess] = []
    stop = threading.Event()
    dispatcher: threading.Thread | None = None

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        closed = spawn.Array("q", workers, lock=False)
        pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(workers)]
        procs = [
            spawn.Process(
                target=_worker,
                name=f"asgi-worker-{i}",
                args=(i, factory, pairs[i][1], closed, log_level, access_log),
            )
            for i in range(workers)
        ]
        for p in procs:
            p.start()
        for _, worker_end in pairs:
            worker_end.close()  # the worker holds its own copy
        acceptor = _Dispatcher(listener, [parent_end for parent_end, _ in pairs], closed, stop)
        dispatcher = threading.Thread(target=acceptor.run, name="asgi-dispatch", daemon=True)
        dispatcher.start()
        while not stop.is_set() and dispatcher.is_alive() and all(p.is_alive() for p in procs):
            stop.wait(0.5)
        died = not stop.is_set()
        if died:
            for i, p in enumerate(procs):
                if not p.is_alive():
                    log.error("worker %d (PID %s) ended with exit code %s", i, p.pid, p.exitcode)
            if not dispatcher.is_alive():
                log.error("the acceptor stopped")
    finally:
        stop.set()
        if dispatcher is not None:
            dispatcher.join(5)
        listener.close()
        started = [p for p in procs if p.pid is not None]
        for p in started:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + 15
        for p in started:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in started:
            if p.is_alive():
                p.kill()
                p.join()
        for pair in pairs:
            for end in pair:
                end.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 1 if died else 0


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m node.asgi_workers module:factory --port P --workers N``."""
    ap = argparse.ArgumentParser(prog="python -m node.asgi_workers")
    ap.add_argument("factory", help="module:callable returning the ASGI app")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--log-level", default="warning")
    ap.add_argument("--no-access-log", action="store_true")
    a = ap.parse_args(argv)
    try:
        status = serve(
            a.factory,
            host=a.host,
            port=a.port,
            workers=a.workers,
            log_level=a.log_level,
            access_log=not a.no_access_log,
        )
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc.message}\nfix: {exc.fix}\n")
        status = 2
    sys.exit(status)


if __name__ == "__main__":
    main()
