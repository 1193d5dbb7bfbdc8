"""Three real hospital alignment services (uvicorn subprocesses) and a relay over HTTP.

The services allow one relay account (`--relay`); every message the relay sends is signed.
"""

import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hospital.alignment import AlignmentPurpose, AlignmentRefused, run_alignment, shared_set_hash
from hospital.alignment.audit import read_trail
from hospital.alignment.client import HttpLink
from hospital.alignment.links import WireLog
from hospital.alignment.messages import RELAY, EncodeRequest, PointBatch, SessionOpen, to_wire
from node.errors import FedchainError
from node.identity import devnet_account
from node.requestauth import sign_request

REPO = Path(__file__).resolve().parents[2]
NAMES = ("north", "south", "east")
RELAY_INDEX = 5  # the devnet account the relay signs with
OPERATOR = devnet_account(RELAY_INDEX)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, deadline=60.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"{url}/alignment/info", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def hospitals(tmp_path_factory):
    """Three services over hex token files; yields (urls, sets, results dir); stopped by PID."""
    tmp = tmp_path_factory.mktemp("alignment")
    rng = random.Random(11)
    universe = [rng.randbytes(16) for _ in range(3000)]
    sets = {
        name: [x for x in universe if rng.random() < p]
        for name, p in zip(NAMES, (0.6, 0.4, 0.5), strict=True)
    }
    procs, urls = [], []
    try:
        for name in NAMES:
            items = tmp / f"{name}.hex"
            items.write_text("\n".join(x.hex() for x in sets[name]))
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "node.cli.app",
                        "align",
                        "serve",
                        "--name",
                        name,
                        "--items",
                        str(items),
                        "--format",
                        "hex",
                        "--port",
                        str(port),
                        "--results",
                        str(tmp / "results" / name),
                        "--relay",
                        OPERATOR.address,
                    ],
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            wait_ready(url, proc)
        yield urls, sets, tmp / "results", tmp
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_relay_over_http_gives_each_hospital_the_plaintext_counts(hospitals):
    urls, sets, results, _ = hospitals
    log = WireLog()
    with httpx.Client() as client:
        links = [HttpLink(u, client, log, account=OPERATOR) for u in urls]
        summary = run_alignment(
            links, run="it-1", purpose=AlignmentPurpose.PATIENTS, log=log, account=OPERATOR
        )

    as_sets = {k: set(v) for k, v in sets.items()}
    for name in NAMES:
        local = json.loads((results / name / f"{summary.session_id}.json").read_text())
        holders = dict(
            zip((bytes.fromhex(i) for i in local["items"]), local["other_holders"], strict=True)
        )
        assert holders == {
            x: sum(x in as_sets[o] for o in NAMES if o != name) for x in as_sets[name]
        }
        shared = [x for x, c in holders.items() if c >= 1]
        salt = bytes.fromhex(local["salt"])
        receipt = summary.receipts[name]
        assert receipt.shared_size == len(shared)
        assert (
            receipt.shared_set_hash
            == "0x" + shared_set_hash(shared, purpose=AlignmentPurpose.PATIENTS, salt=salt).hex()
        )
    assert summary.framing_bytes > 0
    assert summary.bytes_per_item < 200  # 3 parties: 5 x 32-byte points per item + framing


def test_hospital_service_refuses_bad_point_wrong_session_and_replay(hospitals):
    urls, _, _, _ = hospitals
    sid = secrets.token_hex(16)
    with httpx.Client() as client:
        north = HttpLink(urls[0], client, account=OPERATOR)
        south = HttpLink(urls[1], client, account=OPERATOR)
        opening = {
            "session_id": sid,
            "sender": RELAY,
            "seq": 1,
            "run": "it-2",
            "purpose": AlignmentPurpose.PATIENTS,
            "parties": ("north", "south"),
            "relay": OPERATOR.address,
        }
        accepted = {
            "north": north.open(SessionOpen(**opening)),
            "south": south.open(SessionOpen(**opening)),
        }
        ask = EncodeRequest(
            session_id=sid,
            sender=RELAY,
            seq=2,
            set_sizes={k: a.set_size for k, a in accepted.items()},
            key_commitments={k: a.key_commitment for k, a in accepted.items()},
        )
        own = north.encode(ask)
        south.encode(ask)
        good = PointBatch(
            session_id=sid, sender=RELAY, seq=3, origin="north", hops=1, points=own.points
        )

        def post(msg):
            body = to_wire(msg)
            return client.post(
                f"{urls[1]}/alignment/blind",
                content=body,
                headers=sign_request(OPERATOR, "POST", "/alignment/blind", body),
            )

        bad = post(good.model_copy(update={"points": b"\xff" * 32 + own.points[32:]}))
        assert bad.status_code == 400 and bad.json()["field"] == "points"
        assert "points[0] is not a canonical ristretto255 point" in bad.json()["error"]
        short = post(good.model_copy(update={"points": own.points[:-5]}))
        assert short.status_code == 400 and short.json()["field"] == "points"
        other = post(good.model_copy(update={"session_id": secrets.token_hex(16)}))
        assert other.status_code == 400 and other.json()["field"] == "session_id"
        garbage = client.post(
            f"{urls[1]}/alignment/blind",
            content=b"FCA1junk",
            headers=(sign_request(OPERATOR, "POST", "/alignment/blind", b"FCA1junk")),
        )
        assert garbage.status_code == 400 and garbage.json()["field"] == "frame"

        assert post(good).status_code == 200
        replay = post(good)
        assert replay.status_code == 400 and replay.json()["field"] == "seq"
        with pytest.raises(AlignmentRefused, match="already blinded here: replayed"):
            south.blind(good.model_copy(update={"seq": 4}))


def test_service_refuses_unsigned_stranger_signed_and_replayed_relay_requests(hospitals):
    urls, _, _, _ = hospitals
    opening = SessionOpen(
        session_id=secrets.token_hex(16),
        sender=RELAY,
        seq=1,
        run="it-4",
        purpose=AlignmentPurpose.PATIENTS,
        parties=("north", "south"),
        relay=OPERATOR.address,
    )
    body = to_wire(opening)
    stranger = devnet_account(RELAY_INDEX + 1)
    url = f"{urls[0]}/alignment/open"
    with httpx.Client() as client:
        unsigned = client.post(url, content=body)
        by_stranger = client.post(
            url, content=body, headers=sign_request(stranger, "POST", "/alignment/open", body)
        )
        headers = sign_request(OPERATOR, "POST", "/alignment/open", body)
        tampered = client.post(url, content=body + b" ", headers=headers)
        first = client.post(url, content=body, headers=headers)
        replayed = client.post(url, content=body, headers=headers)
        with pytest.raises(FedchainError, match="refused the relay on /open \\(HTTP 403\\)"):
            HttpLink(urls[0], client, account=stranger).open(opening)

    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["detail"]
    assert by_stranger.status_code == 403
    assert f"{stranger.address} is not an allowed relay" in by_stranger.json()["detail"]
    assert tampered.status_code == 401 and "not the claimed" in tampered.json()["detail"]
    assert first.status_code == 200  # none of the refused requests had opened the session
    assert replayed.status_code == 401 and "replay" in replayed.json()["detail"]


def test_fedchain_align_run_command_relays_among_the_services(hospitals):
    urls, sets, _, tmp = hospitals
    fedchain = Path(sys.executable).parent / "fedchain"

    env = {
        **os.environ,
        "COLUMNS": "200",  # room for the full 66-character hash
        "FEDCHAIN_DEVNET_ACCOUNT": str(RELAY_INDEX),
        "FEDCHAIN_DATA_DIR": str(tmp / "relay"),
    }

    done = subprocess.run(
        [str(fedchain), "align", "run", *urls, "--purpose", "patients", "--run", "it-3"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )

    assert done.returncode == 0, done.stderr
    as_sets = {k: set(v) for k, v in sets.items()}
    north_shared = len(as_sets["north"] & (as_sets["south"] | as_sets["east"]))
    assert re.search(
        rf"north\s*│\s*{len(as_sets['north'])}\s*│\s*{north_shared}\s*│\s*0x", done.stdout
    ), done.stdout
    assert "bytes per item" in done.stdout
    assert "signed audit line appended" in done.stdout

    wrong = subprocess.run(
        [str(fedchain), "align", "run", *urls, "--purpose", "pathology"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert wrong.returncode == 2
    assert "serves patients items, not pathology" in wrong.stderr
    # the relay's audit trail: a signed line per run, the refused one included
    done_line, refused_line = read_trail(tmp / "relay" / "alignment-audit.jsonl")
    assert done_line.entry.run == "it-3" and done_line.entry.outcome == "completed"
    assert done_line.entry.relay == OPERATOR.address
    north = next(p for p in done_line.entry.parties if p.name == "north")
    assert north.set_size == len(as_sets["north"]) and north.shared_size == north_shared
    assert refused_line.entry.outcome == "refused"
    assert "serves patients items" in (refused_line.entry.reason or "")
