"""An ASGI app factory served by N worker processes, each with its own listening socket.

``uvicorn --workers N`` shares one listening socket: whichever worker wakes first accepts,
so a burst of connections can land 64/36 on two workers, and with keep-alive they stay
there. Measured at 100 connections on two cores, the busier worker's requests then took
2.3x as long (p50 32 vs 14 ms) and set the p99. Here every worker binds its own socket to
the port with SO_REUSEPORT and the kernel spreads new connections over them by a hash
of the client's address and port. A worker listens only once every worker has loaded its
app (a barrier), so no connection waits in the backlog of one still building its index.

Run as ``python -m node.asgi_workers module:factory --host H --port P --workers N``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.synchronize import Barrier
from types import FrameType

import uvicorn

from node.coalesced_http import CoalescingHttpToolsProtocol
from node.errors import ConfigError

_LOAD_TIMEOUT = 900.0  # seconds every worker may take to build its app (a large library)


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT (not yet listening)."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError("this system has no SO_REUSEPORT", fix="serve with one worker")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            fix="pick a free port (another server may be using it)",
        ) from exc
    return sock


def _worker(factory: str, host: str, port: int, log_level: str, access_log: bool,
            loaded: Barrier) -> None:  # fmt: skip
    sock = reuseport_socket(host, port)
    # no proxy-header middleware: a worker listens on its own socket, not behind a proxy,
    # and nothing it serves reads the client's address (it cost ~1.5 % of a worker's CPU)
    config = uvicorn.Config(factory, factory=True, log_level=log_level, access_log=access_log,
                            proxy_headers=False, http=CoalescingHttpToolsProtocol)  # fmt: skip
    config.load()
    loaded.wait(_LOAD_TIMEOUT)  # listen only when every worker can answer
    uvicorn.Server(config).run(sockets=[sock])  # listens, then serves until SIGTERM


def serve(factory: str, *, host: str, port: int, workers: int, log_level: str = "warning",
          access_log: bool = True) -> int:  # fmt: skip
    """Serve ``factory`` in ``workers`` processes until SIGTERM/SIGINT or a worker dies.

    Returns the exit status: 0 after a stop signal, 1 if a worker ended on its own.
    """
    reuseport_socket(host, port).close()  # a clear error now if the port is taken
    spawn = multiprocessing.get_context("spawn")
    loaded = spawn.Barrier(workers)
    procs = [
        spawn.Process(target=_worker, name=f"asgi-worker-{i}",
                      args=(factory, host, port, log_level, access_log, loaded))
        for i in range(workers)
    ]  # fmt: skip
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for p in procs:
            p.start()
        while not stop.is_set() and all(p.is_alive() for p in procs):
            stop.wait(0.5)
        died = not stop.is_set()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for p in procs:
            p.join(15)
            if p.is_alive():
                p.kill()
                p.join()
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
