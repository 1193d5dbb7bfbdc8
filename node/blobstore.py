"""Content-addressed blob store: bytes in, their sha256 out; every read re-checks the hash.

Miners keep encrypted updates, aggregates and partial decryptions here; any party can
serve any blob by hash because a reader never trusts the bytes it gets back.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from node.errors import IntegrityError, NotFound, ValidationFailed

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def blob_hash(data: bytes) -> str:
    """The id of a blob: lower-case hex sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def normalise_hash(digest: str | bytes) -> str:
    """Accept a 32-byte digest or its hex (with or without 0x) and return 64 lower-case hex."""
    if isinstance(digest, bytes | bytearray):
        if len(digest) != 32:
            raise ValidationFailed(
                f"blob hash must be 32 bytes, got {len(digest)}",
                field="blob_hash",
                fix="pass the sha256 digest of the blob",
            )
        return bytes(digest).hex()
    text = digest.lower().removeprefix("0x")
    if not _HEX64.match(text):
        raise ValidationFailed(
            f"blob hash {digest!r} is not 64 hex characters",
            field="blob_hash",
            fix="pass the sha256 of the blob as hex, e.g. from `sha256sum`",
        )
    return text


def verify_blob(data: bytes, expected: str | bytes) -> bytes:
    """Return ``data`` if it hashes to ``expected``; raise IntegrityError otherwise."""
    want = normalise_hash(expected)
    got = blob_hash(data)
    if got != want:
        raise IntegrityError(
            f"blob content hashes to {got}, expected {want}",
            fix="fetch the blob again from another miner; this copy is corrupt or forged",
        )
    return data


class BlobStore(ABC):
    """Where blobs live. Implementations store bytes under their hash and nothing else."""

    @abstractmethod
    def _write(self, digest: str, data: bytes) -> None: ...

    @abstractmethod
    def _read(self, digest: str) -> bytes | None: ...

    @abstractmethod
    def __iter__(self) -> Iterator[str]: ...

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its hash."""
        digest = blob_hash(data)
        if not self.has(digest):
            self._write(digest, data)
        return digest

    def put_expected(self, data: bytes, expected: str | bytes) -> str:
        """Store ``data`` only if it hashes to ``expected`` (a replicated blob)."""
        verify_blob(data, expected)
        return self.put(data)

    def get(self, digest: str | bytes) -> bytes:
        """The blob with this hash, re-checked; NotFound if absent, IntegrityError if corrupt."""
        key = normalise_hash(digest)
        data = self._read(key)
        if data is None:
            raise NotFound(f"no blob {key}", fix="fetch it from a miner that has it")
        return verify_blob(data, key)

    def has(self, digest: str | bytes) -> bool:
        """Whether a blob with this hash is stored (its content is checked on read, not here)."""
        return self._read(normalise_hash(digest)) is not None


class MemoryBlobStore(BlobStore):
    """Blobs in a dict: for unit tests and short-lived tools."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def _write(self, digest: str, data: bytes) -> None:
        self._blobs[digest] = bytes(data)

    def _read(self, digest: str) -> bytes | None:
        return self._blobs.get(digest)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._blobs))


class FileBlobStore(BlobStore):
    """Blobs as files ``root/ab/abcdef…``, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def _write(self, digest: str, data: bytes) -> None:
        path = self._path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self, digest: str) -> bytes | None:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            return None

    def has(self, digest: str | bytes) -> bool:
        """Whether the blob's file exists (no read)."""
        return self._path(normalise_hash(digest)).is_file()

    def __iter__(self) -> Iterator[str]:
        for path in sorted(self.root.glob("??/*")):
            if _HEX64.match(path.name):
                yield path.name
