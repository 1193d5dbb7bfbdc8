"""How a hospital reaches its miner: one interface, in-process (tests) or HTTP (signed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import httpx
from eth_account.signers.local import LocalAccount

from node.blobstore import BlobStore, blob_hash, normalise_hash
from node.errors import ChainError
from node.requestauth import sign_request
from node.roundwire import UpdateReceipt, UpdateSubmission


class MinerLink(Protocol):
    """Submit an update to the paired miner; fetch blobs from it (BlobPeers-compatible)."""

    def submit(self, submission: UpdateSubmission) -> UpdateReceipt:
        """Send the update; the miner's receipt says proposed or refused (with a code)."""
        ...

    def fetch(self, digest: str) -> bytes | None:
        """A blob by hash (checked), or None."""
        ...

    def push(self, blob: bytes) -> int:
        """Hospitals do not replicate blobs; present for the BlobPeers interface."""
        ...


class InProcessLink:
    """Calls the miner's work function directly as ``signer`` and reads its store."""

    def __init__(
        self,
        signer: str,
        submit: Callable[[str, UpdateSubmission], UpdateReceipt],
        store: BlobStore,
    ) -> None:
        self.signer = signer
        self._submit = submit
        self.store = store

    def submit(self, submission: UpdateSubmission) -> UpdateReceipt:
        """Hand the submission to the miner as if it came signed by ``signer``."""
        return self._submit(self.signer, submission)

    def fetch(self, digest: str) -> bytes | None:
        """The blob from the miner's store (hash re-checked by the store)."""
        return self.store.get(digest) if self.store.has(digest) else None

    def push(self, blob: bytes) -> int:
        """Nothing to do."""
        return 0


class HttpLink:
    """The miner's HTTP API, each POST signed with the hospital's account."""

    def __init__(self, url: str, account: LocalAccount, *, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.account = account
        self.timeout = timeout

    def submit(self, submission: UpdateSubmission) -> UpdateReceipt:
        """POST /updates; a 422 carrying a receipt is a refusal, anything else an error."""
        body = submission.model_dump_json().encode()
        headers = sign_request(self.account, "POST", "/updates", body)
        headers["content-type"] = "application/json"
        resp = httpx.post(
            f"{self.url}/updates", content=body, headers=headers, timeout=self.timeout
        )
        if resp.status_code in (200, 422):
            try:
                return UpdateReceipt.model_validate_json(resp.content)
            except ValueError:
                pass
        raise ChainError(
            f"miner at {self.url} answered {resp.status_code}: {resp.text[:300]}",
            fix="check the miner's log and that this hospital is its registered pair",
        )

    def fetch(self, digest: str) -> bytes | None:
        """GET /blobs/{hash}; a copy that does not hash right is discarded."""
        key = normalise_hash(digest)
        try:
            resp = httpx.get(f"{self.url}/blobs/{key}", timeout=self.timeout)
        except httpx.HTTPError:
            return None
        if resp.status_code != 200 or blob_hash(resp.content) != key:
            return None
        return resp.content

    def push(self, blob: bytes) -> int:
        """Nothing to do."""
        return 0
