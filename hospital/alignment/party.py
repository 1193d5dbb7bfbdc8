"""A hospital's side of the alignment protocol: a state machine over typed messages.

The hospital holds its items and a fresh secret key per session; it answers the relay's
messages in protocol order and refuses anything out of order, replayed, from another session
or malformed, naming the field. It adds canaries (``canaries.py``) to its set, proves every
batch it raises with a DLEQ proof against its committed key (``dleq.py``), and acts on the
counts only once the relay's signature verifies and every canary came back right. Its result
(which of its items others hold) stays local.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hospital.alignment.canaries import Group, canaries_for, is_canary_shaped, session_key
from hospital.alignment.dleq import batch_statement, key_commitment, prove
from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.group import PoolKind, check_batch, encode_items, new_key, raise_points
from hospital.alignment.items import SALT_BYTES, AlignmentPurpose, shared_set_hash
from hospital.alignment.messages import (
    RELAY,
    AlignmentReceipt,
    CountsDelivery,
    EncodeRequest,
    LedgerAlignment,
    PointBatch,
    SessionAccepted,
    SessionOpen,
)
from hospital.alignment.owner_checks import CanariesFailed, check_counts, check_sizes
from hospital.alignment.result import PartyResult, context_of
from hospital.alignment.terms import AlignmentTerms

__all__ = ["AlignmentParty", "ItemSource", "PartyResult", "ResultSink", "context_of"]

ItemSource = Callable[[AlignmentPurpose], Iterable[bytes]]
#: Takes a checked result; returns what the hospital would record on chain, signed (or None).
ResultSink = Callable[[PartyResult], LedgerAlignment | None]


@dataclass
class _Session:
    open: SessionOpen
    index: int
    key: bytes
    commitment: str | None  # K = k·B, hex (None when the session has no proofs)
    items: list[bytes]  # real items and canaries, in the secret shuffled order
    canaries: dict[bytes, tuple[Group, int]]  # canary -> (its region, its expected count)
    last_seq_in: int
    seq_out: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    set_sizes: dict[str, int] | None = None
    encoded: bool = False
    blinded: set[str] = field(default_factory=set)
    finished: bool = False
    result: PartyResult | None = None
    refused: CountsDelivery | None = None  # the relay's signed counts that failed the checks

    def next_seq(self) -> int:
        return next(self.seq_out)  # atomic under the GIL


class AlignmentParty:
    """One hospital's alignment endpoint: sessions keyed by id, each with its own key.

    ``secret`` is the consortium secret the hospitals share and relays do not (the
    national-id salt): the canaries derive from it. ``terms`` are the least this hospital
    accepts (canaries, proofs, set-size cap); ``on_result`` keeps a checked result and
    returns the signed ledger record the receipt carries.
    """

    def __init__(
        self,
        name: str,
        items_for: ItemSource,
        *,
        secret: bytes,
        terms: AlignmentTerms | None = None,
        workers: int = 2,
        pool: PoolKind = "thread",
        on_result: ResultSink | None = None,
    ) -> None:
        if not secret:
            raise ValueError("an alignment party needs the consortium secret for its canaries")
        self.name = name
        self._items_for = items_for
        self._secret = secret
        self.terms = terms or AlignmentTerms()
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

    def session_relay(self, session_id: str) -> str | None:
        """The relay account a session was opened by (the only one that may drive it)."""
        s = self._sessions.get(session_id)
        return None if s is None else s.open.relay

    def own_items(self, msg: SessionOpen) -> list[bytes]:
        """The hospital's real items for the session, de-duplicated, within the cap."""
        # an item shaped like a canary is never real; dropping it keeps the checks exact
        items = list({i for i in self._items_for(msg.purpose) if not is_canary_shaped(i)})
        if len(items) > msg.terms.max_set_size:
            raise AlignmentRefused(
                f"{self.name} holds {len(items)} {msg.purpose.value} items, more than the "
                f"consortium's cap of {msg.terms.max_set_size} per run",
                field="terms.max_set_size",
                fix="align a subset, or have the consortium raise FEDCHAIN_ALIGNMENT_MAX_SET_SIZE",
            )
        return items

    def open(self, msg: SessionOpen) -> SessionAccepted:
        """Join a session: fresh key, items within the cap plus canaries, secretly shuffled."""
        if msg.sender != RELAY:
            raise AlignmentRefused(f"sender {msg.sender!r} is not a relay", field="sender")
        if self.name not in msg.parties:
            raise AlignmentRefused(
                f"{self.name} is not among the parties {list(msg.parties)}",
                field="parties",
                fix=f"address this hospital as {self.name!r}",
            )
        weaker = msg.terms.weaker_than(self.terms)
        if weaker is not None:
            raise AlignmentRefused(
                f"{self.name} refuses the session's terms: {weaker}",
                field="terms",
                fix="open the session with the consortium's FEDCHAIN_ALIGNMENT_* terms",
            )
        canary_key = session_key(
            self._secret,
            session_id=msg.session_id,
            run=msg.run,
            purpose=msg.purpose.value,
            parties=msg.parties,
        )
        canaries = canaries_for(self.name, canary_key, msg.parties, msg.terms.canaries_per_group)
        items = self.own_items(msg) + list(canaries)
        secrets.SystemRandom().shuffle(items)  # owner order is secret: only it maps points back
        with self._lock:
            if msg.session_id in self._sessions:
                raise AlignmentRefused(
                    f"session {msg.session_id} is already open here: replayed open",
                    field="session_id",
                    fix="open each run with a fresh session id",
                )
            key = new_key()
            commitment = key_commitment(key).hex() if msg.terms.proofs else None
            index = msg.parties.index(self.name)
            s = _Session(msg, index, key, commitment, items, canaries, msg.seq)
            self._sessions[msg.session_id] = s
        return SessionAccepted(
            session_id=msg.session_id,
            sender=self.name,
            seq=s.next_seq(),
            set_size=len(items),
            key_commitment=s.commitment,
        )

    def encode(self, msg: EncodeRequest) -> PointBatch:
        """Hash this hospital's items to the group and raise them to its key (hop 1)."""
        s = self._session(msg)
        check_sizes(s.open, self.name, len(s.items), s.commitment, msg)

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

    def raise_batch(self, s: _Session, points: bytes) -> bytes:
        """Another owner's validated batch raised to this session's key, order kept."""
        return raise_points(points, s.key, workers=self._workers, pool=self._pool)

    def prove_batch(self, s: _Session, msg: PointBatch, points: bytes) -> str | None:
        """The hex DLEQ proof that ``points`` is ``msg.points`` raised to the committed key."""
        if not s.open.terms.proofs or not points:
            return None
        statement = batch_statement(
            session_id=msg.session_id, prover=self.name, origin=msg.origin, hops=msg.hops + 1
        )
        proof = prove(s.key, msg.points, points, statement=statement, workers=self._workers)
        return proof.to_bytes().hex()

    def blind(self, msg: PointBatch) -> PointBatch:
        """Raise another hospital's batch to this hospital's key, keeping its order; prove it."""
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
        points = self.raise_batch(s, msg.points)
        return PointBatch(
            session_id=msg.session_id,
            sender=self.name,
            seq=s.next_seq(),
            origin=msg.origin,
            hops=msg.hops + 1,
            proof=self.prove_batch(s, msg, points),
            points=points,
        )

    def finish(self, msg: CountsDelivery) -> AlignmentReceipt:
        """Check the counts (relay signature, canaries), keep the result, commit to it."""
        s = self._session(msg)
        try:
            check_counts(s.open, self.name, s.items, s.canaries, len(s.blinded), msg)
        except CanariesFailed:
            with self._lock:  # nothing is kept but the relay's signed counts, as evidence
                s.refused, s.finished, s.key = msg, True, b""
            raise

        def claim() -> None:
            if s.finished:
                raise AlignmentRefused("counts already delivered for this session", field="seq")
            s.finished = True

        self._claim(s, msg.seq, claim)
        real = [(i, c) for i, c in zip(s.items, msg.counts, strict=True) if i not in s.canaries]
        salt = secrets.token_bytes(SALT_BYTES)
        shared = [i for i, c in real if c >= s.open.min_other_holders]
        digest = shared_set_hash(shared, purpose=s.open.purpose, salt=salt)
        s.result = PartyResult(
            session_id=msg.session_id,
            run=s.open.run,
            party=self.name,
            purpose=s.open.purpose,
            min_other_holders=s.open.min_other_holders,
            items=tuple(i for i, _ in real),
            other_holders=tuple(c for _, c in real),
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
            canaries_checked=len(s.canaries),
            ledger_record=record,
        )

    def result(self, session_id: str) -> PartyResult:
        """The local result of a finished session (items, counts, salt)."""
        s = self._sessions.get(session_id)
        if s is None or s.result is None:
            raise AlignmentRefused(
                f"session {session_id} has no result here"
                + (": its counts failed the canary checks" if s and s.refused else ""),
                field="session_id",
                fix="wait until the relay delivers the counts",
            )
        return s.result

    def refused_counts(self, session_id: str) -> CountsDelivery | None:
        """The relay's signed counts a session refused (evidence), if it refused any."""
        s = self._sessions.get(session_id)
        return None if s is None else s.refused

    def forget(self, session_id: str) -> None:
        """Drop a session (its key, items and result) once the hospital has used the result."""
        with self._lock:
            self._sessions.pop(session_id, None)
