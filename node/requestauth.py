"""Node-to-node request signing: a request carries its sender's Ethereum signature.

Hospitals and miners already hold account keys registered on the ledger, so a request
is authenticated by recovering the signer of
``fedchain-request/v1 | method | path | sha256(body) | timestamp | nonce`` (EIP-191)
and checking the address against the roles on chain. A timestamp window and a nonce
cache refuse replays. Pure functions plus a small replay guard; no HTTP framework here.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, Field

from node.errors import FedchainError

HEADER_ADDRESS = "x-fedchain-address"
HEADER_TIMESTAMP = "x-fedchain-timestamp"
HEADER_NONCE = "x-fedchain-nonce"
HEADER_SIGNATURE = "x-fedchain-signature"
DOMAIN = b"fedchain-request/v1"


class AuthError(FedchainError):
    """A node-to-node request is unsigned, badly signed, stale or replayed."""


class SignedHeaders(BaseModel):
    """The four headers a signed request carries."""

    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    timestamp: int = Field(ge=0, lt=2**63, description="unix seconds (bounded: compared as float)")
    nonce: str = Field(pattern=r"^[0-9a-f]{32}$")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")

    def as_headers(self) -> dict[str, str]:
        """HTTP header mapping."""
        return {
            HEADER_ADDRESS: self.address,
            HEADER_TIMESTAMP: str(self.timestamp),
            HEADER_NONCE: self.nonce,
            HEADER_SIGNATURE: self.signature,
        }


def request_digest(method: str, path: str, body: bytes, timestamp: int, nonce: str) -> bytes:
    """The bytes a node signs for one request."""
    return b"|".join(
        [
            DOMAIN,
            method.upper().encode(),
            path.encode(),
            hashlib.sha256(body).hexdigest().encode(),
            str(timestamp).encode(),
            nonce.encode(),
        ]
    )


def sign_request(
    account: LocalAccount, method: str, path: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """Headers that authenticate ``method path body`` as coming from ``account``."""
    timestamp = int(time.time() if now is None else now)
    nonce = secrets.token_hex(16)
    message = encode_defunct(request_digest(method, path, body, timestamp, nonce))
    signature = account.sign_message(message).signature
    return SignedHeaders(
        address=account.address,
        timestamp=timestamp,
        nonce=nonce,
        signature="0x" + bytes(signature).hex(),
    ).as_headers()


class ReplayGuard:
    """Remembers recent nonces per signer so a captured request cannot be sent again.

    Thread-safe: services verify requests in their thread pools.
    """

    def __init__(self, *, window_seconds: int = 120, capacity: int = 100_000) -> None:
        self.window_seconds = window_seconds
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def check_and_remember(self, address: str, nonce: str, timestamp: int, now: float) -> None:
        """Refuse a stale timestamp or a nonce seen before; remember this one."""
        if abs(now - timestamp) > self.window_seconds:
            raise AuthError(
                f"request timestamp {timestamp} is outside the {self.window_seconds}s window",
                fix="synchronise the sender's clock (NTP) and resend",
            )
        key = (address.lower(), nonce)
        with self._lock:
            if key in self._seen:
                raise AuthError("request nonce was already used (replay)", fix="send a new request")
            self._seen[key] = timestamp
            while len(self._seen) > self._capacity or (
                self._seen and now - next(iter(self._seen.values())) > self.window_seconds
            ):
                self._seen.popitem(last=False)


def verify_request(
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    guard: ReplayGuard,
    now: float | None = None,
) -> str:
    """Return the checksummed address that signed this request, or raise AuthError."""
    lowered = {k.lower(): v for k, v in headers.items()}
    missing = [
        h
        for h in (HEADER_ADDRESS, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
        if h not in lowered
    ]
    if missing:
        raise AuthError(
            f"request is not signed: missing header(s) {', '.join(missing)}",
            fix="send node-to-node requests through fedchain's signing client",
        )
    try:
        signed = SignedHeaders(
            address=lowered[HEADER_ADDRESS],
            timestamp=int(lowered[HEADER_TIMESTAMP]),
            nonce=lowered[HEADER_NONCE],
            signature=lowered[HEADER_SIGNATURE],
        )
    except ValueError as exc:
        raise AuthError(
            f"malformed signature headers: {exc}", fix="resend a signed request"
        ) from exc
    digest = request_digest(method, path, body, signed.timestamp, signed.nonce)
    try:
        signer = Account.recover_message(encode_defunct(digest), signature=signed.signature)
    except Exception as exc:  # eth-keys raises several types for a bad signature
        raise AuthError(f"signature does not verify: {exc}", fix="resend a signed request") from exc
    if signer.lower() != signed.address.lower():
        raise AuthError(
            f"signature is by {signer}, not the claimed {signed.address}",
            fix="sign with the account the request claims",
        )
    guard.check_and_remember(
        signer, signed.nonce, signed.timestamp, time.time() if now is None else now
    )
    return signer
