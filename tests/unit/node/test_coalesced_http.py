"""A response head waits for its body and both go out in one write; nothing is lost or
reordered: a lone head goes out on the next loop turn, a close sends what is held, and a
real uvicorn server over the protocol answers plain, streamed and kept-alive requests."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from node.coalesced_http import CoalescingHttpToolsProtocol, CoalescingTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class RecordingTransport(asyncio.Transport):
    """The socket end of a connection: what was written, in which calls, and whether closed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name == "peername" else default


def test_a_head_and_its_body_go_out_in_one_write() -> None:
    async def scenario() -> list[bytes]:
        sink = RecordingTransport()
        transport = CoalescingTransport(sink, asyncio.get_running_loop())
        transport.write(HEAD)
        assert sink.writes == []  # held
        transport.write(b"{}")
        await asyncio.sleep(0)  # the scheduled flush finds nothing held
        return sink.writes

    assert asyncio.run(scenario()) == [HEAD + b"{}"]


def test_a_lone_head_goes_out_on_the_next_turn_and_a_close_sends_what_is_held() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes], bool]:
        loop = asyncio.get_running_loop()
        lone, closing = RecordingTransport(), RecordingTransport()
        CoalescingTransport(lone, loop).write(HEAD)  # a streamed response's head
        await asyncio.sleep(0)
        held = CoalescingTransport(closing, loop)
        held.write(HEAD)
        held.close()
        await asyncio.sleep(0)  # the scheduled flush must not write twice or after close
        return lone.writes, closing.writes, closing.closed

    lone, closing, closed = asyncio.run(scenario())
    assert lone == [HEAD]
    assert closing == [HEAD] and closed


def test_other_writes_pass_through_in_order_and_the_rest_is_the_real_transport() -> None:
    async def scenario() -> tuple[list[bytes], object]:
        sink = RecordingTransport()
        transport = CoalescingTransport(sink, asyncio.get_running_loop())
        transport.write(b"chunk-1")
        transport.write(memoryview(b"chunk-2"))
        transport.write(HEAD)
        transport.write(b"ok")
        return sink.writes, transport.get_extra_info("peername")

    writes, peer = asyncio.run(scenario())
    assert writes == [b"chunk-1", b"chunk-2", HEAD + b"ok"]
    assert peer == ("127.0.0.1", 1)


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict[str, int]) -> dict[str, int]:
        return {k: v + 1 for k, v in body.items()}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(3):
                await asyncio.sleep(0.01)
                yield f"part-{i};".encode()

        return StreamingResponse(parts(), media_type="text/plain")

    return app


@pytest.fixture()
def server_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        _app(), host="127.0.0.1", port=port, log_level="warning", http=CoalescingHttpToolsProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.025)
        assert server.started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_real_server_over_the_protocol_answers_plain_streamed_and_kept_alive(
    server_url: str,
) -> None:
    with httpx.Client(base_url=server_url, timeout=10) as http:
        for i in range(20):  # one kept-alive connection: every answer whole and in order
            reply = http.post("/echo", json={"n": i})
            assert reply.status_code == 200 and reply.json() == {"n": i + 1}
        streamed = http.get("/stream")
        assert streamed.text == "part-0;part-1;part-2;"
        assert http.post("/echo", json={"n": "x"}).status_code == 422
    with socket.create_connection(("127.0.0.1", int(server_url.rsplit(":", 1)[1]))) as raw:
        raw.sendall(
            b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b'content-length: 7\r\nconnection: close\r\n\r\n{"n":1}'
        )
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b'{"n":2}'
