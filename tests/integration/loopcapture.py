"""Loopback capture for privacy tests: tcpdump on ``lo`` by port, pcap parsed into HTTP bodies.

``LoopCapture`` runs tcpdump (stopped by PID) with a BPF filter on the given TCP ports.
``read_pcap`` / ``tcp_streams`` / ``http_bodies`` turn the file into what a searcher needs:
the raw bytes, each reassembled TCP stream, and every HTTP body de-chunked and
decompressed; ``decoded_runs`` adds the base64 and hex runs inside those bodies, decoded.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import os
import re
import shutil
import signal
import struct
import subprocess
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ETHERNET, LINUX_SLL, RAW = 1, 113, 101
Flow = tuple[str, int, str, int]


class CannotCapture(RuntimeError):
    """tcpdump is missing or may not open ``lo`` here (the reason is the message)."""


@dataclass
class LoopCapture:
    """``tcpdump -i lo`` on ``ports`` into ``path`` while the ``with`` block runs."""

    path: Path
    ports: Sequence[int]
    process: subprocess.Popen[bytes] | None = None
    report: str = ""

    def bpf(self) -> str:
        """The capture filter: TCP to or from any of the ports."""
        return "tcp and (" + " or ".join(f"port {p}" for p in sorted(set(self.ports))) + ")"

    def __enter__(self) -> LoopCapture:
        tcpdump = shutil.which("tcpdump") or (
            "/usr/bin/tcpdump" if Path("/usr/bin/tcpdump").exists() else None
        )
        if tcpdump is None:
            raise CannotCapture(
                "tcpdump is not installed (scripts/system-deps.sh installs it as root)"
            )
        stderr = self.path.with_suffix(".stderr")
        with stderr.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    tcpdump,
                    "-i",
                    "lo",
                    "-n",
                    "-U",
                    "-s",
                    "0",
                    "-B",
                    "16384",
                    "-w",
                    str(self.path),
                    self.bpf(),
                ],
                stdout=subprocess.DEVNULL,
                stderr=sink,
                start_new_session=True,
            )
        end = time.monotonic() + 10
        while "listening on" not in stderr.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise CannotCapture(
                    "tcpdump could not capture on lo: " + stderr.read_text(errors="replace").strip()
                )
            if time.monotonic() > end:
                self._stop()
                raise CannotCapture("tcpdump did not start listening in 10 s")
            time.sleep(0.05)
        return self

    def _stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)  # flushes and prints its counters
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)  # the last segments of the block's connections
        self._stop()
        self.report = self.path.with_suffix(".stderr").read_text(errors="replace")

    def dropped(self) -> int:
        """Packets the kernel dropped (tcpdump's closing counter); 0 for a complete capture."""
        found = re.search(r"(\d+) packets? dropped by kernel", self.report)
        return int(found.group(1)) if found else -1


@dataclass
class Segment:
    """One TCP segment with a payload."""

    flow: Flow
    seq: int
    payload: bytes


@dataclass
class Pcap:
    """A parsed capture file: its raw bytes and the TCP segments that carry data."""

    raw: bytes
    segments: list[Segment] = field(default_factory=list)
    packets: int = 0

    def payload_bytes(self, ports: Iterable[int]) -> int:
        """TCP payload bytes sent *to* any of ``ports``."""
        wanted = set(ports)
        return sum(len(s.payload) for s in self.segments if s.flow[3] in wanted)


def _ip_payload(linktype: int, frame: bytes) -> bytes | None:
    if linktype == ETHERNET:
        kind, body = struct.unpack("!H", frame[12:14])[0], frame[14:]
    elif linktype == LINUX_SLL:
        kind, body = struct.unpack("!H", frame[14:16])[0], frame[16:]
    elif linktype == RAW:
        kind, body = (0x0800 if frame[:1] and frame[0] >> 4 == 4 else 0x86DD), frame
    else:
        raise ValueError(f"unsupported pcap link type {linktype}")
    return body if kind in (0x0800, 0x86DD) else None


def _tcp(ip: bytes) -> Segment | None:
    if ip[0] >> 4 == 4:
        header, proto = (ip[0] & 0x0F) * 4, ip[9]
        total = struct.unpack("!H", ip[2:4])[0]
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        ip = ip[:total]
    else:
        header, proto = 40, ip[6]
        src, dst = ip[8:24].hex(), ip[24:40].hex()
    if proto != 6:
        return None
    tcp = ip[header:]
    sport, dport, seq = struct.unpack("!HHI", tcp[:8])
    offset = (tcp[12] >> 4) * 4
    return Segment((src, sport, dst, dport), seq, bytes(tcp[offset:]))


def read_pcap(path: Path) -> Pcap:
    """Every TCP segment with data in a classic pcap file (either byte order)."""
    raw = path.read_bytes()
    magic = raw[:4]
    endian = {
        b"\xd4\xc3\xb2\xa1": "<",
        b"\xa1\xb2\xc3\xd4": ">",
        b"\x4d\x3c\xb2\xa1": "<",
        b"\xa1\xb2\x3c\x4d": ">",
    }.get(magic)
    if endian is None:
        raise ValueError(f"{path} is not a classic pcap file")
    linktype = struct.unpack(endian + "I", raw[20:24])[0]
    out = Pcap(raw)
    at = 24
    while at + 16 <= len(raw):
        caplen = struct.unpack(endian + "I", raw[at + 8 : at + 12])[0]
        frame = raw[at + 16 : at + 16 + caplen]
        at += 16 + caplen
        out.packets += 1
        ip = _ip_payload(linktype, frame)
        segment = _tcp(ip) if ip else None
        if segment is not None and segment.payload:
            out.segments.append(segment)
    return out


def tcp_streams(pcap: Pcap) -> dict[Flow, bytes]:
    """Each direction of each connection reassembled by sequence number (retransmits once)."""
    by_flow: dict[Flow, dict[int, bytes]] = defaultdict(dict)
    first: dict[Flow, int] = {}
    for s in pcap.segments:
        base = first.setdefault(s.flow, s.seq)
        offset = (s.seq - base + 2**31) % 2**32 - 2**31  # signed: a segment may come early
        if len(s.payload) > len(by_flow[s.flow].get(offset, b"")):
            by_flow[s.flow][offset] = s.payload
    streams = {}
    for flow, parts in by_flow.items():
        data = bytearray()
        start = min(parts)
        for at in sorted(parts):
            offset = at - start
            chunk = parts[at]
            if offset < len(data):  # an overlapping retransmission
                chunk = chunk[len(data) - offset :]
            data += chunk
        streams[flow] = bytes(data)
    return streams


def _dechunk(data: bytes) -> tuple[bytes, int]:
    body, at = bytearray(), 0
    while True:
        end = data.index(b"\r\n", at)
        size = int(data[at:end].split(b";")[0], 16)
        at = end + 2
        if size == 0:
            trailer = data.find(b"\r\n\r\n", at - 2)
            return bytes(body), (trailer + 4 if trailer >= 0 else len(data))
        body += data[at : at + size]
        at += size + 2


def _decompress(body: bytes, encoding: str) -> bytes:
    if "gzip" in encoding:
        return gzip.decompress(body)
    if "deflate" in encoding:
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


def http_bodies(stream: bytes) -> Iterator[bytes]:
    """Every HTTP/1.x message body in one direction of a connection, plain (un-gzipped)."""
    at = 0
    while at < len(stream):
        head_end = stream.find(b"\r\n\r\n", at)
        if head_end < 0:
            return
        head = stream[at:head_end].decode("latin-1").lower()
        at = head_end + 4
        headers = dict(line.split(":", 1) for line in head.split("\r\n")[1:] if ":" in line)
        headers = {k.strip(): v.strip() for k, v in headers.items()}
        if headers.get("transfer-encoding", "") == "chunked":
            try:
                body, used = _dechunk(stream[at:])
            except ValueError:
                return
            at += used
        else:
            length = int(headers.get("content-length", "0") or 0)
            body = stream[at : at + length]
            at += length
        if body:
            yield _decompress(body, headers.get("content-encoding", ""))


BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{32,}={0,2}")
HEX_RUN = re.compile(rb"(?:0x)?((?:[0-9a-fA-F]{2}){16,})")


def decoded_runs(body: bytes) -> Iterator[bytes]:
    """The bytes behind each long base64 (standard or URL-safe) and hex run in ``body``."""
    for run in HEX_RUN.finditer(body):
        yield binascii.unhexlify(run.group(1))
    for run in BASE64_RUN.finditer(body):
        core = run.group(0).rstrip(b"=")
        if len(core) % 4 == 1:
            core = core[:-1]  # a stray character after the run's last full group
        padded = core + b"=" * (-len(core) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                yield decode(padded)
            except (binascii.Error, ValueError):
                continue
