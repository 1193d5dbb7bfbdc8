"""Hospitals and miners send transactions at the same time; the devnet must serve them all."""

from __future__ import annotations

import threading


def test_concurrent_senders_are_all_served(make_world):
    # Regression: with a bare --prune-history anvil kept no past state, and a call pinned
    # to block N failed with BlockOutOfRange once another sender's transaction mined N+1.
    world = make_world(3, aligned=None)
    errors: list[str] = []
    digest = [bytes([k + 1]) * 32 for k in range(3)]
    signed = [
        [world.hospitals[k].sign_alignment(run, digest[k], 10 + run) for run in range(40)]
        for k in range(3)
    ]

    def record(k: int) -> None:  # miner k relays hospital k's signed outcomes
        hospital = world.hospitals[k].account.address
        for run in range(40):
            try:
                world.miners[k].record_alignment(
                    hospital, run, digest[k], 10 + run, 1_000_000, signed[k][run]
                )
            except Exception as exc:  # collected and asserted below
                errors.append(repr(exc))

    threads = [threading.Thread(target=record, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = world.admin.events(0, "latest", {"AlignmentRecorded"})
    assert len(events) == 120
