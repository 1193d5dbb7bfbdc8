"""The checks of a session in process: signed counts and canaries, DLEQ, caps, terms, receipts."""

from __future__ import annotations

import pytest
from eth_account import Account

from hospital.alignment import (
    AlignmentParty,
    AlignmentPurpose,
    AlignmentRefused,
    AlignmentTerms,
    LocalLink,
    PartyAccused,
    Relay,
)
from hospital.alignment.audit import AuditTrail, read_trail
from hospital.alignment.group import new_key, raise_points
from hospital.alignment.receipts import LedgerDomain, signed_record
from node.errors import ValidationFailed

SECRET = b"consortium-test-secret"
RELAY = Account.from_key("0x" + "44" * 32)
HOSPITAL = Account.from_key("0x" + "55" * 32)
DOMAIN = LedgerDomain(chain_id=31337, ledger="0x" + "12" * 20)
SETS = {
    "a": [b"%d" % i for i in range(0, 60)],
    "b": [b"%d" % i for i in range(30, 100)],
    "c": [b"%d" % i for i in range(50, 120)],
}


def parties(names=("a", "b"), cls=AlignmentParty, **kwargs):
    """Honest parties, except b which is of class ``cls``."""
    return {
        n: (cls if n == "b" else AlignmentParty)(
            n, lambda _p, n=n: SETS[n], secret=SECRET, **kwargs
        )
        for n in names
    }


def run(relay, ps, run_label="1", purpose=AlignmentPurpose.PATIENTS, session_id=None):
    links = [LocalLink(p) for p in ps.values()]
    return relay.run(links, run=run_label, purpose=purpose, session_id=session_id)


class ZeroingRelay(Relay):
    """Returns 0 for every item of b."""

    def count(self, finals):
        counts = super().count(finals)
        return {**counts, "b": bytes(len(counts["b"]))}


class WrongKeyParty(AlignmentParty):
    """Raises other owners' batches with a key other than the committed one."""

    def raise_batch(self, s, points):
        return raise_points(points, new_key(), workers=1)


def test_an_honest_session_passes_every_check_and_keeps_no_canary(plain):
    ps = parties(("a", "b", "c"))
    summary = run(Relay(RELAY), ps)
    expected = plain(SETS)
    for name, p in ps.items():
        assert p.result(summary.session_id).holders_by_item() == expected[name]
        assert summary.receipts[name].canaries_checked == summary.canaries_per_party == 4 * 32


def test_counts_a_relay_changed_are_refused_before_any_result_is_kept():
    kept = []
    ps = {
        n: AlignmentParty(n, lambda _p, n=n: SETS[n], secret=SECRET, on_result=kept.append)
        for n in ("a", "b")
    }
    sid = "5" * 32
    with pytest.raises(AlignmentRefused, match=f"signed by relay {RELAY.address} fail") as exc:
        run(ZeroingRelay(RELAY), ps, session_id=sid)
    assert exc.value.field == "counts" and "canaries of region {a, b}" in str(exc.value)
    assert "b" not in {r.party for r in kept}  # a's honest counts may have been kept
    evidence = ps["b"].refused_counts(sid)
    assert evidence is not None and evidence.counts == bytes(len(evidence.counts))
    with pytest.raises(AlignmentRefused, match="failed the canary checks"):
        ps["b"].result(sid)


def test_counts_signed_by_another_account_are_refused():
    class ForgingRelay(Relay):
        def _deliver(self, r, name, counts):
            account, self.account = self.account, Account.from_key("0x" + "66" * 32)
            try:
                return super()._deliver(r, name, counts)
            finally:
                self.account = account

    with pytest.raises(AlignmentRefused, match="not signed by the session's relay") as exc:
        run(ForgingRelay(RELAY), parties())
    assert exc.value.field == "relay_signature"


@pytest.mark.parametrize("names", [("a", "b"), ("a", "b", "c")])
def test_a_party_raising_with_another_key_is_named_by_its_proof(names):
    with pytest.raises(PartyAccused, match="b did not raise the batch of a") as exc:
        run(Relay(RELAY), parties(names, cls=WrongKeyParty))
    assert exc.value.party == "b" and exc.value.field == "proof"


def test_a_party_refuses_terms_weaker_than_its_own():
    for weaker, why in [
        (AlignmentTerms(canaries_per_group=4), "requires at least 32"),
        (AlignmentTerms(proofs=False), "requires DLEQ proofs"),
        (AlignmentTerms(max_set_size=10**9), "allows at most 250000"),
    ]:
        with pytest.raises(AlignmentRefused, match=why) as exc:
            run(Relay(RELAY, terms=weaker), parties())
        assert exc.value.field == "terms"


def test_set_sizes_beyond_the_cap_are_refused_by_the_relay_and_the_hospitals():
    terms = AlignmentTerms(max_set_size=65)
    with pytest.raises(AlignmentRefused, match="holds 70 patients items, more than") as own:
        run(Relay(RELAY, terms=terms), parties(terms=terms))
    assert own.value.field == "terms.max_set_size"

    class Prober(AlignmentParty):  # skips its own cap check
        def own_items(self, msg):
            return list(set(SETS["b"]))

    class BlindRelay(Relay):  # passes any size along
        def accept(self, r, name, acc):
            limit, self.terms = self.terms, AlignmentTerms(max_set_size=10**6)
            try:
                super().accept(r, name, acc)
            finally:
                self.terms = limit

    with pytest.raises(PartyAccused, match="b announced 70 items, more than") as by_relay:
        run(Relay(RELAY, terms=terms), parties(cls=Prober, terms=terms))
    assert by_relay.value.party == "b"
    with pytest.raises(
        AlignmentRefused,
        match=r"b announced 70 items \(and 64 canaries\), more than the consortium.s cap",
    ):
        run(BlindRelay(RELAY, terms=terms), parties(cls=Prober, terms=terms))


def test_the_relay_checks_each_hospitals_signed_ledger_record():
    def sink(result):
        digest = result.shared_set_hash
        return signed_record(
            HOSPITAL, DOMAIN, run=1, shared_set_hash=digest, shared_size=5, unique_ppm=10**6
        )

    ps = {
        n: AlignmentParty(n, lambda _p, n=n: SETS[n], secret=SECRET, on_result=sink)
        for n in ("a", "b")
    }
    summary = run(Relay(RELAY, domain=DOMAIN), ps, purpose=AlignmentPurpose.PATHOLOGY)
    assert {r.hospital for r in summary.records().values()} == {HOSPITAL.address}

    def forged(result):
        record = sink(result)
        return record.model_copy(update={"shared_size": 10**6})

    ps = {
        n: AlignmentParty(n, lambda _p, n=n: SETS[n], secret=SECRET, on_result=forged)
        for n in ("a", "b")
    }
    with pytest.raises(AlignmentRefused, match="not signed by the hospital it names"):
        run(Relay(RELAY, domain=DOMAIN), ps, purpose=AlignmentPurpose.PATHOLOGY)
    honest = {
        n: AlignmentParty(n, lambda _p, n=n: SETS[n], secret=SECRET, on_result=sink)
        for n in ("a", "b")
    }
    other = Relay(RELAY, domain=LedgerDomain(chain_id=1, ledger=DOMAIN.ledger))
    with pytest.raises(AlignmentRefused, match="not this network's"):
        run(other, honest, purpose=AlignmentPurpose.PATHOLOGY)


def test_the_audit_trail_has_a_signed_line_per_run_and_refuses_an_altered_one(tmp_path):
    trail = AuditTrail(tmp_path / "audit.jsonl", RELAY)
    run(Relay(RELAY, trail=trail), parties(), run_label="1")
    with pytest.raises(PartyAccused):
        run(Relay(RELAY, trail=trail), parties(cls=WrongKeyParty), run_label="2")

    done, refused = read_trail(trail.path)
    assert done.entry.outcome == "completed" and done.entry.relay == RELAY.address
    assert [(p.name, p.set_size) for p in done.entry.parties] == [("a", 60), ("b", 70)]
    assert done.entry.parties[0].shared_size == 30
    assert refused.entry.outcome == "refused" and refused.entry.accused == "b"

    lines = trail.path.read_text().splitlines()
    trail.path.write_text(lines[0].replace('"set_size":60', '"set_size":6') + "\n" + lines[1])
    with pytest.raises(ValidationFailed, match=r"audit.jsonl:1 is not signed by the relay"):
        read_trail(trail.path)
