"""The uvicorn internals node/asgi_workers.py uses still behave as it expects.

The acceptor's worker subclasses ``uvicorn.Server``: it starts the app with
``startup(sockets=[])``, builds ``config.http_protocol_class`` with ``server_state`` and
``lifespan.state``, and serves a connection handed to it as a descriptor. uvicorn is pinned
below its next minor version; this runs that path in one process against the installed
uvicorn (a worker thread, a real loopback connection, a real descriptor hand-over).
"""

from __future__ import annotations

import inspect
import socket
import threading
from typing import Any

import uvicorn

from node.asgi_workers import _HANDED, _READY, HandedConnectionServer


def test_server_startup_and_shutdown_take_the_sockets_argument() -> None:
    for method in (uvicorn.Server.startup, uvicorn.Server.shutdown):
        assert "sockets" in inspect.signature(method).parameters


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"6")]}
    )
    await send({"type": "http.response.body", "body": b"handed"})


def test_a_handed_connection_is_served_and_counted_when_it_closes() -> None:
    config = uvicorn.Config(_app, http="httptools", ws="none", lifespan="on", log_level="error")
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    closed = threading.Event()
    server = HandedConnectionServer(config, child, closed.set)
    worker = threading.Thread(target=server.run, daemon=True)
    worker.start()
    try:
        parent.settimeout(30)
        assert parent.recv(len(_READY)) == _READY  # the app has started, with no listener
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client = socket.create_connection(listener.getsockname())
            accepted, _ = listener.accept()
        with client, accepted:
            socket.send_fds(parent, [_HANDED], [accepted.fileno()])
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            client.settimeout(30)
            reply = b""
            while not reply.endswith(b"handed"):
                reply += client.recv(4096)
            assert reply.startswith(b"HTTP/1.1 200 ")
        assert closed.wait(30)  # the protocol's connection_lost reached the count
    finally:
        parent.close()  # the worker stops taking connections and exits
        worker.join(30)
    assert not worker.is_alive()
