"""The router and the HTTP link together, in process (Starlette's TestClient is an httpx.Client)."""

import secrets

from eth_account import Account
from fastapi.testclient import TestClient

from hospital.alignment import AlignmentParty, AlignmentPurpose, WireLog, run_alignment
from hospital.alignment.auth import AllowedRelays, RelayAuth
from hospital.alignment.client import HttpLink
from hospital.alignment.messages import RELAY, EncodeRequest, SessionOpen, to_wire
from hospital.alignment.router import create_app
from node.requestauth import sign_request

SETS = {"north": [b"a", b"b", b"c"], "south": [b"b", b"c", b"d", b"e"]}
OPERATOR = Account.from_key("0x" + "11" * 32)
STRANGER = Account.from_key("0x" + "22" * 32)


def clients():
    parties = {k: AlignmentParty(k, lambda _p, v=v: v, secret=b"s") for k, v in SETS.items()}
    auth = RelayAuth(AllowedRelays([OPERATOR.address]))
    return parties, {k: TestClient(create_app(p, auth)) for k, p in parties.items()}


def signed(body: bytes, account=OPERATOR, path="/alignment/open"):
    return sign_request(account, "POST", path, body)


def test_session_over_the_router_matches_the_plaintext(plain):
    parties, apps = clients()
    log = WireLog()

    links = [HttpLink("http://testserver", c, log, account=OPERATOR) for c in apps.values()]
    summary = run_alignment(
        links, run="r", purpose=AlignmentPurpose.PATIENTS, log=log, account=OPERATOR
    )

    expected = plain(SETS)
    for name, party in parties.items():
        assert party.result(summary.session_id).holders_by_item() == expected[name]
    assert summary.framing_bytes > 0 and summary.payload_bytes > 0


def test_router_answers_a_refusal_with_400_naming_the_field():
    _, apps = clients()
    client = apps["north"]
    opening = SessionOpen(
        session_id=secrets.token_hex(16),
        sender=RELAY,
        seq=1,
        run="r",
        purpose=AlignmentPurpose.PATIENTS,
        parties=("north", "south"),
        relay=OPERATOR.address,
    )
    body = to_wire(opening)
    assert client.post("/alignment/open", content=body, headers=signed(body)).status_code == 200

    replay = client.post("/alignment/open", content=body, headers=signed(body))
    bad = b'{"session_id": 1}'
    wrong = client.post("/alignment/open", content=bad, headers=signed(bad))

    assert replay.status_code == 400 and replay.json()["field"] == "session_id"
    assert "replayed open" in replay.json()["error"] and replay.json()["fix"]
    assert wrong.status_code == 400 and wrong.json()["field"] == "session_id"
    assert client.get("/alignment/info").json() == {"party": "north"}


def test_router_refuses_unsigned_stranger_signed_and_replayed_requests_before_the_party():
    _, apps = clients()
    client = apps["north"]
    opening = SessionOpen(
        session_id=secrets.token_hex(16),
        sender=RELAY,
        seq=1,
        run="r",
        purpose=AlignmentPurpose.PATIENTS,
        parties=("north", "south"),
        relay=OPERATOR.address,
    )
    body = to_wire(opening)

    unsigned = client.post("/alignment/open", content=body)
    stranger = client.post("/alignment/open", content=body, headers=signed(body, STRANGER))
    other_path = client.post(
        "/alignment/open", content=body, headers=signed(body, path="/alignment/blind")
    )
    headers = signed(body)
    first = client.post("/alignment/open", content=body, headers=headers)
    replayed = client.post("/alignment/open", content=body, headers=headers)

    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["detail"]
    assert stranger.status_code == 403
    assert f"{STRANGER.address} is not an allowed relay" in stranger.json()["detail"]
    assert other_path.status_code == 401 and "not the claimed" in other_path.json()["detail"]
    assert first.status_code == 200  # so none of the refused requests reached the party
    assert replayed.status_code == 401 and "replay" in replayed.json()["detail"]


def test_only_the_relay_a_session_names_may_drive_it():
    other = Account.from_key("0x" + "33" * 32)
    party = AlignmentParty("north", lambda _p: SETS["north"], secret=b"s")
    client = TestClient(
        create_app(party, RelayAuth(AllowedRelays([OPERATOR.address, other.address])))
    )
    opening = SessionOpen(
        session_id=secrets.token_hex(16),
        sender=RELAY,
        seq=1,
        run="r",
        purpose=AlignmentPurpose.PATIENTS,
        parties=("north", "south"),
        relay=OPERATOR.address,
    )
    body = to_wire(opening)
    claimed = client.post("/alignment/open", content=body, headers=signed(body, other))
    opened = client.post("/alignment/open", content=body, headers=signed(body))
    ask = EncodeRequest(session_id=opening.session_id, sender=RELAY, seq=2, set_sizes={})
    body = to_wire(ask)
    path = "/alignment/encode"
    hijack = client.post(path, content=body, headers=signed(body, other, path=path))

    assert claimed.status_code == 403 and f"relayed by {OPERATOR.address}" in claimed.text
    assert opened.status_code == 200
    assert hijack.status_code == 403 and f"{other.address} may not drive it" in hijack.text
