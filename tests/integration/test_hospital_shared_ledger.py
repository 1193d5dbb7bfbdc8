"""One ledger client per hospital account, shared by the alignment recording and the round thread.

`fedchain hospital serve` builds one LedgerClient and gives it to both paths; its sender
takes the nonce and hands the transaction over under one lock. Here both paths send at once
from the same client on the session anvil, for four hospitals in parallel: every
transaction lands, none is refused for its nonce.
"""

from __future__ import annotations

import threading

from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.party import PartyResult
from hospital.emr.store import open_store
from hospital.service.alignment import AlignmentBook, record_on_ledger
from node.chain.client import LedgerClient

RECORDS = 12


def _result(run: int, party: str) -> PartyResult:
    return PartyResult(
        session_id=f"s{run}",
        run=str(run),
        party=party,
        purpose=AlignmentPurpose.PATHOLOGY,
        min_other_holders=1,
        items=(b"a", b"b"),
        other_holders=(1, 1),
        salt=b"\x00" * 32,
        shared_size=run,
        shared_set_hash=bytes([run]) * 32,
    )


def test_alignment_recording_and_hold_out_reports_from_one_client_do_not_clash(
    make_world, tmp_path
):
    world = make_world(4)
    world.open_round(1)
    world.accept_all(1)
    world.packer_for(1).commit_aggregate(1, b"\x0a" * 32, 4)  # hold-out reports are now due
    start = threading.Barrier(2 * len(world.hospitals), timeout=30)
    errors: list[BaseException] = []
    stores = [
        open_store(f"sqlite:///{tmp_path / f'h{k}.sqlite'}")  # alembic: one at a time
        for k in range(len(world.hospitals))
    ]

    def alignment_path(ledger: LedgerClient, k: int) -> None:
        book = AlignmentBook(stores[k], tmp_path / f"al{k}", record=record_on_ledger(ledger))
        start.wait()
        for run in range(1, RECORDS + 1):
            book.on_result(_result(run, f"h{k}"))  # what a finished PSI run does

    def round_path(ledger: LedgerClient) -> None:
        start.wait()
        ledger.report_holdout(1, b"\x0b" * 32, 800_000, 810_000)  # what RoundClient sends

    def guarded(target, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    w3 = world.w3
    before = {
        h.account.address: w3.eth.get_transaction_count(h.account.address) for h in world.hospitals
    }
    threads = []
    for k, ledger in enumerate(world.hospitals):  # one shared client per hospital account
        threads += [
            threading.Thread(target=guarded, args=(alignment_path, ledger, k)),
            threading.Thread(target=guarded, args=(round_path, ledger)),
        ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for store in stores:
        store.close()

    assert errors == []
    for h in world.hospitals:
        address = h.account.address
        assert w3.eth.get_transaction_count(address) == before[address] + RECORDS + 1
    recorded = world.admin.events(0, "latest", {"AlignmentRecorded"})
    for h in world.hospitals:
        mine = [e for e in recorded if e.hospital == h.account.address]
        assert sorted(e.run for e in mine)[-RECORDS:] == list(range(1, RECORDS + 1))
        # storage holds what the last recording sent (stores are empty: no shared cases)
        assert world.admin.member(h.account.address).shared_size == mine[-1].shared_size == 0
    reports = world.admin.events(0, "latest", {"HoldoutReported"})
    assert {e.hospital for e in reports if e.round == 1} == {
        h.account.address for h in world.hospitals
    }
