"""A dishonest hospital or relay in the private alignment: each attack is refused or named.

Real processes throughout: hospital services (`fedchain hospital serve` on a real anvil
ledger, or `fedchain align serve` over item files) and a relay driving them over HTTP. In
each test one behaviour is changed: a real ``Relay`` or ``AlignmentParty`` subclass with one
method overridden (the party ones run as services, ``psi_rogues``), or an honest relay
signing with the wrong kind of account.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import httpx
import pytest
from eth_account import Account

from hospital.alignment import AlignmentPurpose, AlignmentRefused, AlignmentTerms, PartyAccused
from hospital.alignment.audit import AuditTrail, read_trail
from hospital.alignment.client import HttpLink
from hospital.alignment.recording import record_on_chain
from hospital.alignment.relay import Relay
from hospital.emr.identity import national_id_token
from node.chain.client import LedgerClient
from node.chain.network import devnet_pair_accounts, init_network
from node.errors import FedchainError
from node.identity import devnet_account
from tests.adversarial.psi_world import SALT, hospital_services, hospital_stores, item_services

ADMIN = devnet_account(0)


@pytest.fixture
def consortium(tmp_path, devnet, w3, make_world):  # noqa: F811
    """Two registered pairs on a fresh ledger (reverted after the test) and their EMR stores."""
    pairs = [devnet_pair_accounts(k) for k in range(2)]
    network = init_network(w3, ADMIN, pairs, rpc_url=devnet.rpc_url)
    network.save(tmp_path / "network.json")
    ledger = LedgerClient(w3, network.ledger_address, ADMIN)
    return network, ledger, hospital_stores(tmp_path, 2)


def _links(services, client, account):
    return [HttpLink(s.url, client, account=account) for s in services]


def test_hospital_acting_as_relay_is_refused(consortium, tmp_path):
    network, ledger, stores = consortium
    hospital, _ = devnet_pair_accounts(0)
    _, miner = devnet_pair_accounts(1)
    indexes = [p.hospital_devnet_index for p in network.pairs]
    with (
        hospital_services(tmp_path, tmp_path / "network.json", stores, indexes) as services,
        httpx.Client(timeout=120) as client,
    ):
        with pytest.raises(FedchainError) as refused:
            Relay(hospital).run(
                _links(services, client, hospital), run="3", purpose=AlignmentPurpose.PATHOLOGY
            )
        # the same services, relayed by a designated account (an active miner), align
        summary = Relay(miner).run(
            _links(services, client, miner), run="3", purpose=AlignmentPurpose.PATHOLOGY
        )

    assert "refused the relay on /open (HTTP 403)" in refused.value.message
    assert f"{hospital.address} is a hospital" in refused.value.message
    assert "ledger admin's account or an active miner's" in (refused.value.fix or "")
    assert {r.hospital for r in summary.records().values()} == {p.hospital for p in network.pairs}
    assert not any(ledger.member(p.hospital).aligned for p in network.pairs)
    record_on_chain(ledger.as_account(miner), summary.records())  # the relay records them
    assert all(ledger.member(p.hospital).aligned for p in network.pairs)


class MisreportingRelay(Relay):
    """Counts honestly, then reports ``victim``'s counts as ``lie`` maps them."""

    def __init__(self, account, victim, lie):  # type: ignore[no-untyped-def]
        super().__init__(account)
        self.victim, self.lie = victim, lie

    def count(self, finals: Mapping[str, bytes]) -> dict[str, bytes]:
        counts = super().count(finals)
        return {**counts, self.victim: bytes(self.lie(c) for c in counts[self.victim])}


@pytest.mark.parametrize(
    "lie",
    [lambda c: 0, lambda c: 1],
    ids=["victim's shared size zeroed", "every case of the victim claimed shared"],
)
def test_relay_lying_about_counts_is_detected_before_recording(consortium, tmp_path, lie):
    network, ledger, stores = consortium
    indexes = [p.hospital_devnet_index for p in network.pairs]
    victim_address = network.pairs[1].hospital
    with (
        hospital_services(tmp_path, tmp_path / "network.json", stores, indexes) as services,
        httpx.Client(timeout=120) as client,
    ):
        victim = services[1]
        relay = MisreportingRelay(ADMIN, victim.name, lie)  # the designated relay, lying
        with pytest.raises(AlignmentRefused) as refused:
            relay.run(_links(services, client, ADMIN), run="4", purpose=AlignmentPurpose.PATHOLOGY)
        recorded = ledger.events(0, "latest", {"AlignmentRecorded"})

    message = str(refused.value)
    assert f"{victim.name} refused /finish" in message
    assert f"the counts signed by relay {ADMIN.address} fail its canary checks" in message
    assert "Nothing was recorded" in message and refused.value.field == "counts"
    assert victim_address not in {e.hospital for e in recorded}
    assert not ledger.member(victim_address).aligned
    assert not victim.latest("pathology").exists()  # no result kept either


def test_party_using_a_wrong_key_is_named_by_the_dleq_check(tmp_path):
    rng = random.Random(3)
    universe = [rng.randbytes(16) for _ in range(900)]
    sets = {
        name: [x for x in universe if rng.random() < 0.5] for name in ("north", "south", "east")
    }
    relay_account = Account.create()
    trail = AuditTrail(tmp_path / "audit.jsonl", relay_account)
    with (
        item_services(
            tmp_path, sets, relay=relay_account.address, rogues={"south": "wrong-key"}
        ) as services,
        httpx.Client(timeout=120) as client,
    ):
        with pytest.raises(PartyAccused) as accused:
            Relay(relay_account, trail=trail).run(
                _links(services, client, relay_account), run="5", purpose=AlignmentPurpose.PATIENTS
            )

    assert accused.value.party == "south" and accused.value.field == "proof"
    assert "south did not raise the batch of north (hop 2) to the key it committed to" in str(
        accused.value
    )
    assert all(s.results_kept() == [] for s in services)  # no counts went out
    (line,) = read_trail(trail.path)
    assert line.entry.outcome == "refused" and line.entry.accused == "south"


def test_hospital_probing_guessed_ids_beyond_the_cap_is_refused(tmp_path):
    cap = 300
    patients = [f"NID-{i:06d}" for i in range(600)]
    tokens = [bytes.fromhex(national_id_token(p, SALT.encode())) for p in patients]
    # guessed ids, tokenised with the salt every hospital holds
    guessed = [
        bytes.fromhex(national_id_token(f"NID-{i:06d}", SALT.encode())) for i in range(600, 5600)
    ]
    sets = {"north": tokens[:250], "south": tokens[200:450], "prober": tokens[400:] + guessed}
    relay_account = Account.create()
    terms = AlignmentTerms(max_set_size=cap)
    trail = AuditTrail(tmp_path / "audit.jsonl", relay_account)
    env = {"FEDCHAIN_ALIGNMENT_MAX_SET_SIZE": str(cap)}  # the consortium's cap, everywhere

    class PassAlongRelay(Relay):
        """A relay that does not hold hospitals to the cap (colluding with the prober)."""

        def accept(self, r, name, acc):  # type: ignore[no-untyped-def]
            r.sizes[name] = acc.set_size
            r.commitments[name] = acc.key_commitment

    with (
        item_services(
            tmp_path, sets, relay=relay_account.address, rogues={"prober": "probe"}, env=env
        ) as services,
        httpx.Client(timeout=120) as client,
    ):
        links = _links(services, client, relay_account)
        with pytest.raises(PartyAccused) as by_relay:
            Relay(relay_account, terms=terms, trail=trail).run(
                links, run="6", purpose=AlignmentPurpose.PATIENTS
            )
        links = _links(services, client, relay_account)
        with pytest.raises(AlignmentRefused) as by_hospitals:
            PassAlongRelay(relay_account, terms=terms).run(
                links, run="7", purpose=AlignmentPurpose.PATIENTS
            )

    assert by_relay.value.party == "prober" and by_relay.value.field == "set_size"
    assert "prober announced 5200 items, more than the consortium's cap of 300" in str(
        by_relay.value
    )
    # an honest hospital refuses to encode beside it, whatever the relay does
    assert "refused /encode" in str(by_hospitals.value)
    assert "prober announced" in str(by_hospitals.value) and "could probe" in str(
        by_hospitals.value
    )
    assert all(s.results_kept() == [] for s in services)  # nobody learned anything
    (line,) = read_trail(trail.path)
    prober = next(p for p in line.entry.parties if p.name == "prober")
    assert line.entry.accused == "prober" and prober.set_size == 5200
