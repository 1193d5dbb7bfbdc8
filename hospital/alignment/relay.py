"""The relay: drives a session along the ring of hospitals and counts fully-encoded matches.

Each owner's shuffled set goes round the ring, every hospital raising it to its key without
reordering and proving (DLEQ) that it used the key it committed to; the relay checks every
proof and names a party whose proof fails. The last hop ends at the relay, never at a
hospital, so no hospital ever sees a fully-encoded set. The relay counts, for each owner's
point, how many other owners' final sets hold it, and returns only those counts to that
owner, signed with its account. It refuses a hospital announcing more items than the
consortium's cap, checks each hospital's signed ledger record, and appends a signed entry
per run to its audit trail.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount

from hospital.alignment.audit import AuditEntry, AuditParty, AuditTrail
from hospital.alignment.canaries import canaries_per_party
from hospital.alignment.dleq import DleqProof, batch_statement, verify
from hospital.alignment.errors import AlignmentRefused, PartyAccused
from hospital.alignment.evidence import sign_counts
from hospital.alignment.group import POINT_BYTES, check_batch, count_other_holders
from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.links import PartyLink, WireLog
from hospital.alignment.messages import (
    RELAY,
    AlignmentReceipt,
    CountsDelivery,
    EncodeRequest,
    Message,
    PointBatch,
    SessionAccepted,
    SessionOpen,
)
from hospital.alignment.receipts import LedgerDomain, check_ledger_record
from hospital.alignment.summary import RunSummary
from hospital.alignment.terms import AlignmentTerms
from node.errors import ValidationFailed

Progress = Callable[[str, int, int], None]


class _Checker:
    """Refuses replies from the wrong session or sender, or replayed (non-increasing seq)."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.last_in: dict[str, int] = {}
        self.last_out: dict[str, int] = {}

    def seq_to(self, party: str) -> int:
        self.last_out[party] = self.last_out.get(party, 0) + 1
        return self.last_out[party]

    def reply(self, msg: Message, party: str) -> None:
        if msg.session_id != self.session_id:
            raise AlignmentRefused(
                f"{party} answered for session {msg.session_id}", field="session_id"
            )
        if msg.sender != party:
            raise AlignmentRefused(f"reply from {party} names {msg.sender!r}", field="sender")
        if msg.seq <= self.last_in.get(party, 0):
            raise AlignmentRefused(
                f"{party} sent seq {msg.seq} again or out of order: replayed", field="seq"
            )
        self.last_in[party] = msg.seq


@dataclass
class _Run:
    """One session's state at the relay."""

    sid: str
    run: str
    purpose: AlignmentPurpose
    min_other_holders: int
    links: dict[str, PartyLink]
    names: tuple[str, ...]
    check: _Checker
    progress: Progress | None
    sizes: dict[str, int] = field(default_factory=dict)
    commitments: dict[str, str] = field(default_factory=dict)
    receipts: dict[str, AlignmentReceipt] = field(default_factory=dict)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self, stage: str) -> None:
        n = len(self.names)
        with self.lock:
            self.done += 1
            if self.progress is not None:
                self.progress(stage, self.done, n + n * (n - 1) + n)


class Relay:
    """A designated relay: its account signs requests and counts; its terms bind sessions.

    ``domain`` (chain id and ledger) is where the hospitals' signed records must be bound;
    ``trail`` receives a signed audit entry per run, completed or refused.
    """

    def __init__(
        self,
        account: LocalAccount,
        *,
        terms: AlignmentTerms | None = None,
        domain: LedgerDomain | None = None,
        trail: AuditTrail | None = None,
        workers: int = 2,
    ) -> None:
        self.account = account
        self.terms = terms or AlignmentTerms()
        self.domain = domain
        self.trail = trail
        self.workers = workers

    # ---------------------------------------------------------------- one session
    def run(
        self,
        links: Sequence[PartyLink],
        *,
        run: str,
        purpose: AlignmentPurpose,
        min_other_holders: int = 1,
        log: WireLog | None = None,
        progress: Progress | None = None,
        session_id: str | None = None,
    ) -> RunSummary:
        """Run one session among ``links`` (in ring order) and collect the checked receipts.

        ``log`` should be the WireLog the links record into; the summary reports its bytes.
        """
        start, started = time.perf_counter(), time.time()
        names = tuple(link.name for link in links)
        if len(names) < 2 or len(set(names)) != len(names):
            raise ValidationFailed(
                f"an alignment needs two or more distinctly named hospitals, got {list(names)}",
                field="links",
                fix="give each hospital once, under its own name",
            )
        sid = session_id or secrets.token_hex(16)
        r = _Run(
            sid,
            run,
            purpose,
            min_other_holders,
            {link.name: link for link in links},
            names,
            _Checker(sid),
            progress,
        )
        try:
            with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="relay") as ex:
                self._open(r, ex)
                finals = self._ring(r, ex)
                counts = self.count(finals)
                r.receipts = dict(
                    zip(names, ex.map(lambda n: self._deliver(r, n, counts[n]), names), strict=True)
                )
        except Exception as exc:
            self._audit(r, started, refused=exc)
            raise
        self._audit(r, started)
        log = log or WireLog()
        return RunSummary(
            session_id=sid,
            run=run,
            purpose=purpose,
            parties=names,
            set_sizes=r.sizes,
            canaries_per_party=self._canaries(names),
            receipts=r.receipts,
            payload_bytes=log.payload_bytes,
            framing_bytes=log.framing_bytes,
            seconds=time.perf_counter() - start,
        )

    def _canaries(self, names: Sequence[str]) -> int:
        return canaries_per_party(names, self.terms.canaries_per_group)

    def _open(self, r: _Run, ex: ThreadPoolExecutor) -> None:
        opening = {
            name: SessionOpen(
                session_id=r.sid,
                sender=RELAY,
                seq=r.check.seq_to(name),
                run=r.run,
                purpose=r.purpose,
                parties=r.names,
                min_other_holders=r.min_other_holders,
                relay=self.account.address,
                terms=self.terms,
            )
            for name in r.names
        }
        accepted = dict(
            zip(r.names, ex.map(lambda m: r.links[m].open(opening[m]), r.names), strict=True)
        )
        for name, acc in accepted.items():
            r.check.reply(acc, name)
            self.accept(r, name, acc)

    def accept(self, r: _Run, name: str, acc: SessionAccepted) -> None:
        """Hold a hospital's acceptance to the cap; keep its key commitment."""
        r.sizes[name] = acc.set_size  # kept first: the audit trail names a refused size too
        limit = self.terms.max_set_size + self._canaries(r.names)
        if acc.set_size > limit:
            raise PartyAccused(
                f"{name} announced {acc.set_size - self._canaries(r.names)} items, more than "
                f"the consortium's cap of {self.terms.max_set_size} per run: refused, as a "
                "hospital stuffing its set with guessed items would be",
                party=name,
                field="set_size",
                fix=f"{name} aligns a subset, or the consortium raises "
                "FEDCHAIN_ALIGNMENT_MAX_SET_SIZE",
            )
        if self.terms.proofs:
            if acc.key_commitment is None:
                raise PartyAccused(
                    f"{name} sent no key commitment", party=name, field="key_commitment"
                )
            check_batch(bytes.fromhex(acc.key_commitment), expected=1, field="key_commitment")
            r.commitments[name] = acc.key_commitment

    def _ring(self, r: _Run, ex: ThreadPoolExecutor) -> dict[str, bytes]:
        """Every owner's batch raised by every party, proofs checked; the final batches."""

        def encode(name: str) -> PointBatch:
            batch = r.links[name].encode(
                EncodeRequest(
                    session_id=r.sid,
                    sender=RELAY,
                    seq=r.check.seq_to(name),
                    set_sizes=r.sizes,
                    key_commitments=r.commitments,
                )
            )
            self._check_reply(r, batch, name, origin=name, hops=1)
            r.tick("encode")
            return batch

        current = dict(zip(r.names, ex.map(encode, r.names), strict=True))
        n = len(r.names)
        for hop in range(1, n):

            def blind(
                origin: str, hop: int = hop, now: dict[str, PointBatch] = current
            ) -> PointBatch:
                target = r.names[(r.names.index(origin) + hop) % n]
                sent = now[origin].points
                batch = r.links[target].blind(
                    PointBatch(
                        session_id=r.sid,
                        sender=RELAY,
                        seq=r.check.seq_to(target),
                        origin=origin,
                        hops=hop,
                        points=sent,
                    )
                )
                self._check_reply(r, batch, target, origin=origin, hops=hop + 1)
                # every point canonical first (a few µs each), so a malformed batch is named
                # as such; the proof then costs two multiplications per point
                check_batch(batch.points, expected=r.sizes[origin], workers=self.workers)
                self.check_proof(r, target, origin, sent, batch)
                r.tick(f"blind hop {hop}")
                return batch

            current = dict(zip(r.names, ex.map(blind, r.names), strict=True))
        return {name: b.points for name, b in current.items()}

    def check_proof(
        self, r: _Run, prover: str, origin: str, sent: bytes, batch: PointBatch
    ) -> None:
        """Refuse the session, naming ``prover``, unless its DLEQ proof for this batch holds."""
        if not self.terms.proofs or not sent:
            return
        statement = batch_statement(session_id=r.sid, prover=prover, origin=origin, hops=batch.hops)
        ok = batch.proof is not None and verify(
            bytes.fromhex(r.commitments[prover]),
            sent,
            batch.points,
            DleqProof.from_bytes(bytes.fromhex(batch.proof)),
            statement=statement,
            workers=self.workers,
        )
        if not ok:
            raise PartyAccused(
                f"{prover} did not raise the batch of {origin} (hop {batch.hops}) to the key "
                "it committed to: its DLEQ proof "
                + ("is missing" if batch.proof is None else "does not verify")
                + f"; session {r.sid} refused, no counts delivered",
                party=prover,
                field="proof",
                fix=f"run the alignment without {prover}, or find why it used another key",
            )

    def count(self, finals: Mapping[str, bytes]) -> dict[str, bytes]:
        """Each owner's counts (one byte per point of its final batch)."""
        return count_other_holders(finals)

    def _deliver(self, r: _Run, name: str, counts: bytes) -> AlignmentReceipt:
        signature = sign_counts(
            self.account,
            session_id=r.sid,
            run=r.run,
            purpose=r.purpose.value,
            recipient=name,
            counts=counts,
        )
        receipt = r.links[name].finish(
            CountsDelivery(
                session_id=r.sid,
                sender=RELAY,
                seq=r.check.seq_to(name),
                relay_signature=signature,
                counts=counts,
            )
        )
        r.check.reply(receipt, name)
        if receipt.run != r.run:
            raise AlignmentRefused(f"{name} receipted run {receipt.run!r}", field="run")
        if receipt.ledger_record is not None:
            check_ledger_record(receipt, party=name, purpose=r.purpose, domain=self.domain)
        r.tick("deliver")
        return receipt

    @staticmethod
    def _check_reply(r: _Run, batch: PointBatch, party: str, *, origin: str, hops: int) -> None:
        r.check.reply(batch, party)
        if batch.origin != origin:
            raise AlignmentRefused(f"{party} returned the batch of {batch.origin}", field="origin")
        if batch.hops != hops:
            raise AlignmentRefused(f"{party} returned hops {batch.hops}, not {hops}", field="hops")
        if len(batch.points) != POINT_BYTES * r.sizes[origin]:
            raise AlignmentRefused(
                f"batch is {len(batch.points)} bytes, expected {POINT_BYTES * r.sizes[origin]}",
                field="points",
                fix="send exactly one 32-byte point per item of the announced set",
            )

    def _audit(self, r: _Run, started: float, refused: Exception | None = None) -> None:
        if self.trail is None:
            return
        canaries = self._canaries(r.names)
        entry = AuditEntry(
            session_id=r.sid,
            run=r.run,
            purpose=r.purpose,
            relay=self.account.address,
            started=started,
            finished=time.time(),
            terms=self.terms,
            parties=[
                AuditParty(
                    name=name,
                    set_size=max(r.sizes[name] - canaries, 0) if name in r.sizes else None,
                    shared_size=r.receipts[name].shared_size if name in r.receipts else None,
                    ledger_record=r.receipts[name].ledger_record if name in r.receipts else None,
                )
                for name in r.names
            ],
            outcome="refused" if refused is not None else "completed",
            reason=None if refused is None else str(refused),
            accused=getattr(refused, "party", None),
        )
        self.trail.append(entry)


def run_alignment(
    links: Sequence[PartyLink],
    *,
    run: str,
    purpose: AlignmentPurpose,
    min_other_holders: int = 1,
    log: WireLog | None = None,
    progress: Progress | None = None,
    session_id: str | None = None,
    workers: int = 2,
    account: LocalAccount | None = None,
    terms: AlignmentTerms | None = None,
) -> RunSummary:
    """Run one session with a ``Relay`` (a throw-away account when none is given: in process)."""
    relay = Relay(account or Account.create(), terms=terms, workers=workers)
    return relay.run(
        links,
        run=run,
        purpose=purpose,
        min_other_holders=min_other_holders,
        log=log,
        progress=progress,
        session_id=session_id,
    )
