"""What the relay reports of a run: sizes, checked receipts and signed records, bytes, time."""

from __future__ import annotations

from pydantic import BaseModel

from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.messages import AlignmentReceipt, LedgerAlignment


class RunSummary(BaseModel):
    """What the relay saw of a run: set sizes, receipts, bytes on the wire, time."""

    session_id: str
    run: str
    purpose: AlignmentPurpose
    parties: tuple[str, ...]
    set_sizes: dict[str, int]  # as announced: canaries included
    canaries_per_party: int
    receipts: dict[str, AlignmentReceipt]
    payload_bytes: int
    framing_bytes: int
    seconds: float

    def items(self, party: str) -> int:
        """A party's real items (its announced size less its canaries)."""
        return self.set_sizes[party] - self.canaries_per_party

    @property
    def bytes_per_item(self) -> float:
        """All bytes counted on the wire over all parties' real items (canaries are overhead)."""
        items = sum(self.items(p) for p in self.parties)
        return (self.payload_bytes + self.framing_bytes) / items if items else 0.0

    def records(self) -> dict[str, LedgerAlignment]:
        """The hospitals' signed ledger records, checked, for ``recordAlignment`` by the relay."""
        return {
            name: r.ledger_record
            for name, r in self.receipts.items()
            if r.ledger_record is not None
        }
