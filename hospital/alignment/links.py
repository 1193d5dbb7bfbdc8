"""How the relay reaches a hospital: the link interface, an in-process link and a wire log.

Every message crosses a link as wire bytes (``to_wire``/``from_wire``), also in process, so
the codec is always exercised and the wire log counts exactly what would be sent.
"""

from __future__ import annotations

import threading
from typing import Protocol

from hospital.alignment.messages import (
    AlignmentReceipt,
    CountsDelivery,
    EncodeRequest,
    M,
    Message,
    PointBatch,
    SessionAccepted,
    SessionOpen,
    from_wire,
    to_wire,
)
from hospital.alignment.party import AlignmentParty


class WireLog:
    """Counts the bytes that cross links; optionally keeps every message (a transcript)."""

    def __init__(self, *, keep: bool = False) -> None:
        self.keep = keep
        self.messages: list[bytes] = []
        self.payload_bytes = 0  # message bodies
        self.framing_bytes = 0  # transport framing (HTTP request/status lines and headers)
        self._lock = threading.Lock()

    def record(self, body: bytes, framing: int = 0) -> None:
        """Count one message body (and its transport framing)."""
        with self._lock:
            self.payload_bytes += len(body)
            self.framing_bytes += framing
            if self.keep:
                self.messages.append(body)

    @property
    def total_bytes(self) -> int:
        """Everything counted: bodies plus framing."""
        return self.payload_bytes + self.framing_bytes


class PartyLink(Protocol):
    """The relay's handle on one hospital."""

    name: str

    def open(self, msg: SessionOpen) -> SessionAccepted:
        """Send SessionOpen, get SessionAccepted."""
        ...

    def encode(self, msg: EncodeRequest) -> PointBatch:
        """Send EncodeRequest, get the hospital's own encoded batch."""
        ...

    def blind(self, msg: PointBatch) -> PointBatch:
        """Send another owner's batch, get it back raised to this hospital's key."""
        ...

    def finish(self, msg: CountsDelivery) -> AlignmentReceipt:
        """Deliver the counts, get the hospital's receipt for the ledger."""
        ...


class LocalLink:
    """A link to an AlignmentParty in this process, through the wire codec."""

    def __init__(self, party: AlignmentParty, log: WireLog | None = None) -> None:
        self.name = party.name
        self._party = party
        self._log = log or WireLog()

    def _wire(self, msg: Message, cls: type[M]) -> M:
        body = to_wire(msg)
        self._log.record(body)
        return from_wire(cls, body)

    def open(self, msg: SessionOpen) -> SessionAccepted:
        """Send SessionOpen, get SessionAccepted."""
        return self._wire(self._party.open(self._wire(msg, SessionOpen)), SessionAccepted)

    def encode(self, msg: EncodeRequest) -> PointBatch:
        """Send EncodeRequest, get the hospital's own encoded batch."""
        return self._wire(self._party.encode(self._wire(msg, EncodeRequest)), PointBatch)

    def blind(self, msg: PointBatch) -> PointBatch:
        """Send another owner's batch, get it back raised to this hospital's key."""
        return self._wire(self._party.blind(self._wire(msg, PointBatch)), PointBatch)

    def finish(self, msg: CountsDelivery) -> AlignmentReceipt:
        """Deliver the counts, get the hospital's receipt for the ledger."""
        return self._wire(self._party.finish(self._wire(msg, CountsDelivery)), AlignmentReceipt)
