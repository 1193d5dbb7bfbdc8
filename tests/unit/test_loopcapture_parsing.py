"""The capture parser finds a value hidden in gzip + chunked + base64 HTTP split over segments."""

from __future__ import annotations

import base64
import gzip
import struct
from pathlib import Path

from tests.integration.loopcapture import (  # type: ignore[import-not-found]
    decoded_runs,
    http_bodies,
    read_pcap,
    tcp_streams,
)

SECRET = b"hospital-2-p000123 NID000004567 " + struct.pack("<8f", *range(1, 9))


def _frame(seq: int, payload: bytes, sport: int = 40000, dport: int = 8545) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x18, 65535, 0, 0) + payload
    ip = (
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(tcp),
            0,
            0,
            64,
            6,
            0,
            bytes([127, 0, 0, 1]),
            bytes([127, 0, 0, 1]),
        )
        + tcp
    )
    return b"\x00" * 12 + b"\x08\x00" + ip


def _pcap(frames: list[bytes]) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for frame in frames:
        out += struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
    return out


def test_a_secret_in_a_gzipped_chunked_base64_body_split_over_segments_is_recovered(tmp_path):
    body = gzip.compress(b'{"blob_b64":"' + base64.b64encode(SECRET * 4) + b'"}')
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    message = (
        b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n" + chunked
    )
    cut = len(message) // 2
    frames = [
        _frame(1000 + cut, message[cut:]),
        _frame(1000, message[:cut]),
        _frame(1000, message[:cut]),
    ]  # out of order, with a retransmission
    path = tmp_path / "t.pcap"
    path.write_bytes(_pcap(frames))

    pcap = read_pcap(Path(path))
    assert pcap.packets == 3 and pcap.payload_bytes([8545]) == len(message) + cut
    (stream,) = tcp_streams(pcap).values()
    assert stream == message
    (plain,) = list(http_bodies(stream))
    assert SECRET not in stream and b"blob_b64" in plain
    assert any(SECRET in run for run in decoded_runs(plain))


def test_hex_runs_are_decoded_as_well():
    rpc = b'{"params":["0x' + SECRET.hex().encode() + b'"]}'
    assert any(SECRET in run for run in decoded_runs(rpc))
