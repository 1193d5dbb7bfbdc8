"""The relay's audit trail: one signed JSON line per alignment run, completed or refused.

Who aligned (each hospital's name, its real set size with canaries taken out, its shared
size and signed ledger record), the purpose, when, under which terms, by which relay, and
why a run was refused (and whom the relay accused). Each line is signed by the relay
(EIP-191 over the SHA-256 of the entry's canonical JSON), so an auditor reading the file
can tell who wrote each line and that none was altered; a missing line is not detectable
from the file alone (the lead may move the trail on chain).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Literal

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict

from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.messages import LedgerAlignment
from hospital.alignment.terms import AlignmentTerms
from node.errors import ValidationFailed

_DOMAIN = b"fedchain/psi/v1/audit-entry\x00"


class AuditParty(BaseModel):
    """One hospital in one run, as the relay saw it (None: the run stopped before)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    set_size: int | None  # real items (announced size less the canaries)
    shared_size: int | None  # shared items, from its receipt
    ledger_record: LedgerAlignment | None = None


class AuditEntry(BaseModel):
    """One run of the relay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: str
    run: str
    purpose: AlignmentPurpose
    relay: str
    started: float  # unix seconds
    finished: float
    terms: AlignmentTerms
    parties: list[AuditParty]
    outcome: Literal["completed", "refused"]
    reason: str | None = None
    accused: str | None = None  # the party the relay named, when one deviated

    def digest(self) -> bytes:
        """SHA-256 of the canonical JSON (sorted keys, compact) under the audit domain."""
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(_DOMAIN + body.encode()).digest()


class SignedAuditEntry(BaseModel):
    """A line of the trail: the entry and the relay's EIP-191 signature over its digest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry: AuditEntry
    signature: str

    def signer(self) -> str | None:
        """The address that signed this entry (None for a malformed signature)."""
        try:
            return str(
                Account.recover_message(
                    encode_defunct(primitive=self.entry.digest()), signature=self.signature
                )
            )
        except Exception:  # eth-keys raises several types for a malformed signature
            return None


def sign_entry(account: LocalAccount, entry: AuditEntry) -> SignedAuditEntry:
    """The relay's signed line for ``entry``."""
    signature = account.sign_message(encode_defunct(primitive=entry.digest())).signature
    return SignedAuditEntry(entry=entry, signature="0x" + bytes(signature).hex())


class AuditTrail:
    """An append-only JSON-lines file the relay signs a line of per run."""

    def __init__(self, path: Path, account: LocalAccount) -> None:
        self.path = Path(path)
        self.account = account
        self._lock = threading.Lock()

    def append(self, entry: AuditEntry) -> SignedAuditEntry:
        """Sign ``entry`` and append it as one line (flushed and fsynced)."""
        if entry.relay.lower() != self.account.address.lower():
            raise ValueError("an audit entry names the relay that signs it")
        line = sign_entry(self.account, entry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line.model_dump_json() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return line


def read_trail(path: Path) -> list[SignedAuditEntry]:
    """Every line of a trail, each checked to be signed by the relay it names.

    A line that does not parse, or whose signature is not its relay's, is refused naming
    the line: the file was altered.
    """
    lines: list[SignedAuditEntry] = []
    with Path(path).open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                line = SignedAuditEntry.model_validate_json(raw)
            except ValueError as exc:
                raise ValidationFailed(
                    f"{path}:{number} is not an audit entry: {exc}",
                    field="trail",
                    fix="restore the trail from the relay's copy",
                ) from None
            signer = line.signer()
            if signer is None or signer.lower() != line.entry.relay.lower():
                raise ValidationFailed(
                    f"{path}:{number} is not signed by the relay it names ({line.entry.relay})",
                    field="trail",
                    fix="the line was altered: restore the trail from the relay's copy",
                )
            lines.append(line)
    return lines
