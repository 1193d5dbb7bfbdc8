"""The router and the HTTP link together, in process (Starlette's TestClient is an httpx.Client)."""

import secrets

from fastapi.testclient import TestClient

from hospital.alignment import AlignmentParty, AlignmentPurpose, WireLog, run_alignment
from hospital.alignment.client import HttpLink
from hospital.alignment.messages import RELAY, SessionOpen, to_wire
from hospital.alignment.router import create_app

SETS = {"north": [b"a", b"b", b"c"], "south": [b"b", b"c", b"d", b"e"]}


def clients():
    parties = {k: AlignmentParty(k, lambda _p, v=v: v) for k, v in SETS.items()}
    return parties, {k: TestClient(create_app(p)) for k, p in parties.items()}


def test_session_over_the_router_matches_the_plaintext(plain):
    parties, apps = clients()
    log = WireLog()

    links = [HttpLink("http://testserver", c, log) for c in apps.values()]
    summary = run_alignment(links, run="r", purpose=AlignmentPurpose.PATIENTS, log=log)

    expected = plain(SETS)
    for name, party in parties.items():
        assert party.result(summary.session_id).holders_by_item() == expected[name]
    assert summary.framing_bytes > 0 and summary.payload_bytes > 0


def test_router_answers_a_refusal_with_400_naming_the_field():
    _, apps = clients()
    client = apps["north"]
    opening = SessionOpen(session_id=secrets.token_hex(16), sender=RELAY, seq=1, run="r",
                          purpose=AlignmentPurpose.PATIENTS, parties=("north", "south"))
    assert client.post("/alignment/open", content=to_wire(opening)).status_code == 200

    replay = client.post("/alignment/open", content=to_wire(opening))
    wrong = client.post("/alignment/open", content=b'{"session_id": 1}')

    assert replay.status_code == 400 and replay.json()["field"] == "session_id"
    assert "replayed open" in replay.json()["error"] and replay.json()["fix"]
    assert wrong.status_code == 400 and wrong.json()["field"] == "session_id"
    assert client.get("/alignment/info").json() == {"party": "north"}
