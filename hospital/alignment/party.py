"""A hospital's side of the alignment protocol: a state machine over typed messages.

The hospital holds its items and a fresh secret key per session; it answers the relay's
messages in protocol order and refuses anything out of order, replayed, from another session
or malformed, naming the field. Its result (which of its items others hold) stays local.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.group import PoolKind, check_batch, encode_items, new_key, raise_points
from hospital.alignment.items import SALT_BYTES, AlignmentPurpose, shared_set_hash
from hospital.alignment.messages import (
    RELAY,
    AlignmentReceipt,
    CountsDelivery,
    EncodeRequest,
    LedgerRecord,
    PointBatch,
    SessionAccepted,
    SessionOpen,
)

ItemSource = Callable[[AlignmentPurpose], Iterable[bytes]]


class PartyResult(BaseModel):
    """What one hospital learned in one run: for each of its items, how many others hold it.

    Local only: it holds the hospital's items and the salt of its ledger commitment.
    """

    model_config = ConfigDict(frozen=True, ser_json_bytes="hex", val_json_bytes="hex")

    session_id: str
    run: str
    party: str
    purpose: AlignmentPurpose
    min_other_holders: int
    items: tuple[bytes, ...]
    other_holders: tuple[int, ...]
    salt: bytes
    shared_size: int
    shared_set_hash: bytes

    def holders_by_item(self) -> dict[bytes, int]:
        """Item -> number of other hospitals holding it."""
        return dict(zip(self.items, self.other_holders, strict=True))

    def ledger_args(self) -> tuple[str, bytes, int]:
        """The arguments of ``recordAlignment(run, sharedSetHash, sharedSize)``."""
        return self.run, self.shared_set_hash, self.shared_size

    def shared_items(self) -> list[bytes]:
        """The items held by at least ``min_other_holders`` other hospitals."""
        return [
            i
            for i, c in zip(self.items, self.other_holders, strict=True)
            if c >= self.min_other_holders
        ]


def context_of(msg: SessionOpen) -> bytes:
    """The hash-to-group context: purpose and session id (points never repeat across runs)."""
    return f"{msg.purpose.value}\x00{msg.session_id}".encode()


@dataclass
class _Session:
    open: SessionOpen
    index: int
    key: bytes
    items: list[bytes]
    last_seq_in: int
    seq_out: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    set_sizes: dict[str, int] | None = None
    encoded: bool = False
    blinded: set[str] = field(default_factory=set)
    finished: bool = False
    result: PartyResult | None = None

    def next_seq(self) -> int:
        return next(self.seq_out)  # atomic under the GIL


class AlignmentParty:
    """One hospital's alignment endpoint: sessions keyed by id, each with its own key."""

    def __init__(
        self,
        name: str,
        items_for: ItemSource,
        *,
        workers: int = 2,
        pool: PoolKind = "thread",
        on_result: Callable[[PartyResult], LedgerRecord | None] | None = None,
    ) -> None:
        self.name = name
        self._items_for = items_for
        self._workers = workers
        self._pool = pool
        self._on_result = on_result
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def _session(self, msg: EncodeRequest | PointBatch | CountsDelivery) -> _Session:
        s = self._sessions.get(msg.session_id)
        if s is None:
            raise AlignmentRefused(
                f"{self.name} has no session {msg.session_id}",
                field="session_id",
                fix="open the session first, or use the id of a running session",
            )
        if msg.sender != RELAY:
            raise AlignmentRefused(
                f"sender {msg.sender!r} is not the session's relay",
                field="sender",
                fix="only the relay drives a session",
            )
        self._check_seq(s, msg.seq)
        return s

    @staticmethod
    def _check_seq(s: _Session, seq: int) -> None:
        if seq <= s.last_seq_in:
            raise AlignmentRefused(
                f"seq {seq} is not after {s.last_seq_in}: replayed or reordered",
                field="seq",
                fix="send each message once, with a fresh increasing seq",
            )

    def _claim(self, s: _Session, seq: int, step: Callable[[], None]) -> None:
        """Commit an accepted message atomically: a refused one changes nothing."""
        with self._lock:
            self._check_seq(s, seq)  # again: a duplicate may have raced past the first check
            step()
            s.last_seq_in = seq

    def open(self, msg: SessionOpen) -> SessionAccepted:
        """Join a session: take a fresh key, de-duplicate and shuffle this hospital's items."""
        if msg.sender != RELAY:
            raise AlignmentRefused(f"sender {msg.sender!r} is not a relay", field="sender")
        if self.name not in msg.parties:
            raise AlignmentRefused(
                f"{self.name} is not among the parties {list(msg.parties)}",
                field="parties",
                fix=f"address this hospital as {self.name!r}",
            )
        items = list(set(self._items_for(msg.purpose)))
        secrets.SystemRandom().shuffle(items)  # owner order is secret: only it maps points back
        with self._lock:
            if msg.session_id in self._sessions:
                raise AlignmentRefused(
                    f"session {msg.session_id} is already open here: replayed open",
                    field="session_id",
                    fix="open each run with a fresh session id",
                )
            s = _Session(msg, msg.parties.index(self.name), new_key(), items, msg.seq)
            self._sessions[msg.session_id] = s
        return SessionAccepted(
            session_id=msg.session_id, sender=self.name, seq=s.next_seq(), set_size=len(items)
        )

    def encode(self, msg: EncodeRequest) -> PointBatch:
        """Hash this hospital's items to the group and raise them to its key (hop 1)."""
        s = self._session(msg)
        if set(msg.set_sizes) != set(s.open.parties):
            raise AlignmentRefused(
                "set_sizes must name exactly the session's parties", field="set_sizes"
            )
        if msg.set_sizes[self.name] != len(s.items):
            raise AlignmentRefused(
                f"set_sizes[{self.name}] is {msg.set_sizes[self.name]}, "
                f"this hospital announced {len(s.items)}",
                field="set_sizes",
            )

        def claim() -> None:
            if s.encoded:
                raise AlignmentRefused("set already encoded in this session", field="seq")
            s.set_sizes, s.encoded = dict(msg.set_sizes), True

        self._claim(s, msg.seq, claim)
        points = encode_items(
            s.items, s.key, context=context_of(s.open), workers=self._workers, pool=self._pool
        )
        return PointBatch(
            session_id=msg.session_id,
            sender=self.name,
            seq=s.next_seq(),
            origin=self.name,
            hops=1,
            points=points,
        )

    def blind(self, msg: PointBatch) -> PointBatch:
        """Raise another hospital's batch to this hospital's key, keeping its order."""
        s = self._session(msg)
        parties = s.open.parties
        if s.set_sizes is None:
            raise AlignmentRefused("batch arrived before the encode request", field="seq")
        if msg.origin not in parties or msg.origin == self.name:
            raise AlignmentRefused(
                f"origin {msg.origin!r} is not another party of the session", field="origin"
            )
        expected = (s.index - parties.index(msg.origin)) % len(parties)
        if msg.hops != expected:
            raise AlignmentRefused(
                f"hops is {msg.hops}, expected {expected} for a batch of {msg.origin}",
                field="hops",
                fix="forward batches along the session's ring order",
            )
        check_batch(msg.points, expected=s.set_sizes[msg.origin], workers=self._workers)

        def claim() -> None:
            if msg.origin in s.blinded:
                raise AlignmentRefused(
                    f"the batch of {msg.origin} was already blinded here: replayed",
                    field="origin",
                    fix="send each owner's batch to each hospital once",
                )
            s.blinded.add(msg.origin)

        self._claim(s, msg.seq, claim)
        points = raise_points(msg.points, s.key, workers=self._workers, pool=self._pool)
        return PointBatch(
            session_id=msg.session_id,
            sender=self.name,
            seq=s.next_seq(),
            origin=msg.origin,
            hops=msg.hops + 1,
            points=points,
        )

    def finish(self, msg: CountsDelivery) -> AlignmentReceipt:
        """Map the counts back onto this hospital's items; commit to its shared set."""
        s = self._session(msg)
        n = len(s.open.parties)
        if len(msg.counts) != len(s.items):
            raise AlignmentRefused(
                f"counts has {len(msg.counts)} entries, this hospital has {len(s.items)} items",
                field="counts",
                fix="send one count byte per item, in the owner's order",
            )
        if any(c > n - 1 for c in msg.counts):
            raise AlignmentRefused(f"a count exceeds the {n - 1} other parties", field="counts")
        if len(s.blinded) != n - 1:
            raise AlignmentRefused(
                "counts arrived before every batch went round the ring",
                field="seq",
                fix="deliver counts after the last hop",
            )

        def claim() -> None:
            if s.finished:
                raise AlignmentRefused("counts already delivered for this session", field="seq")
            s.finished = True

        self._claim(s, msg.seq, claim)
        salt = secrets.token_bytes(SALT_BYTES)
        shared = [
            i for i, c in zip(s.items, msg.counts, strict=True) if c >= s.open.min_other_holders
        ]
        digest = shared_set_hash(shared, purpose=s.open.purpose, salt=salt)
        s.result = PartyResult(
            session_id=msg.session_id,
            run=s.open.run,
            party=self.name,
            purpose=s.open.purpose,
            min_other_holders=s.open.min_other_holders,
            items=tuple(s.items),
            other_holders=tuple(msg.counts),
            salt=salt,
            shared_size=len(shared),
            shared_set_hash=digest,
        )
        s.key = b""  # the session key is not needed any more
        record = self._on_result(s.result) if self._on_result is not None else None
        return AlignmentReceipt(
            session_id=msg.session_id,
            sender=self.name,
            seq=s.next_seq(),
            run=s.open.run,
            shared_size=len(shared),
            shared_set_hash="0x" + digest.hex(),
            record=record,
        )

    def result(self, session_id: str) -> PartyResult:
        """The local result of a finished session (items, counts, salt)."""
        s = self._sessions.get(session_id)
        if s is None or s.result is None:
            raise AlignmentRefused(
                f"session {session_id} has no result here",
                field="session_id",
                fix="wait until the relay delivers the counts",
            )
        return s.result

    def forget(self, session_id: str) -> None:
        """Drop a session (its key, items and result) once the hospital has used the result."""
        with self._lock:
            self._sessions.pop(session_id, None)
