"""uvicorn's HTTP protocol with a response's status line and headers sent with its body.

uvicorn writes an ASGI response's head as soon as ``http.response.start`` arrives and the
body on ``http.response.body``: two ``write`` system calls, two TCP segments and, on
loopback, two wake-ups of the client for every answer. A diagnosis worker's answers are one
start and one body in the same step, so here the head waits for the body and both go out in
one write. A head whose body does not follow in the same step (a streamed response) goes out
on the next turn of the event loop. Everything else the protocol does is uvicorn's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD, _HEAD_END = b"HTTP/1.1 ", b"\r\n\r\n"


class CoalescingTransport:
    """A transport that holds a response head until the next write (or the next loop turn)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data``, after a held head; hold it if it is a response head."""
        if self._head is not None:
            data, self._head = self._head + data, None
        elif isinstance(data, bytes) and data.startswith(_HEAD) and data.endswith(_HEAD_END):
            self._head = data
            self._loop.call_soon(self._flush)
            return
        self._transport.write(data)

    def _flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        """Send what is held, then close."""
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        """Wrap the connection's transport, then let uvicorn set the connection up."""
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
