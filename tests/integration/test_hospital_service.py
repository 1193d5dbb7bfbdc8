"""Two hospital services as real processes: private alignment over HTTP, recorded on the
ledger, and a doctor's query whose validated case lands in the hospital's database file;
only the ledger admin and active miners may drive a hospital's alignment."""

from __future__ import annotations

import secrets

import httpx
import pytest

from hospital.alignment import AlignmentPurpose, run_alignment
from hospital.alignment.client import HttpLink
from hospital.alignment.links import WireLog
from hospital.alignment.messages import RELAY, SessionOpen, to_wire
from hospital.alignment.recording import record_on_chain
from hospital.datagen.generate import generate_hospitals
from hospital.emr.identity import national_id_token
from hospital.emr.records import Origin
from hospital.emr.store import NewCase, open_store
from node.chain.network import devnet_pair_accounts, init_network
from node.identity import devnet_account
from node.requestauth import sign_request
from tests.integration.services import fedchain_service, free_port

TOKEN = "hospital-test-doctor-token-0123"
SALT = "consortium-test-salt-0123456789"


@pytest.fixture
def consortium(tmp_path, devnet, w3, make_world):
    # make_world's snapshot is reverted after the test, so this deployment leaves no trace
    network = init_network(
        w3, devnet_account(0), [devnet_pair_accounts(k) for k in range(2)], rpc_url=devnet.rpc_url
    )
    network.save(tmp_path / "network.json")
    stores = []
    for lib in generate_hospitals(2, 200, seed=5):
        url = f"sqlite:///{tmp_path / (lib.name + '.sqlite')}"
        store = open_store(url)
        store.add_cases(
            [
                NewCase(
                    case=g.case,
                    source="gen",
                    ref=g.ref,
                    national_token=national_id_token(g.national_id, SALT.encode()),
                )
                for g in lib.cases
            ]
        )
        store.close()
        stores.append((lib.name, url))
    return network, stores


def test_hospitals_align_over_http_record_on_chain_and_take_doctor_feedback(
    consortium,
    tmp_path,
    w3,
):
    network, stores = consortium
    services = []
    try:
        for k, (name, url) in enumerate(stores):
            port = free_port()
            env = {
                "FEDCHAIN_DATA_DIR": str(tmp_path / "data"),
                "FEDCHAIN_NETWORK_FILE": str(tmp_path / "network.json"),
                "FEDCHAIN_DEVNET_ACCOUNT": str(network.pairs[k].hospital_devnet_index),
                "FEDCHAIN_DATABASE_URL": url,
                "FEDCHAIN_NATIONAL_ID_SALT": SALT,
                "FEDCHAIN_HOSPITAL_NAME": name,
                "FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS": f'["{TOKEN}"]',
            }
            cm = fedchain_service(
                ["hospital", "serve", "--port", str(port)],
                port=port,
                env=env,
                log=tmp_path / f"{name}.log",
            )
            services.append((cm, cm.__enter__()))
        urls = [s.url for _, s in services]

        log = WireLog()
        with httpx.Client(timeout=30) as client:
            links = [HttpLink(u, client, log, account=devnet_account(0)) for u in urls]
            summary = run_alignment(
                links,
                run="7",
                purpose=AlignmentPurpose.PATHOLOGY,
                min_other_holders=1,
                log=log,
                account=devnet_account(0),
            )
        # ~80 signatures each: per real item the 64 canaries a hospital adds dominate, so
        # the 200-byte target is checked per announced item (canaries included)
        assert (summary.payload_bytes + summary.framing_bytes) / sum(
            summary.set_sizes.values()
        ) < 200
        # the relay (here the admin) records what each hospital signed in its receipt
        record_on_chain(_ledger(w3, network), summary.records())
        events = [e for e in _ledger(w3, network).events(0, "latest", {"AlignmentRecorded"})]
        assert {e.hospital for e in events} == {p.hospital for p in network.pairs}
        assert all(e.run == 7 and e.shared_size > 0 for e in events)

        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=urls[0], headers=auth, timeout=30) as http:
            health = http.get("/health").json()
            assert health["cases"] > 0 and health["diagnosis_index"] == health["cases"]
            findings = {
                "patient_id": "walk-in-1",
                "symptoms": [
                    {"name": "fever", "duration_days": 2, "onset": "sudden", "severity": 7},
                    {"name": "cough", "duration_days": 2, "severity": 5},
                ],
                "labs": [{"name": "temperature", "value": 39.1, "unit": "C"}],
            }
            suggestion = http.post("/diagnosis", json=findings).json()
            assert suggestion["diagnoses"] and suggestion["evidence"]
            assert suggestion["treatment_plan"] is not None
            # "fever" is not a consortium term: the answer says so and offers the real ones
            (unknown,) = suggestion["unknown_terms"]
            assert (
                unknown["field"] == "symptoms[0].name" and "high_fever" in unknown["did_you_mean"]
            )
            reply = http.post(
                f"/diagnosis/{suggestion['suggestion_id']}/feedback", json={"decision": "accept"}
            )
            assert reply.status_code == 200, reply.text
            case_id = reply.json()["case_id"]
            assert http.get("/health").json()["cases"] == health["cases"] + 1
            assert http.post("/diagnosis", json={}).status_code == 422
    finally:
        for cm, _ in reversed(services):
            cm.__exit__(None, None, None)

    store = open_store(stores[0][1])
    try:
        saved = store.get_case(case_id)
        assert saved.origin is Origin.DOCTOR_VALIDATED and saved.diagnosis is not None
    finally:
        store.close()


def _hospital_env(tmp_path, network, k, name, url):
    return {
        "FEDCHAIN_DATA_DIR": str(tmp_path / "data"),
        "FEDCHAIN_NETWORK_FILE": str(tmp_path / "network.json"),
        "FEDCHAIN_DEVNET_ACCOUNT": str(network.pairs[k].hospital_devnet_index),
        "FEDCHAIN_DATABASE_URL": url,
        "FEDCHAIN_NATIONAL_ID_SALT": SALT,
        "FEDCHAIN_HOSPITAL_NAME": name,
        "FEDCHAIN_DIAGNOSIS_DOCTOR_TOKENS": f'["{TOKEN}"]',
    }


def test_only_the_admin_and_active_miners_may_drive_a_hospitals_alignment(
    consortium,
    tmp_path,
    w3,
):
    network, stores = consortium
    name, url = stores[0]
    admin = devnet_account(0)
    own_hospital, own_miner = devnet_pair_accounts(0)
    removed_hospital, removed_miner = devnet_pair_accounts(1)
    stranger = devnet_account(19)
    _ledger(w3, network).remove_pair(removed_hospital.address)  # pair 1 leaves the consortium
    port = free_port()
    with (
        fedchain_service(
            ["hospital", "serve", "--port", str(port)],
            port=port,
            env=_hospital_env(tmp_path, network, 0, name, url),
            log=tmp_path / "h0.log",
        ) as service,
        httpx.Client() as client,
    ):

        def post_open(account, headers=None):
            opening = SessionOpen(
                session_id=secrets.token_hex(16),
                sender=RELAY,
                seq=1,
                run="9",
                purpose=AlignmentPurpose.PATIENTS,
                parties=(name, "other"),
                relay=account.address if account else admin.address,
            )
            body = to_wire(opening)
            headers = headers or (
                sign_request(account, "POST", "/alignment/open", body) if account else {}
            )
            return client.post(f"{service.url}/alignment/open", content=body, headers=headers)

        by_admin = post_open(admin)
        unsigned = post_open(None)
        by_stranger = post_open(stranger)
        by_miner = post_open(own_miner)
        by_hospital = post_open(own_hospital)
        by_removed = post_open(removed_miner)
        body = b"{}"
        replay_headers = sign_request(admin, "POST", "/alignment/open", body)
        once = client.post(f"{service.url}/alignment/open", content=body, headers=replay_headers)
        again = client.post(f"{service.url}/alignment/open", content=body, headers=replay_headers)

    assert by_admin.status_code == 200, by_admin.text
    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["detail"]
    assert by_stranger.status_code == 403
    assert f"{stranger.address} is not a member" in by_stranger.json()["detail"]
    assert by_miner.status_code == 200, by_miner.text
    assert by_hospital.status_code == 403 and "is a hospital" in by_hospital.json()["detail"]
    assert by_removed.status_code == 403 and "pair was removed" in by_removed.json()["detail"]
    assert once.status_code == 400  # signed by the admin: reaches the party, a bad message
    assert again.status_code == 401 and "replay" in again.json()["detail"]


def _ledger(w3, network):
    from node.chain.client import LedgerClient

    return LedgerClient(w3, network.ledger_address, devnet_account(0))
