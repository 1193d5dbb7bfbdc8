"""Every service's OpenAPI fuzzed with schemathesis (valid and invalid requests): no 5xx.

The apps are the real ones from their factories, in process: the hospital service over a small
generated library, the miner over an in-process federation on the session anvil (one sealed
round, so its routes have blobs and a view to answer from), and the auditor over that ledger.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from diagnosis.api.app import create_app as create_diagnosis_app
from diagnosis.api.settings import DiagnosisSettings
from diagnosis.ports import InMemoryCaseLibrary
from diagnosis.service import DiagnosisService
from hospital.alignment.auth import LedgerRelays, RelayAuth
from hospital.datagen.generate import generate_hospitals, synthetic_cases
from hospital.emr.identity import national_id_token
from hospital.emr.settings import DEV_SALT
from hospital.emr.store import NewCase, open_store
from hospital.service.alignment import AlignmentBook
from hospital.service.app import create_hospital_app
from miner.app import create_app as create_miner_app
from node.audit.auditor import Auditor
from node.audit.blobsource import BlobReader
from node.audit.service import create_app as create_auditor_app
from node.blobstore import BlobStore
from node.chain.models import RoundStatus
from node.errors import FedchainError
from node.requestauth import (
    HEADER_ADDRESS,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    request_digest,
)
from tests.integration.fuzz_openapi import (  # type: ignore[import-not-found]
    EXAMPLES,
    operation_server_errors,
    server_errors,
)

DOCTOR = "doctor-fuzz-token-0123456789abcdef"
AUDITOR = "auditor-fuzz-token-0123456789abcdef"


class StoreSource:
    """A miner's in-memory blob store as an auditor blob source."""

    def __init__(self, store: BlobStore, name: str) -> None:
        self.store = store
        self.name = name

    def raw(self, digest: str) -> bytes | None:
        try:
            return self.store.get(digest)
        except FedchainError:
            return None


@pytest.fixture
def sealed_federation(make_federation):  # type: ignore[no-untyped-def]
    fed = make_federation(n_params=8)
    fed.open_round(1)
    fed.drive(lambda: fed.status(1) == RoundStatus.SEALED)
    return fed


def test_hospital_service_answers_no_fuzzed_request_with_a_5xx(tmp_path: Path, make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(2)  # relays are checked against this ledger's members
    lib = generate_hospitals(1, 60, seed=3)[0]
    store = open_store(f"sqlite:///{tmp_path / 'h.sqlite'}")
    try:
        store.add_cases(
            [
                NewCase(
                    case=g.case,
                    source="gen",
                    ref=g.ref,
                    national_token=national_id_token(g.national_id, DEV_SALT.encode()),
                )
                for g in lib.cases
            ]
        )
        app = create_hospital_app(
            name="hospital-1",
            book=AlignmentBook(store, tmp_path / "al"),
            relay_auth=RelayAuth(LedgerRelays(world.admin)),
            doctor_tokens=[DOCTOR],
        )
        assert server_errors(app, {"Authorization": f"Bearer {DOCTOR}"}) == []
        assert server_errors(app, {}) == []  # and without a token: 401s, never 5xx
        auth = {"Authorization": f"Bearer {DOCTOR}"}
        client = TestClient(app, raise_server_exceptions=False)
        findings = {
            "patient_id": "p-1",
            "symptoms": [s.model_dump(mode="json") for s in lib.cases[0].case.symptoms],
        }

        def live_suggestion() -> dict[str, str]:
            r = client.post("/diagnosis", json=findings, headers=auth)
            return {"suggestion_id": r.json()["suggestion_id"]}

        assert (
            operation_server_errors(
                app,
                "POST",
                "/diagnosis/{suggestion_id}/feedback",
                auth,
                path_parameters=live_suggestion,
            )
            == []
        )
        relays = [world.admin.account, world.miners[1].account]
        assert _raw_alignment_bodies_5xx(app, relays, world.hospitals[0].account) == []
    finally:
        store.close()


def test_diagnosis_service_with_a_model_answers_no_fuzzed_request_with_a_5xx() -> None:
    library = InMemoryCaseLibrary(synthetic_cases(80, seed=11))
    service = DiagnosisService(
        library=library, sink=library, model=lambda case: {"J18.9": 0.7, "J45.9": 0.3}
    )
    app = create_diagnosis_app(service, DiagnosisSettings(doctor_tokens=[DOCTOR]))
    assert server_errors(app, {"Authorization": f"Bearer {DOCTOR}"}) == []


def _raw_alignment_bodies_5xx(
    app,
    relays: list[LocalAccount],  # type: ignore[no-untyped-def]
    hospital: LocalAccount,
) -> list[str]:
    """The alignment routes take raw wire bodies (no schema): fuzz those bytes directly.

    Each body is sent unsigned (401), signed by a stranger and by a hospital (403) and by
    allowed relays at any timestamp (the party parses it: 200/400, or 401 out of window).
    """
    client = TestClient(app, raise_server_exceptions=False)
    leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    jsonish = st.recursive(
        leaf,
        lambda ch: st.lists(ch, max_size=3) | st.dictionaries(st.text(max_size=8), ch, max_size=4),
        max_leaves=8,
    )
    bodies = st.one_of(st.binary(max_size=300), jsonish.map(lambda v: json.dumps(v).encode()))
    stranger = Account.from_key("0x" + "44" * 32)
    signers = st.sampled_from([None, stranger, hospital, *relays, *relays])
    now = int(time.time())
    timestamps = st.one_of(st.just(now), st.just(now), st.integers(0, 2**64))
    found: list[str] = []
    allowed = {a.address for a in relays}
    codes: set[int] = set()

    def fuzz(route: str) -> None:
        path = f"/alignment/{route}"

        @given(body=bodies, signer=signers, timestamp=timestamps)
        @settings(
            max_examples=2 * EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(body: bytes, signer: LocalAccount | None, timestamp: int) -> None:
            for kind in ("application/json", "application/octet-stream"):
                headers = {"content-type": kind}
                if signer is not None:
                    headers.update(_signed_at(signer, path, body, timestamp))
                r = client.post(path, content=body, headers=headers)
                codes.add(r.status_code)
                if r.status_code >= 500:
                    found.append(f"{route} {kind} {body[:80]!r} -> {r.status_code}")
                elif (signer is None or signer.address not in allowed) and r.status_code not in (
                    401,
                    403,
                ):
                    found.append(f"{route} by {signer} got past the relay check: {r.status_code}")

        run()

    for route in ("open", "encode", "blind", "finish"):
        fuzz(route)
    assert {400, 401, 403} <= codes  # parsed bodies, unsigned/stale and refused signers
    return found


def test_miner_service_answers_no_fuzzed_request_with_a_5xx(sealed_federation) -> None:  # type: ignore[no-untyped-def]
    fed = sealed_federation
    app = create_miner_app(fed.miners[0], tick_interval=None)
    # unsigned fuzzed requests: the signed routes must refuse them with 401/403, never 500
    assert server_errors(app, {}) == []
    members = [fed.world.hospitals[0].account, fed.world.miners[1].account]
    assert _signed_miner_5xx(app, members) == []
    stored = next(iter(fed.miners[0].store))
    client = TestClient(app, raise_server_exceptions=False)
    for digest in (stored, "0x" + stored, "ab" * 32):
        for local in ("true", "false"):
            assert client.get(f"/blobs/{digest}", params={"local": local}).status_code < 500


def test_miner_answers_a_signed_body_that_is_not_json_with_a_422_naming_the_error(
    sealed_federation,
) -> None:  # type: ignore[no-untyped-def]
    # found by the fuzz: the 422 detail held the raw input bytes and could not be serialised
    app = create_miner_app(sealed_federation.miners[0], tick_interval=None)
    client = TestClient(app, raise_server_exceptions=False)
    hospital = sealed_federation.world.hospitals[0].account
    for path in ("/updates", "/blobs"):
        for body in (b"", b"\xff\x00not json", b'{"round": 1}'):
            r = client.post(
                path, content=body, headers=_signed_at(hospital, path, body, int(time.time()))
            )
            assert r.status_code == 422, (path, body, r.text)
            assert r.json()["detail"][0]["type"] in {"json_invalid", "missing"}
            assert "input" not in r.json()["detail"][0]


def test_miner_answers_no_well_formed_update_from_its_hospital_with_a_5xx(
    sealed_federation,
) -> None:  # type: ignore[no-untyped-def]
    fed = sealed_federation
    app = create_miner_app(fed.miners[0], tick_interval=None)
    client = TestClient(app, raise_server_exceptions=False)
    hospital = fed.world.hospitals[0].account
    blob = st.binary(max_size=64)
    submission = st.fixed_dictionaries(
        {
            "round": st.sampled_from([1, 2, 2**31, 2**64, 2**256, 2**300]),
            "sample_count": st.sampled_from([1, 100, 2**64, 2**256, 2**300]),
            "signature": st.just("0x" + "ab" * 65),
            "blob": blob,
            "b64_ok": st.booleans(),
            "hash_ok": st.booleans(),
        }
    )
    found: list[str] = []

    @given(s=submission)
    @settings(
        max_examples=2 * EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(s: dict) -> None:  # type: ignore[type-arg]
        data: bytes = s["blob"]
        body = json.dumps(
            {
                "round": s["round"],
                "sample_count": s["sample_count"],
                "signature": s["signature"],
                "blob_hash": hashlib.sha256(data).hexdigest() if s["hash_ok"] else "cd" * 32,
                "blob_b64": base64.b64encode(data).decode() if s["b64_ok"] else "not*base64",
            }
        ).encode()
        r = client.post(
            "/updates",
            content=body,
            headers=_signed_at(hospital, "/updates", body, int(time.time())),
        )
        if r.status_code >= 500:
            found.append(f"{body[:160]!r} -> {r.status_code} {r.text[:200]}")

    run()
    assert found == []


def _signed_at(account: LocalAccount, path: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Signature headers for ``POST path body`` at any (even absurd) timestamp."""
    nonce = secrets.token_hex(16)
    message = encode_defunct(request_digest("POST", path, body, timestamp, nonce))
    signature = "0x" + bytes(account.sign_message(message).signature).hex()
    return {
        HEADER_ADDRESS: account.address,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature,
    }


def _signed_miner_5xx(app, members: list[LocalAccount]) -> list[str]:  # type: ignore[no-untyped-def]
    """POST /updates and /blobs signed by members and by a stranger, with fuzzed bodies."""
    client = TestClient(app, raise_server_exceptions=False)
    stranger = Account.from_key("0x" + "33" * 32)
    hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
    b64 = st.binary(max_size=48).map(lambda b: base64.b64encode(b).decode())
    texts = st.text(max_size=16)
    blobs = st.binary(max_size=48)
    submission = st.fixed_dictionaries(
        {
            "round": st.integers(-2, 2**70),
            "blob_hash": hex64 | texts,
            "sample_count": st.integers(-2, 2**80),
            "signature": st.just("0x" + "ab" * 65) | texts,
            "blob_b64": b64 | texts,
        }
    )
    upload = blobs.map(
        lambda b: {
            "blob_hash": hashlib.sha256(b).hexdigest(),
            "blob_b64": base64.b64encode(b).decode(),
        }
    )
    upload_bad = st.fixed_dictionaries({"blob_hash": hex64 | texts, "blob_b64": b64 | texts})
    documents = st.one_of(submission, upload, upload_bad).map(lambda v: json.dumps(v).encode())
    bodies = st.one_of(st.binary(max_size=200), documents)
    now = int(time.time())
    timestamps = st.one_of(st.just(now), st.integers(0, 2**64), st.integers(10**300, 10**310))
    found: list[str] = []

    @given(
        path=st.sampled_from(["/updates", "/blobs"]),
        signer=st.sampled_from([*members, stranger]),
        timestamp=timestamps,
        body=bodies,
    )
    @settings(
        max_examples=4 * EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(path: str, signer: LocalAccount, timestamp: int, body: bytes) -> None:
        r = client.post(path, content=body, headers=_signed_at(signer, path, body, timestamp))
        if r.status_code >= 500:
            found.append(
                f"{path} by {signer.address} at {timestamp}: {body[:80]!r} -> "
                f"{r.status_code} {r.text[:200]}"
            )

    run()
    return found


def test_auditor_service_answers_no_fuzzed_request_with_a_5xx(sealed_federation) -> None:  # type: ignore[no-untyped-def]
    sources = [StoreSource(m.store, f"miner-{k}") for k, m in enumerate(sealed_federation.miners)]
    auditor = Auditor(sealed_federation.world.admin, BlobReader(sources))
    app = create_auditor_app(auditor, tokens=[AUDITOR], cache_seconds=60)
    assert server_errors(app, {"Authorization": f"Bearer {AUDITOR}"}) == []
    assert server_errors(app, {}) == []
