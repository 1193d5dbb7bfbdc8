"""An ASGI app factory served by N worker processes, each new connection to the least busy.

With keep-alive a connection stays on the worker that took it, so how the connections are
split decides the tail latency: at 100 connections on two cores the busier worker's share
sets the p99. ``uvicorn --workers N`` shares one listening socket and whichever worker wakes
first accepts (a burst once landed 64/36; the busier worker's requests took 2.3x as long).
One ``SO_REUSEPORT`` socket per worker spreads them by a hash of the client's port, which is
random, not even (41/59, 46/54, 47/53 measured). Here the parent process accepts every
connection and hands its descriptor (``SCM_RIGHTS`` over a Unix socket pair) to the worker
that holds the fewest open connections: handed minus closed, the closed count written by
the worker into shared memory. The hop costs one accept and one ``sendmsg`` per connection,
not per request. The parent listens only once every worker has loaded its app (a barrier),
so until then a connection is refused, not queued behind one still building its index.

Run as ``python -m node.asgi_workers module:factory --host H --port P --workers N``.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import functools
import multiprocessing
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from multiprocessing.synchronize import Barrier
from threading import BrokenBarrierError
from types import FrameType
from typing import Any

import uvicorn

from node.coalesced_http import CoalescingHttpToolsProtocol
from node.errors import ConfigError

_LOAD_TIMEOUT = 900.0  # seconds every worker may take to build its app (a large library)
_BACKLOG = 2048  # uvicorn's default
_HANDED = b"c"  # the byte that carries each handed descriptor

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


def least_busy(handed: Sequence[int], closed: Sequence[int] | ClosedCounts) -> int:
    """The worker holding the fewest open connections (the first of equals)."""
    return min(range(len(handed)), key=lambda i: handed[i] - closed[i])


def _counting(protocol_class: type[Any],
              on_closed: Callable[[], None]) -> Callable[..., asyncio.Protocol]:  # fmt: skip
    class CountedProtocol(protocol_class):  # type: ignore[misc, valid-type]
        def connection_lost(self, exc: Exception | None) -> None:
            try:
                super().connection_lost(exc)
            finally:
                on_closed()

    return CountedProtocol


class HandedConnectionServer(uvicorn.Server):
    """A uvicorn server with no listening socket: it serves the connections handed to it."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket,
                 on_closed: Callable[[], None]) -> None:  # fmt: skip
        super().__init__(config)
        self._channel = channel
        self._on_closed = on_closed

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start the app (its lifespan) as uvicorn does, with no listener; take handed fds."""
        await super().startup(sockets=[])
        protocol = _counting(self.config.http_protocol_class, self._on_closed)
        create = functools.partial(protocol, config=self.config, server_state=self.server_state,
                                   app_state=self.lifespan.state)  # fmt: skip
        self._channel.setblocking(False)
        loop = asyncio.get_running_loop()
        loop.add_reader(self._channel.fileno(), self._take_handed, loop, create)

    def _take_handed(self, loop: asyncio.AbstractEventLoop,
                     create: Callable[[], asyncio.Protocol]) -> None:  # fmt: skip
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self._channel, len(_HANDED), 1)
            except BlockingIOError:
                return
            if not data:  # the parent closed its end: it is stopping
                loop.remove_reader(self._channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                loop.create_task(self._serve_handed(loop, create, socket.socket(fileno=fd)))

    async def _serve_handed(self, loop: asyncio.AbstractEventLoop,
                            create: Callable[[], asyncio.Protocol],
                            conn: socket.socket) -> None:  # fmt: skip
        try:
            await loop.connect_accepted_socket(create, conn)
        except OSError:  # the client left before the worker took it
            conn.close()
            self._on_closed()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop taking handed connections, then uvicorn's shutdown (finish what is in flight)."""
        if self._channel.fileno() >= 0:
            asyncio.get_running_loop().remove_reader(self._channel.fileno())
            self._channel.close()
        await super().shutdown(sockets=sockets)


def _worker(index: int, factory: str, channel: socket.socket, closed: ClosedCounts,
            log_level: str, access_log: bool, loaded: Barrier) -> None:  # fmt: skip
    # no proxy-header middleware: a worker is not behind a proxy, and nothing it serves
    # reads the client's address (it cost ~1.5 % of a worker's CPU)
    config = uvicorn.Config(factory, factory=True, log_level=log_level, access_log=access_log,
                            proxy_headers=False, http=CoalescingHttpToolsProtocol)  # fmt: skip
    config.load()

    def on_closed() -> None:  # this worker is the only writer of its slot
        closed[index] += 1

    loaded.wait(_LOAD_TIMEOUT)  # the parent listens only when every worker can answer
    HandedConnectionServer(config, channel, on_closed).run()  # serves until SIGTERM


def _dispatch(listener: socket.socket, channels: list[socket.socket],
              closed: ClosedCounts, loaded: Barrier, stop: threading.Event) -> None:  # fmt: skip
    """Accept connections and hand each to the least busy worker, until ``stop``."""
    try:
        loaded.wait(_LOAD_TIMEOUT)
    except BrokenBarrierError:  # a worker died while loading: serve() notices and stops
        return
    listener.listen(_BACKLOG)
    listener.settimeout(0.5)  # wake to see ``stop``
    handed = [0] * len(channels)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:  # out of descriptors or the listener closed: retry or stop
            stop.wait(0.05)
            continue
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            i = least_busy(handed, closed)
            try:
                socket.send_fds(channels[i], [_HANDED], [conn.fileno()])
            except OSError:  # that worker is gone: serve() notices and stops
                continue
            handed[i] += 1


def serve(factory: str, *, host: str, port: int, workers: int, log_level: str = "warning",
          access_log: bool = True) -> int:  # fmt: skip
    """Serve ``factory`` in ``workers`` processes until SIGTERM/SIGINT or a worker dies.

    Returns the exit status: 0 after a stop signal, 1 if a worker ended on its own.
    """
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}",
                          fix="pass --workers 1 or more")  # fmt: skip
    listener = listening_socket(host, port)  # a clear error now if the port is taken
    spawn = multiprocessing.get_context("spawn")
    loaded = spawn.Barrier(workers + 1)  # the workers and the dispatcher
    closed = spawn.Array("q", workers, lock=False)
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(workers)]
    procs = [
        spawn.Process(target=_worker, name=f"asgi-worker-{i}",
                      args=(i, factory, pairs[i][1], closed, log_level, access_log, loaded))
        for i in range(workers)
    ]  # fmt: skip
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    channels = [parent_end for parent_end, _ in pairs]
    dispatcher = threading.Thread(target=_dispatch, name="asgi-dispatch", daemon=True,
                                  args=(listener, channels, closed, loaded, stop))  # fmt: skip
    try:
        for p in procs:
            p.start()
        for _, worker_end in pairs:
            worker_end.close()  # the worker holds its own copy
        dispatcher.start()
        while not stop.is_set() and all(p.is_alive() for p in procs):
            stop.wait(0.5)
        died = not stop.is_set()
    finally:
        stop.set()
        loaded.abort()  # a dispatcher still waiting for the workers gives up
        if dispatcher.ident is not None:
            dispatcher.join(5)
        listener.close()
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for p in procs:
            p.join(15)
            if p.is_alive():
                p.kill()
                p.join()
        for parent_end, _ in pairs:
            parent_end.close()
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
        status = serve(a.factory, host=a.host, port=a.port, workers=a.workers,
                       log_level=a.log_level, access_log=not a.no_access_log)  # fmt: skip
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc.message}\nfix: {exc.fix}\n")
        status = 2
    sys.exit(status)


if __name__ == "__main__":
    main()
