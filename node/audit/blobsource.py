"""Where the auditor reads blobs: miners over HTTP or blob directories; it trusts none of them.

Every copy is re-hashed by the auditor. A source that serves bytes which do not hash to the
requested id is recorded as a mismatch (named), not silently skipped, so a corrupted or
replaced copy is visible even when another miner holds a good one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import httpx

from node.blobstore import blob_hash, normalise_hash


class BlobSource(Protocol):
    """Raw bytes stored under a hash, unchecked (the auditor checks)."""

    name: str

    def raw(self, digest: str) -> bytes | None:
        """The bytes this source holds under ``digest`` (None if it has none)."""
        ...


class HttpMinerSource:
    """A miner's blob route: ``GET {url}/blobs/{hash}?local=true`` (its own store only)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.name = self.url
        self.timeout = timeout

    def raw(self, digest: str) -> bytes | None:
        """The miner's copy, or None on 404 / unreachable.

        A miner refuses to serve a copy it finds corrupt, so over HTTP a corrupt copy
        usually shows as absent rather than as a mismatch.
        """
        try:
            resp = httpx.get(
                f"{self.url}/blobs/{digest}", params={"local": "true"}, timeout=self.timeout
            )
        except httpx.HTTPError:
            return None
        return resp.content if resp.status_code == 200 else None


class DirectorySource:
    """A miner's file blob store read from disk (``root/ab/abcd…``), bytes as stored."""

    def __init__(self, root: Path, name: str | None = None) -> None:
        self.root = Path(root)
        self.name = name or str(root)

    def raw(self, digest: str) -> bytes | None:
        """The file's bytes, or None if absent."""
        path = self.root / digest[:2] / digest
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None


class CopyState(StrEnum):
    """What one source holds for one hash."""

    MATCH = "match"
    MISMATCH = "mismatch"
    ABSENT = "absent"


@dataclass
class Fetched:
    """One hash looked up in every source: a good copy (if any) and each source's state."""

    digest: str
    blob: bytes | None
    states: dict[str, CopyState]
    wrong: dict[str, bytes] = field(default_factory=dict)  # source -> bytes that do not match

    @property
    def mismatched(self) -> list[str]:
        """Sources whose copy does not hash to the id."""
        return [s for s, st in self.states.items() if st is CopyState.MISMATCH]


@dataclass
class BlobReader:
    """Looks each hash up in every source once and remembers the verdict."""

    sources: Sequence[BlobSource]
    _cache: dict[str, Fetched] = field(default_factory=dict)

    def fetch(self, digest: str) -> Fetched:
        """Every source's copy of ``digest``, re-hashed."""
        key = normalise_hash(digest)
        if key in self._cache:
            return self._cache[key]
        good: bytes | None = None
        states: dict[str, CopyState] = {}
        wrong: dict[str, bytes] = {}
        for source in self.sources:
            data = source.raw(key)
            if data is None:
                states[source.name] = CopyState.ABSENT
            elif blob_hash(data) == key:
                states[source.name] = CopyState.MATCH
                good = good if good is not None else data
            else:
                states[source.name] = CopyState.MISMATCH
                wrong[source.name] = data
        fetched = self._cache[key] = Fetched(key, good, states, wrong)
        return fetched

    def get(self, digest: str) -> bytes | None:
        """A verified copy, or None if no source has one."""
        return self.fetch(digest).blob
