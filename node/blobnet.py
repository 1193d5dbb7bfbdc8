"""Blobs across nodes: fetch by hash from peers (checking the hash), push to peers (signed)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import httpx
from eth_account.signers.local import LocalAccount

from node.blobstore import BlobStore, blob_hash, normalise_hash
from node.errors import IntegrityError, NotFound
from node.requestauth import sign_request
from node.roundwire import BlobUpload, b64

log = logging.getLogger(__name__)


class BlobPeers(Protocol):
    """Where blobs not in the local store come from, and where new ones are replicated."""

    def fetch(self, digest: str) -> bytes | None:
        """The blob from some peer (hash checked), or None if no peer has it."""
        ...

    def push(self, blob: bytes) -> int:
        """Replicate ``blob`` to the peers; returns how many took it."""
        ...


class StorePeers:
    """In-process peers: other nodes' blob stores (unit tests and single-process demos)."""

    def __init__(self, stores: Sequence[BlobStore]) -> None:
        self.stores = list(stores)

    def fetch(self, digest: str) -> bytes | None:
        """First peer store holding the blob (each store re-checks the hash on read)."""
        for store in self.stores:
            if store.has(digest):
                return store.get(digest)
        return None

    def push(self, blob: bytes) -> int:
        """Put the blob in every peer store."""
        for store in self.stores:
            store.put(blob)
        return len(self.stores)


class HttpPeers:
    """Peers over HTTP: ``GET {url}/blobs/{hash}`` and signed ``POST {url}/blobs``."""

    def __init__(self, urls: Sequence[str], account: LocalAccount, *, timeout: float = 5.0) -> None:
        self.urls = [u.rstrip("/") for u in urls]
        self.account = account
        self.timeout = timeout

    def fetch(self, digest: str) -> bytes | None:
        """Ask each peer in turn; a copy that does not hash to ``digest`` is discarded."""
        key = normalise_hash(digest)
        for url in self.urls:
            try:
                resp = httpx.get(
                    f"{url}/blobs/{key}", params={"local": "true"}, timeout=self.timeout
                )
            except httpx.HTTPError as exc:
                log.info("peer %s unreachable: %s", url, exc)
                continue
            if resp.status_code != 200:
                continue
            if blob_hash(resp.content) != key:
                log.warning("peer %s served a blob that does not hash to %s", url, key)
                continue
            return resp.content
        return None

    def push(self, blob: bytes) -> int:
        """POST the blob to every peer (signed by this node); unreachable peers are skipped."""
        body = BlobUpload(blob_hash=blob_hash(blob), blob_b64=b64(blob)).model_dump_json().encode()
        done = 0
        for url in self.urls:
            headers = sign_request(self.account, "POST", "/blobs", body)
            headers["content-type"] = "application/json"
            try:
                resp = httpx.post(
                    f"{url}/blobs", content=body, headers=headers, timeout=self.timeout
                )
            except httpx.HTTPError as exc:
                log.info("peer %s unreachable: %s", url, exc)
                continue
            done += resp.status_code == 200
        return done


def get_blob(digest: str, store: BlobStore, peers: BlobPeers) -> bytes:
    """The blob from the local store, else from a peer (then kept locally); NotFound if none."""
    key = normalise_hash(digest)
    if store.has(key):
        try:
            return store.get(key)
        except IntegrityError:
            log.warning("local copy of %s is corrupt; fetching again", key)
    blob = peers.fetch(key)
    if blob is None:
        raise NotFound(f"no peer has blob {key}", fix="wait for replication or start its miner")
    store.put_expected(blob, key)
    return blob
