"""Versioned, length-prefixed binary format for keys, shares, updates, aggregates, partials.

Every blob: magic b"FCPL", version (u8), kind (u8), body length (u64), body. Body fields
are fixed-width big-endian integers, length-prefixed byte strings (u32), big integers as
(u32 length, big-endian bytes) and ciphertext arrays as (u32 count, u16 width, count ×
width bytes). A blob's id is sha256 of all its bytes. Readers name the field that failed:
bad magic, unknown version or kind, truncation, trailing bytes. Checks that need the key
(ciphertexts in Z*_{n²}, matching key id, ciphertext count) live in ``node.crypto.codec``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from node.crypto.errors import MalformedBlob

MAGIC = b"FCPL"
VERSION = 1
_HEADER = struct.Struct(">4sBBQ")
MAX_BLOB_BYTES = 1 << 31


class Writer:
    """Appends fields to a body; ``finish`` adds the header."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, x: int) -> None:
        """Append an unsigned byte."""
        self._parts.append(struct.pack(">B", x))

    def u16(self, x: int) -> None:
        """Append an unsigned 16-bit integer."""
        self._parts.append(struct.pack(">H", x))

    def u32(self, x: int) -> None:
        """Append an unsigned 32-bit integer."""
        self._parts.append(struct.pack(">I", x))

    def f64(self, x: float) -> None:
        """Append an IEEE-754 double."""
        self._parts.append(struct.pack(">d", x))

    def raw(self, data: bytes) -> None:
        """Append fixed-length bytes (the reader must know the length)."""
        self._parts.append(data)

    def blob(self, data: bytes) -> None:
        """Append u32 length + bytes."""
        self.u32(len(data))
        self._parts.append(data)

    def bigint(self, x: int) -> None:
        """Append a non-negative integer as u32 length + minimal big-endian bytes."""
        self.blob(int(x).to_bytes((int(x).bit_length() + 7) // 8, "big"))

    def int_array(self, xs: Sequence[int], width: int) -> None:
        """Append u32 count, u16 width, then each integer in exactly ``width`` bytes."""
        self.u32(len(xs))
        self.u16(width)
        self._parts.append(b"".join(int(x).to_bytes(width, "big") for x in xs))

    def finish(self, kind: int) -> bytes:
        """The whole blob: header followed by the body."""
        body = b"".join(self._parts)
        return _HEADER.pack(MAGIC, VERSION, kind, len(body)) + body


class Reader:
    """Reads fields from a blob body; every failure names the field it was reading."""

    def __init__(self, blob: bytes, kind: int, what: str) -> None:
        self.what = what
        if len(blob) < _HEADER.size:
            raise self.error("header", f"{len(blob)} bytes is shorter than the header")
        magic, version, got_kind, length = _HEADER.unpack_from(blob)
        if magic != MAGIC:
            raise self.error("magic", f"bad magic {magic!r}; expected {MAGIC!r}")
        if version != VERSION:
            raise self.error("version", f"unknown version {version}; this reader knows {VERSION}")
        if got_kind != kind:
            raise self.error("kind", f"kind {got_kind} where kind {kind} was expected")
        if len(blob) - _HEADER.size < length:
            raise self.error(
                "length",
                f"truncated: header says {length} body bytes, {len(blob) - _HEADER.size} present",
            )
        if len(blob) - _HEADER.size > length:
            raise self.error(
                "length", f"{len(blob) - _HEADER.size - length} trailing bytes after the body"
            )
        self._view = memoryview(blob)[_HEADER.size :]
        self._pos = 0

    def error(self, field: str, message: str) -> MalformedBlob:
        """A MalformedBlob naming this blob type and field."""
        return MalformedBlob(
            f"{self.what}: {field}: {message}",
            field=field,
            fix="the blob is corrupt or not a fedchain crypto blob; fetch it again",
        )

    def _take(self, size: int, field: str) -> bytes:
        if self._pos + size > len(self._view):
            raise self.error(
                field, f"truncated: needs {size} bytes, {len(self._view) - self._pos} left"
            )
        out = bytes(self._view[self._pos : self._pos + size])
        self._pos += size
        return out

    def u8(self, field: str) -> int:
        """Read an unsigned byte."""
        return int(self._take(1, field)[0])

    def u16(self, field: str) -> int:
        """Read an unsigned 16-bit integer."""
        return int(struct.unpack(">H", self._take(2, field))[0])

    def u32(self, field: str) -> int:
        """Read an unsigned 32-bit integer."""
        return int(struct.unpack(">I", self._take(4, field))[0])

    def f64(self, field: str) -> float:
        """Read an IEEE-754 double."""
        return float(struct.unpack(">d", self._take(8, field))[0])

    def raw(self, size: int, field: str) -> bytes:
        """Read fixed-length bytes."""
        return self._take(size, field)

    def blob(self, field: str) -> bytes:
        """Read u32 length + bytes."""
        return self._take(self.u32(field), field)

    def bigint(self, field: str) -> int:
        """Read a length-prefixed big-endian non-negative integer."""
        return int.from_bytes(self.blob(field), "big")

    def int_array(self, field: str) -> tuple[int, ...]:
        """Read u32 count, u16 width, count fixed-width integers."""
        count, width = self.u32(field), self.u16(field)
        data = self._take(count * width, field)
        return tuple(int.from_bytes(data[k : k + width], "big") for k in range(0, len(data), width))

    def end(self) -> None:
        """Refuse bytes left over inside the declared body."""
        if self._pos != len(self._view):
            raise self.error("body", f"{len(self._view) - self._pos} unread bytes at the end")
