"""The relay's HTTP link to a hospital's alignment endpoints: signed requests, bytes counted."""

from __future__ import annotations

import httpx
from eth_account.signers.local import LocalAccount

from hospital.alignment.errors import RELAY_FIX, AlignmentRefused
from hospital.alignment.links import WireLog
from hospital.alignment.messages import (
    AlignmentReceipt,
    CountsDelivery,
    EncodeRequest,
    M,
    Message,
    PointBatch,
    SessionAccepted,
    SessionOpen,
    content_type,
    from_wire,
    to_wire,
)
from hospital.alignment.router import PREFIX, PartyInfo
from node.errors import FedchainError
from node.requestauth import sign_request

TIMEOUT = httpx.Timeout(600.0, connect=10.0)


def _header_bytes(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw) + 2  # "k: v\r\n", blank line


class HttpLink:
    """A hospital reached over HTTP; ``name`` is read from its /alignment/info.

    Every message is signed with ``account`` (the relay's consortium key), which the
    hospital checks against who may drive alignment there.
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        log: WireLog | None = None,
        *,
        account: LocalAccount,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._log = log or WireLog()
        self._account = account
        try:
            resp = client.send(
                client.build_request("GET", f"{self.base_url}{PREFIX}/info", timeout=TIMEOUT)
            )
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise FedchainError(
                f"cannot reach the alignment service at {self.base_url}: {exc}",
                fix="start the hospital service (fedchain align serve) and check the URL",
            ) from None
        self.name = PartyInfo.model_validate_json(resp.content).party

    def _post(self, path: str, msg: Message, reply: type[M]) -> M:
        body = to_wire(msg)
        url = httpx.URL(f"{self.base_url}{PREFIX}/{path}")
        headers = {
            "content-type": content_type(type(msg)),
            **sign_request(self._account, "POST", url.path, body),
        }
        request = self._client.build_request(
            "POST", url, content=body, headers=headers, timeout=TIMEOUT
        )
        try:
            resp = self._client.send(request)
        except httpx.HTTPError as exc:
            raise FedchainError(
                f"{self.name} at {self.base_url} failed on /{path}: {exc}",
                fix="check that the hospital service is running",
            ) from None
        framing = len(f"POST {request.url.raw_path.decode()} HTTP/1.1\r\n")
        framing += _header_bytes(request.headers)
        framing += len(f"HTTP/1.1 {resp.status_code} {resp.reason_phrase}\r\n")
        framing += _header_bytes(resp.headers)
        self._log.record(body, framing)
        self._log.record(resp.content)
        if resp.status_code == 400:
            err = resp.json()
            raise AlignmentRefused(
                f"{self.name} refused /{path}: {err.get('error')}",
                field=err.get("field") or "body",
                fix=err.get("fix"),
            )
        if resp.status_code in (401, 403):
            raise FedchainError(
                f"{self.name} refused the relay on /{path} (HTTP {resp.status_code}): "
                f"{resp.text[:300]}",
                fix=RELAY_FIX,
            )
        if resp.status_code != 200:
            raise FedchainError(
                f"{self.name} answered /{path} with HTTP {resp.status_code}: {resp.text[:200]}",
                fix="see the hospital service log",
            )
        return from_wire(reply, resp.content)

    def open(self, msg: SessionOpen) -> SessionAccepted:
        """Send SessionOpen, get SessionAccepted."""
        return self._post("open", msg, SessionAccepted)

    def encode(self, msg: EncodeRequest) -> PointBatch:
        """Send EncodeRequest, get the hospital's own encoded batch."""
        return self._post("encode", msg, PointBatch)

    def blind(self, msg: PointBatch) -> PointBatch:
        """Send another owner's batch, get it back raised to this hospital's key."""
        return self._post("blind", msg, PointBatch)

    def finish(self, msg: CountsDelivery) -> AlignmentReceipt:
        """Deliver the counts, get the hospital's receipt for the ledger."""
        return self._post("finish", msg, AlignmentReceipt)
