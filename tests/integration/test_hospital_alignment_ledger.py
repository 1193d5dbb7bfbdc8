"""Three hospitals' EMR libraries align privately and record their shared-sample sets on chain."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import pytest

from hospital.alignment.items import AlignmentPurpose, pathology_signature
from hospital.alignment.links import LocalLink, WireLog
from hospital.alignment.party import AlignmentParty
from hospital.alignment.recording import record_on_chain
from hospital.alignment.relay import run_alignment
from hospital.datagen.generate import generate_hospitals
from hospital.emr.identity import national_id_token
from hospital.emr.store import NewCase, open_store
from hospital.service.alignment import AlignmentBook, ledger_run_id, sign_with
from node.chain.tx import ContractReverted
from node.errors import ValidationFailed

SALT = b"consortium-test-salt-0001"


@pytest.fixture
def books(tmp_path, make_world):
    world = make_world(3, aligned=None)
    books = []
    for k, lib in enumerate(generate_hospitals(3, 240, seed=3)):
        store = open_store(f"sqlite:///{tmp_path / (lib.name + '.sqlite')}")
        store.add_cases(
            [
                NewCase(
                    case=g.case,
                    source="gen",
                    ref=g.ref,
                    national_token=national_id_token(g.national_id, SALT),
                )
                for g in lib.cases
            ]
        )
        books.append(
            AlignmentBook(
                store,
                tmp_path / lib.name / "alignment",
                sign=sign_with(world.hospitals[k]),
            )
        )
    yield world, books
    for book in books:
        book.store.close()


def _align(world, books, purpose, run="1"):
    """Run the PSI among the books, then record the signed receipts as the admin (the relay)."""
    parties = [
        AlignmentParty(f"h{k}", b.items_for, secret=SALT, on_result=b.on_result)
        for k, b in enumerate(books)
    ]
    log = WireLog()
    summary = run_alignment(
        [LocalLink(p, log) for p in parties], run=run, purpose=purpose, min_other_holders=1, log=log
    )
    record_on_chain(world.admin, summary.records())
    return summary


def test_pathology_alignment_is_recorded_on_chain_and_selects_shared_cases(books):
    world, books = books
    _align(world, books, AlignmentPurpose.PATHOLOGY)

    signatures = [{pathology_signature(c) for c in b.store.iter_cases()} for b in books]
    held_by = Counter(s for sigs in signatures for s in sigs)
    events = world.admin.events(0, "latest", {"AlignmentRecorded"})
    by_hospital = {e.hospital: e for e in events}
    for k, book in enumerate(books):
        shared = {s for s in signatures[k] if held_by[s] >= 2}
        recorded = by_hospital[world.hospitals[k].account.address]
        chosen = book.training_cases(min_other_holders=1)
        assert chosen and all(pathology_signature(c) in shared for c in chosen)
        # the ledger caps claims by the hospital's cases with a shared signature
        own_shared = [c for c in book.store.iter_cases() if pathology_signature(c) in shared]
        assert recorded.run == 1 and recorded.shared_size == len(own_shared) == len(chosen)
        assert world.admin.member(world.hospitals[k].account.address).shared_size == len(chosen)
        # the result stays at home, with the salt that opens the on-chain commitment
        latest = book.latest(AlignmentPurpose.PATHOLOGY)
        assert (
            latest is not None and "0x" + latest.shared_set_hash.hex() == recorded.shared_set_hash
        )

    # the ledger now refuses an update claiming more samples than were aligned
    world.open_round(1)
    too_many = by_hospital[world.hospitals[0].account.address].shared_size + 1
    with pytest.raises(ContractReverted) as err:
        world.propose(0, samples=too_many)
    assert err.value.error_name == "SampleCountTooLarge"


def test_patient_alignment_stays_local(books):
    world, books = books
    _align(world, books, AlignmentPurpose.PATIENTS)
    assert world.admin.events(0, "latest", {"AlignmentRecorded"}) == []
    tokens = [set(b.store.national_tokens().values()) for b in books]
    for k, book in enumerate(books):
        result = book.latest(AlignmentPurpose.PATIENTS)
        others = set().union(*(t for j, t in enumerate(tokens) if j != k))
        assert result is not None and result.shared_size == len(tokens[k] & others)


def test_no_alignment_yet_means_no_shared_samples(books):
    _, books = books
    assert books[0].training_cases(min_other_holders=1) == []


def test_non_numeric_run_is_refused_before_anything_is_sent():
    with pytest.raises(ValidationFailed) as err:
        ledger_run_id("run-a")
    assert err.value.field == "run"


def test_unique_patient_fraction_of_the_shared_samples_is_recorded_with_the_alignment(books):
    world, books = books
    _align(world, books, AlignmentPurpose.PATHOLOGY, run="1")
    assert {e.unique_ppm for e in world.admin.events(names={"AlignmentRecorded"})} == {10**6}
    _align(world, books, AlignmentPurpose.PATIENTS, run="2")  # records run 1 again, now with u

    tokens = [b.store.national_tokens() for b in books]
    held = Counter(t for per in tokens for t in set(per.values()))
    recorded = world.admin.events(names={"AlignmentRecorded"})[3:]
    assert [e.run for e in recorded] == [1, 1, 1]
    for k, book in enumerate(books):
        cases = book.training_cases(min_other_holders=1)
        shares = [Fraction(1, held[tokens[k][c.patient_id]]) for c in cases]  # 1 / holders
        expected = int(sum(shares, Fraction(0)) * 10**6 / len(shares))
        address = world.hospitals[k].account.address
        (mine,) = [e for e in recorded if e.hospital == address]
        assert mine.unique_ppm == expected < 10**6  # generated patients visit several
        assert world.admin.member(address).unique_ppm == expected
