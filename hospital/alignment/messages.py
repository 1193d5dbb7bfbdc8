"""Typed wire messages of the alignment protocol and their compact binary framing.

Point batches travel as raw 32-byte encodings, not base64: a frame is the magic ``FCA1``,
a 4-byte big-endian header length, the message's other fields as JSON, then the raw payload.
Messages without a payload travel as plain JSON. Every message carries the session id, the
sender and the sender's sequence number, so replays and cross-session messages are refused.
"""

from __future__ import annotations

import json
from typing import Annotated, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.items import AlignmentPurpose
from hospital.alignment.terms import AlignmentTerms

MAGIC = b"FCA1"
BINARY_TYPE = "application/x-fedchain-psi"
JSON_TYPE = "application/json"
RELAY = "relay"

SessionId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="128-bit hex id")]
PartyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Seq = Annotated[int, Field(ge=1, description="sender's counter, strictly increasing")]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="account address")]
PointHex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="32-byte point, hex")]
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-f]{130}$", description="65 bytes, hex")]


class Message(BaseModel):
    """Fields every protocol message carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    payload_field: ClassVar[str | None] = None

    session_id: SessionId
    sender: PartyName
    seq: Seq


class SessionOpen(Message):
    """Relay -> hospital: join a run; ``parties`` is the ring order of the keys.

    ``relay`` is the account that signs the requests and the counts of this session;
    ``terms`` are the checks it is held to (a hospital refuses weaker ones than its own).
    """

    run: str = Field(min_length=1, max_length=128, description="ledger label of the run")
    purpose: AlignmentPurpose
    parties: tuple[PartyName, ...] = Field(min_length=2, max_length=255)
    min_other_holders: int = Field(default=1, ge=1, le=254)
    relay: Address
    terms: AlignmentTerms = AlignmentTerms()

    @model_validator(mode="after")
    def _distinct(self) -> SessionOpen:
        if len(set(self.parties)) != len(self.parties) or RELAY in self.parties:
            raise ValueError("parties must be distinct hospital names (not 'relay')")
        return self


class SessionAccepted(Message):
    """Hospital -> relay: joined; its set size (canaries included) and its key commitment.

    ``key_commitment`` is K = k·B for the session key k (hex; absent when proofs are off):
    every batch this hospital raises comes with a DLEQ proof against it.
    """

    set_size: int = Field(ge=0)
    key_commitment: PointHex | None = None


class EncodeRequest(Message):
    """Relay -> hospital: everybody joined; encode your set. Every party's size and K."""

    set_sizes: dict[PartyName, Annotated[int, Field(ge=0)]]
    key_commitments: dict[PartyName, PointHex] = Field(default_factory=dict)


class PointBatch(Message):
    """One owner's shuffled set, raised to ``hops`` of the parties' keys so far.

    A hospital's answer to a blind request carries ``proof`` (hex of the 64-byte batched DLEQ
    proof that it raised the batch it was sent to its committed key); the owner's own batch
    (hop 1) cannot be proved (nobody else knows its items) and the relay's requests carry none.
    """

    payload_field: ClassVar[str | None] = "points"

    origin: PartyName
    hops: int = Field(ge=1, le=255)
    proof: str | None = Field(default=None, pattern=r"^[0-9a-f]{128}$")
    points: bytes = Field(repr=False)


class CountsDelivery(Message):
    """Relay -> owner: for each of the owner's points, in its order, how many others hold it.

    ``relay_signature``: the relay's EIP-191 signature over ``evidence.counts_digest``
    (session, run, purpose, recipient, relay, counts); the owner verifies it first.
    """

    payload_field: ClassVar[str | None] = "counts"

    relay_signature: Signature
    counts: bytes = Field(repr=False, description="one byte per item")


class LedgerAlignment(BaseModel):
    """What the relay will send to ``recordAlignment`` for a hospital, signed by the hospital.

    ``signature`` is the hospital's EIP-712 signature over ``Alignment(hospital, run,
    sharedSetHash, sharedSize, uniquePpm)`` in the fedchain domain of ``chain_id``/``ledger``
    (node/chain/signing.py); the relay can record these values but not change them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    hospital: Address
    run: int = Field(ge=0, lt=2**64)
    shared_set_hash: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    shared_size: int = Field(ge=0, lt=2**64)
    unique_ppm: int = Field(ge=0, le=1_000_000)
    chain_id: int = Field(ge=1)
    ledger: Address
    signature: Signature


class AlignmentReceipt(Message):
    """Hospital -> relay: its shared set (commitment), once its canary checks passed.

    ``ledger_record`` is what it would record on chain, signed (absent where the hospital
    records nothing, e.g. without a ledger or before any pathology run).
    """

    run: str
    shared_size: int = Field(ge=0)
    shared_set_hash: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    canaries_checked: int = Field(ge=0)
    ledger_record: LedgerAlignment | None = None


M = TypeVar("M", bound=Message)


def content_type(cls: type[Message]) -> str:
    """The HTTP content type a message class travels with."""
    return BINARY_TYPE if cls.payload_field else JSON_TYPE


def to_wire(msg: Message) -> bytes:
    """Encode a message: binary frame when it has a payload, compact JSON otherwise."""
    field = type(msg).payload_field
    if field is None:
        return msg.model_dump_json().encode()
    header = msg.model_dump_json(exclude={field}).encode()
    return MAGIC + len(header).to_bytes(4, "big") + header + getattr(msg, field)


def _refuse_invalid(cls: type[Message], exc: ValidationError) -> AlignmentRefused:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or cls.__name__
    return AlignmentRefused(
        f"{cls.__name__}.{field}: {err['msg']}",
        field=field,
        fix=f"send a well-formed {cls.__name__}",
    )


def from_wire(cls: type[M], data: bytes) -> M:
    """Decode and validate a message; anything malformed is refused naming the field."""
    field = cls.payload_field
    try:
        if field is None:
            return cls.model_validate_json(data)
        if data[:4] != MAGIC or len(data) < 8:
            raise AlignmentRefused(
                f"{cls.__name__} frame does not start with {MAGIC!r}",
                field="frame",
                fix=f"send {BINARY_TYPE} frames",
            )
        size = int.from_bytes(data[4:8], "big")
        if 8 + size > len(data):
            raise AlignmentRefused(
                f"{cls.__name__} header length {size} exceeds the frame",
                field="frame",
                fix="send the whole frame",
            )
        header = json.loads(data[8 : 8 + size])
        if not isinstance(header, dict) or field in header:
            raise AlignmentRefused(
                f"{cls.__name__} header must be a JSON object without {field!r}",
                field="frame",
                fix="put the payload after the header",
            )
        return cls.model_validate({**header, field: data[8 + size :]})
    except ValidationError as exc:
        raise _refuse_invalid(cls, exc) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AlignmentRefused(
            f"{cls.__name__} header is not JSON: {exc}", field="frame", fix="send JSON headers"
        ) from None
