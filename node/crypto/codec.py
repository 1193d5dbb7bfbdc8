"""Encode and decode each blob kind, and check decoded blobs against the consortium key."""

from __future__ import annotations

from functools import lru_cache

import gmpy2

from node.crypto.keys import MAX_MINERS, MIN_KEY_BITS, ThresholdPublicKey
from node.crypto.messages import (
    Aggregate,
    BlobKind,
    Contribution,
    EncryptedUpdate,
    KeyShareRecord,
    PartialDecryption,
    blob_id,
)
from node.crypto.packing import PackingSpec
from node.crypto.paillier import check_ciphertexts
from node.crypto.threshold import EqualityProof, max_response_bits
from node.crypto.wire import Reader, Writer
from node.errors import ValidationFailed

ID_BYTES = 32
#: An aggregate sums two updates at least: the "aggregate" of one update is that update.
MIN_CONTRIBUTIONS = 2


def _width(public_key: ThresholdPublicKey) -> int:
    return (public_key.nsquare.bit_length() + 7) // 8


@lru_cache(maxsize=16)
def public_key_id(public_key: ThresholdPublicKey) -> bytes:
    """sha256 of the public-key blob: the id every share, update and partial refers to."""
    return blob_id(encode_public_key(public_key))


# -- public key -------------------------------------------------------------------------------


def encode_public_key(public_key: ThresholdPublicKey) -> bytes:
    """Serialise the consortium public key (n, t, m, v, v_1..v_m)."""
    w = Writer()
    w.bigint(public_key.n)
    w.u16(public_key.miners)
    w.u16(public_key.threshold)
    w.bigint(public_key.v)
    w.int_array(public_key.verification_keys, _width(public_key))
    return w.finish(BlobKind.PUBLIC_KEY)


def decode_public_key(blob: bytes) -> ThresholdPublicKey:
    """Parse and sanity-check a public-key blob."""
    r = Reader(blob, BlobKind.PUBLIC_KEY, "public key")
    n, miners, threshold = r.bigint("n"), r.u16("miners"), r.u16("threshold")
    v, keys = r.bigint("v"), r.int_array("verification_keys")
    r.end()
    if n.bit_length() < MIN_KEY_BITS or n % 2 == 0 or gmpy2.is_square(n):
        raise r.error("n", f"not a plausible modulus ({n.bit_length()} bits)")
    if not (1 <= miners <= MAX_MINERS and 1 <= threshold <= miners and len(keys) == miners):
        raise r.error("miners", f"inconsistent t={threshold}, m={miners}, {len(keys)} keys")
    check_ciphertexts(n, (v, *keys), field="verification_keys")
    return ThresholdPublicKey(n=n, threshold=threshold, miners=miners, v=v, verification_keys=keys)


# -- key share --------------------------------------------------------------------------------


def encode_key_share(share: KeyShareRecord) -> bytes:
    """Serialise a miner's secret share with its verification key and public-key id."""
    w = Writer()
    w.raw(share.public_key_id)
    w.u16(share.index)
    w.bigint(share.secret)
    w.bigint(share.verification_key)
    return w.finish(BlobKind.KEY_SHARE)


def decode_key_share(blob: bytes, public_key: ThresholdPublicKey | None = None) -> KeyShareRecord:
    """Parse a share; with ``public_key``, check it belongs to that key (v^(Δ s_i) = v_i)."""
    r = Reader(blob, BlobKind.KEY_SHARE, "key share")
    share = KeyShareRecord(
        public_key_id=r.raw(ID_BYTES, "public_key_id"),
        index=r.u16("index"),
        secret=r.bigint("secret"),
        verification_key=r.bigint("verification_key"),
    )
    r.end()
    if public_key is not None:
        if share.public_key_id != public_key_id(public_key):
            raise r.error("public_key_id", "the share belongs to another public key")
        if not 1 <= share.index <= public_key.miners:
            raise r.error("index", f"share index {share.index} outside 1..{public_key.miners}")
        expected = gmpy2.powmod(public_key.v, public_key.delta * share.secret, public_key.nsquare)
        published = public_key.verification_key(share.index)
        if not expected == published == share.verification_key:
            raise r.error("secret", "the share does not match its verification key")
    return share


# -- packing spec (embedded) ------------------------------------------------------------------


def _write_spec(w: Writer, spec: PackingSpec) -> None:
    w.u8(spec.value_bits)
    w.f64(spec.clip)
    w.u32(spec.max_updates)
    w.u32(spec.max_total_weight)


def _read_spec(r: Reader) -> PackingSpec:
    value_bits, clip = r.u8("spec.value_bits"), r.f64("spec.clip")
    max_updates, max_total_weight = r.u32("spec.max_updates"), r.u32("spec.max_total_weight")
    try:
        return PackingSpec(value_bits, clip, max_updates, max_total_weight)
    except ValidationFailed as exc:
        raise r.error(f"spec.{exc.field}", exc.message) from exc


# -- encrypted update -------------------------------------------------------------------------


def encode_update(update: EncryptedUpdate, public_key: ThresholdPublicKey) -> bytes:
    """Serialise one hospital's encrypted update."""
    w = Writer()
    w.raw(update.public_key_id)
    _write_spec(w, update.spec)
    w.u32(update.n_values)
    w.u32(update.weight)
    w.blob(update.context)
    w.int_array(update.ciphertexts, _width(public_key))
    return w.finish(BlobKind.ENCRYPTED_UPDATE)


def decode_update(blob: bytes, public_key: ThresholdPublicKey) -> EncryptedUpdate:
    """Parse an update and check it against the key: key id, count, ciphertexts in Z*_{n²}."""
    r = Reader(blob, BlobKind.ENCRYPTED_UPDATE, "encrypted update")
    update = EncryptedUpdate(
        public_key_id=r.raw(ID_BYTES, "public_key_id"),
        spec=_read_spec(r),
        n_values=r.u32("n_values"),
        weight=r.u32("weight"),
        context=r.blob("context"),
        ciphertexts=r.int_array("ciphertexts"),
    )
    r.end()
    _check_against_key(
        r, public_key, update.public_key_id, update.spec, update.n_values, update.ciphertexts
    )
    if not 1 <= update.weight <= update.spec.max_total_weight:
        raise r.error("weight", f"weight {update.weight} outside 1..{update.spec.max_total_weight}")
    return update


def _check_against_key(
    r: Reader,
    public_key: ThresholdPublicKey,
    key_id: bytes,
    spec: PackingSpec,
    n_values: int,
    ciphertexts: tuple[int, ...],
) -> None:
    if key_id != public_key_id(public_key):
        raise r.error("public_key_id", "encrypted under another public key")
    if n_values < 1:
        raise r.error("n_values", "an update needs at least one value")
    expected = spec.ciphertext_count(n_values, public_key.n_bits)
    if len(ciphertexts) != expected:
        raise r.error(
            "ciphertexts",
            f"{len(ciphertexts)} ciphertexts; {n_values} values under "
            f"this spec and key need {expected}",
        )
    check_ciphertexts(public_key.n, ciphertexts, field=f"{r.what}: ciphertexts")


# -- aggregate --------------------------------------------------------------------------------


def encode_aggregate(aggregate: Aggregate, public_key: ThresholdPublicKey) -> bytes:
    """Serialise an aggregate with the ids and weights of its updates."""
    w = Writer()
    w.raw(aggregate.public_key_id)
    _write_spec(w, aggregate.spec)
    w.u32(aggregate.n_values)
    w.u16(len(aggregate.contributions))
    for c in aggregate.contributions:
        w.raw(c.update_id)
        w.u32(c.weight)
    w.int_array(aggregate.ciphertexts, _width(public_key))
    return w.finish(BlobKind.AGGREGATE)


def decode_aggregate(blob: bytes, public_key: ThresholdPublicKey) -> Aggregate:
    """Parse an aggregate and check it against the key and its spec's weight bounds."""
    r = Reader(blob, BlobKind.AGGREGATE, "aggregate")
    key_id, spec, n_values = r.raw(ID_BYTES, "public_key_id"), _read_spec(r), r.u32("n_values")
    contributions = tuple(
        Contribution(update_id=r.raw(ID_BYTES, "contributions"), weight=r.u32("contributions"))
        for _ in range(r.u16("contributions"))
    )
    aggregate = Aggregate(key_id, spec, n_values, contributions, r.int_array("ciphertexts"))
    r.end()
    _check_against_key(r, public_key, key_id, spec, n_values, aggregate.ciphertexts)
    weights = [c.weight for c in contributions]
    if (
        not MIN_CONTRIBUTIONS <= len(weights) <= spec.max_updates
        or min(weights) < 1
        or (sum(weights) > spec.max_total_weight)
    ):
        raise r.error(
            "contributions",
            f"{len(weights)} updates of total weight {sum(weights)} break the spec's bounds",
        )
    return aggregate


# -- partial decryption -----------------------------------------------------------------------


def encode_partial(partial: PartialDecryption, public_key: ThresholdPublicKey) -> bytes:
    """Serialise one miner's partial decryptions and their proof."""
    w = Writer()
    w.raw(partial.public_key_id)
    w.raw(partial.aggregate_id)
    w.u16(partial.share_index)
    w.int_array(partial.indices, 4)
    w.int_array(partial.partials, _width(public_key))
    w.bigint(partial.proof.challenge)
    w.bigint(partial.proof.response)
    return w.finish(BlobKind.PARTIAL_DECRYPTION)


def decode_partial(blob: bytes, public_key: ThresholdPublicKey) -> PartialDecryption:
    """Parse a partial decryption and check its structure (the proof is checked on combine)."""
    r = Reader(blob, BlobKind.PARTIAL_DECRYPTION, "partial decryption")
    partial = PartialDecryption(
        public_key_id=r.raw(ID_BYTES, "public_key_id"),
        aggregate_id=r.raw(ID_BYTES, "aggregate_id"),
        share_index=r.u16("share_index"),
        indices=r.int_array("indices"),
        partials=r.int_array("partials"),
        proof=EqualityProof(
            challenge=r.bigint("proof.challenge"), response=r.bigint("proof.response")
        ),
    )
    r.end()
    if partial.public_key_id != public_key_id(public_key):
        raise r.error("public_key_id", "made with a share of another public key")
    if partial.proof.response.bit_length() > max_response_bits(public_key):
        # refused before any exponentiation: a longer response only costs every verifier
        raise r.error(
            "proof.response",
            f"{partial.proof.response.bit_length()} bits; an honest proof has at most "
            f"{max_response_bits(public_key)}",
        )
    if not 1 <= partial.share_index <= public_key.miners:
        raise r.error("share_index", f"{partial.share_index} outside 1..{public_key.miners}")
    if len(partial.indices) != len(partial.partials) or not partial.indices:
        raise r.error("indices", "needs one index per partial, at least one")
    if any(b <= a for a, b in zip(partial.indices, partial.indices[1:], strict=False)):
        raise r.error("indices", "indices must be strictly ascending")
    check_ciphertexts(public_key.n, partial.partials, field=f"{r.what}: partials")
    return partial
