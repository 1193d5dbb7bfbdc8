"""The relay: drives a session along the ring of hospitals and counts fully-encoded matches.

Each owner's shuffled set goes round the ring, every hospital raising it to its key without
reordering; the last hop ends at the relay, never at a hospital, so no hospital ever sees a
fully-encoded set. The relay counts, for each owner's point, how many other owners' final
sets hold it, and returns only those counts to that owner.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel

from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.group import check_batch, split_points
from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.links import PartyLink, WireLog
from hospital.alignment.messages import (
    RELAY,
    AlignmentReceipt,
    CountsDelivery,
    EncodeRequest,
    Message,
    PointBatch,
    SessionOpen,
)
from node.errors import ValidationFailed

Progress = Callable[[str, int, int], None]


def count_other_holders(finals: Mapping[str, bytes]) -> dict[str, bytes]:
    """For each owner, one byte per point of its final batch: how many other owners hold it.

    ``finals`` maps each owner to its set raised to every key. A point repeated inside one
    owner's batch would inflate others' counts, so it is refused.
    """
    pool: Counter[bytes] = Counter()
    for owner, blob in finals.items():
        points = split_points(blob)
        if len(set(points)) != len(points):
            raise AlignmentRefused(
                f"the final batch of {owner} repeats a point",
                field="points",
                fix=f"{owner} must send each item once",
            )
        pool.update(points)
    return {owner: bytes(pool[p] - 1 for p in split_points(blob)) for owner, blob in finals.items()}


class RunSummary(BaseModel):
    """What the relay saw of a run: set sizes, receipts, bytes on the wire, time."""

    session_id: str
    run: str
    purpose: AlignmentPurpose
    parties: tuple[str, ...]
    set_sizes: dict[str, int]
    receipts: dict[str, AlignmentReceipt]
    payload_bytes: int
    framing_bytes: int
    seconds: float

    @property
    def bytes_per_item(self) -> float:
        """All bytes counted on the wire over all parties' items."""
        items = sum(self.set_sizes.values())
        return (self.payload_bytes + self.framing_bytes) / items if items else 0.0


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
) -> RunSummary:
    """Run one alignment session among ``links`` (in ring order) and collect the receipts.

    ``log`` should be the WireLog the links record into; the summary reports its bytes.
    """
    start = time.perf_counter()
    sid = session_id or secrets.token_hex(16)
    names = tuple(link.name for link in links)
    n = len(links)
    if n < 2 or len(set(names)) != n:
        raise ValidationFailed(
            f"an alignment needs two or more distinctly named hospitals, got {list(names)}",
            field="links",
            fix="give each hospital once, under its own name",
        )
    by_name = {link.name: link for link in links}
    check = _Checker(sid)
    total = n + n * (n - 1) + n
    done = 0
    tick_lock = threading.Lock()

    def tick(stage: str) -> None:
        nonlocal done
        with tick_lock:
            done += 1
            if progress is not None:
                progress(stage, done, total)

    opening = {
        name: SessionOpen(
            session_id=sid,
            sender=RELAY,
            seq=check.seq_to(name),
            run=run,
            purpose=purpose,
            parties=names,
            min_other_holders=min_other_holders,
        )
        for name in names
    }
    with ThreadPoolExecutor(max_workers=max(n, 1), thread_name_prefix="relay") as ex:
        accepted = dict(
            zip(names, ex.map(lambda m: by_name[m].open(opening[m]), names), strict=True)
        )
        for name, acc in accepted.items():
            check.reply(acc, name)
        sizes = {name: acc.set_size for name, acc in accepted.items()}

        def encode(name: str) -> PointBatch:
            batch = by_name[name].encode(
                EncodeRequest(session_id=sid, sender=RELAY, seq=check.seq_to(name), set_sizes=sizes)
            )
            _check_batch(check, batch, name, origin=name, hops=1, size=sizes[name], full=False)
            tick("encode")
            return batch

        current = dict(zip(names, ex.map(encode, names), strict=True))
        for hop in range(1, n):

            def blind(
                origin: str, hop: int = hop, current: dict[str, PointBatch] = current
            ) -> PointBatch:
                target = names[(names.index(origin) + hop) % n]
                batch = by_name[target].blind(
                    PointBatch(
                        session_id=sid,
                        sender=RELAY,
                        seq=check.seq_to(target),
                        origin=origin,
                        hops=hop,
                        points=current[origin].points,
                    )
                )
                _check_batch(
                    check,
                    batch,
                    target,
                    origin=origin,
                    hops=hop + 1,
                    size=sizes[origin],
                    full=hop == n - 1,
                    workers=workers,
                )
                tick(f"blind hop {hop}")
                return batch

            current = dict(zip(names, ex.map(blind, names), strict=True))
        counts = count_other_holders({name: b.points for name, b in current.items()})

        def finish(name: str) -> AlignmentReceipt:
            receipt = by_name[name].finish(
                CountsDelivery(
                    session_id=sid, sender=RELAY, seq=check.seq_to(name), counts=counts[name]
                )
            )
            check.reply(receipt, name)
            if receipt.run != run:
                raise AlignmentRefused(f"{name} receipted run {receipt.run!r}", field="run")
            tick("deliver")
            return receipt

        receipts = dict(zip(names, ex.map(finish, names), strict=True))
    log = log or WireLog()
    return RunSummary(
        session_id=sid,
        run=run,
        purpose=purpose,
        parties=names,
        set_sizes=sizes,
        receipts=receipts,
        payload_bytes=log.payload_bytes,
        framing_bytes=log.framing_bytes,
        seconds=time.perf_counter() - start,
    )


def _check_batch(
    check: _Checker,
    batch: PointBatch,
    party: str,
    *,
    origin: str,
    hops: int,
    size: int,
    full: bool,
    workers: int = 2,
) -> None:
    check.reply(batch, party)
    if batch.origin != origin:
        raise AlignmentRefused(f"{party} returned the batch of {batch.origin}", field="origin")
    if batch.hops != hops:
        raise AlignmentRefused(f"{party} returned hops {batch.hops}, not {hops}", field="hops")
    if full:
        check_batch(batch.points, expected=size, workers=workers)
    else:  # the next hospital checks every point of an intermediate batch
        _check_length(batch.points, size)


def _check_length(points: bytes, size: int) -> None:
    if len(points) != 32 * size:
        raise AlignmentRefused(
            f"batch is {len(points)} bytes, expected {32 * size}",
            field="points",
            fix="send exactly one 32-byte point per item of the announced set",
        )
