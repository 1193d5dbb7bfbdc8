import secrets

import pytest
from eth_account import Account

from hospital.alignment import (
    AlignmentParty,
    AlignmentPurpose,
    AlignmentRefused,
    LocalLink,
    count_other_holders,
    run_alignment,
)
from hospital.alignment.evidence import sign_counts
from hospital.alignment.messages import (
    RELAY,
    CountsDelivery,
    EncodeRequest,
    PointBatch,
    SessionOpen,
    from_wire,
    to_wire,
)
from node.errors import ValidationFailed

SETS = {"a": [b"1", b"2", b"3"], "b": [b"2", b"3", b"4", b"5"]}
SECRET = b"consortium-test-secret"
RELAY_ACCOUNT = Account.from_key("0x" + "33" * 32)


def party(name, **kwargs):
    return AlignmentParty(name, lambda _p: SETS[name], secret=SECRET, **kwargs)


def opening(sid, **update):
    fields = {
        "session_id": sid,
        "sender": RELAY,
        "seq": 1,
        "run": "r",
        "purpose": AlignmentPurpose.PATIENTS,
        "parties": ("a", "b"),
        "relay": RELAY_ACCOUNT.address,
    }
    return SessionOpen(**{**fields, **update})


@pytest.fixture
def session():
    """Two hospitals with an open session; a's encoded batch ready for b."""
    sid = secrets.token_hex(16)
    parties = {k: party(k) for k in SETS}
    accepted = {k: p.open(opening(sid)) for k, p in parties.items()}
    sizes = {k: a.set_size for k, a in accepted.items()}
    keys = {k: a.key_commitment for k, a in accepted.items()}
    ask = EncodeRequest(session_id=sid, sender=RELAY, seq=2, set_sizes=sizes, key_commitments=keys)
    batch = parties["a"].encode(ask)
    parties["b"].encode(ask)
    forward = PointBatch(
        session_id=sid, sender=RELAY, seq=3, origin="a", hops=1, points=batch.points
    )
    return parties, forward


def refused(call, message, field):
    with pytest.raises(AlignmentRefused, match=message) as exc:
        call()
    assert exc.value.field == field
    return exc.value


def test_replayed_batch_is_refused(session):
    parties, forward = session
    parties["b"].blind(forward)
    refused(lambda: parties["b"].blind(forward), "replayed or reordered", "seq")
    again = forward.model_copy(update={"seq": 9})
    refused(lambda: parties["b"].blind(again), "already blinded here: replayed", "origin")


def test_batch_for_another_session_is_refused(session):
    parties, forward = session
    other = forward.model_copy(update={"session_id": secrets.token_hex(16)})
    refused(lambda: parties["b"].blind(other), "has no session", "session_id")


def test_batch_with_a_bad_point_is_refused(session):
    parties, forward = session
    bad = forward.model_copy(
        update={"points": forward.points[:32] + b"\xff" * 32 + forward.points[64:]}
    )
    refused(lambda: parties["b"].blind(bad), r"points\[1\] is not a canonical", "points")


def test_batch_of_the_wrong_length_is_refused(session):
    parties, forward = session
    short = forward.model_copy(update={"points": forward.points[:-1]})
    refused(lambda: parties["b"].blind(short), "not a whole number", "points")
    fewer = forward.model_copy(update={"points": forward.points[:-32]})
    size = len(forward.points) // 32
    refused(
        lambda: parties["b"].blind(fewer), f"holds {size - 1} points, expected {size}", "points"
    )


def test_batch_off_the_ring_or_not_from_the_relay_is_refused(session):
    parties, forward = session
    refused(
        lambda: parties["b"].blind(forward.model_copy(update={"hops": 2})),
        "hops is 2, expected 1",
        "hops",
    )
    refused(
        lambda: parties["b"].blind(forward.model_copy(update={"origin": "b"})),
        "not another party",
        "origin",
    )
    refused(
        lambda: parties["b"].blind(forward.model_copy(update={"sender": "a"})),
        "not the session's relay",
        "sender",
    )


def test_replayed_open_is_refused(session):
    parties, forward = session
    reopen = opening(forward.session_id)
    refused(lambda: parties["a"].open(reopen), "already open here: replayed open", "session_id")


def test_counts_of_the_wrong_length_are_refused(session):
    parties, forward = session
    sid = forward.session_id
    signature = sign_counts(
        RELAY_ACCOUNT, session_id=sid, run="r", purpose="patients", recipient="a", counts=b"\x01"
    )
    counts = CountsDelivery(
        session_id=sid, sender=RELAY, seq=5, relay_signature=signature, counts=b"\x01"
    )
    refused(lambda: parties["a"].finish(counts), "counts has 1 entries", "counts")


def test_malformed_frames_are_refused_naming_the_field(session):
    _, forward = session
    wire = to_wire(forward)
    assert from_wire(PointBatch, wire) == forward
    refused(lambda: from_wire(PointBatch, b"junk" + wire[4:]), "does not start", "frame")
    refused(lambda: from_wire(PointBatch, wire[:8] + b"x" + wire[9:]), "not JSON", "frame")
    no_origin = wire.replace(b'"origin":"a",', b"")
    no_origin = (
        no_origin[:4] + (int.from_bytes(wire[4:8], "big") - 13).to_bytes(4, "big") + no_origin[8:]
    )
    refused(lambda: from_wire(PointBatch, no_origin), "origin", "origin")
    refused(lambda: from_wire(SessionOpen, b'{"session_id":"zz"}'), "session_id", "session_id")


class CorruptingLink(LocalLink):
    """A malicious hospital: returns a bad point in the batches it blinds."""

    def blind(self, msg):
        out = super().blind(msg)
        return out.model_copy(update={"points": b"\xff" * 32 + out.points[32:]})


class ReplayingLink(LocalLink):
    """A malicious hospital: answers a blind request with its own earlier batch."""

    def encode(self, msg):
        self.first = super().encode(msg)
        return self.first

    def blind(self, msg):
        super().blind(msg)
        return self.first.model_copy(update={"origin": msg.origin, "hops": msg.hops + 1})


@pytest.mark.parametrize(
    ("link", "message", "field"),
    [
        (CorruptingLink, "not a canonical", "points"),
        (ReplayingLink, "replayed", "seq"),
    ],
)
def test_relay_refuses_a_hospital_that_sends_bad_or_replayed_batches(link, message, field):
    a, b = party("a"), party("b")
    refused(
        lambda: run_alignment([LocalLink(a), link(b)], run="r", purpose=AlignmentPurpose.PATIENTS),
        message,
        field,
    )


def test_relay_refuses_a_final_batch_that_repeats_a_point():
    point = bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")
    refused(lambda: count_other_holders({"a": point * 2, "b": point}), "repeats a point", "points")
    assert count_other_holders({"a": point, "b": point}) == {"a": b"\x01", "b": b"\x01"}


def test_relay_needs_two_distinct_hospitals():
    a = party("a")
    with pytest.raises(ValidationFailed) as exc:
        run_alignment([LocalLink(a)], run="r", purpose=AlignmentPurpose.PATIENTS)
    assert exc.value.field == "links"
    with pytest.raises(ValidationFailed):
        run_alignment([LocalLink(a), LocalLink(a)], run="r", purpose=AlignmentPurpose.PATIENTS)
