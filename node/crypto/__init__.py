"""Packed Paillier updates with t-of-m threshold decryption among the miners.

Hospital:  ``encrypt_update(public_key, spec, values, weight=...) -> blob``
           (optionally with an ``ObfuscatorPool`` filled while training).
Miners:    ``read_update`` (validate; ``check_ciphertexts`` is its Z*_{n²} check),
           ``aggregate_updates`` (weighted sum),
           ``assign_ciphertexts`` + ``partial_decrypt``, ``verify_partial``,
           ``combine -> DecryptedAggregate`` (``.weighted_sum``, ``.mean``).
Ceremony:  ``new_consortium_key`` (``fedchain keys init`` runs it in a throw-away process).
Keys:      ``decode_public_key`` / ``decode_key_share``; every blob is named by ``blob_id``.
"""

from node.crypto.codec import (
    decode_key_share,
    decode_public_key,
    encode_public_key,
    public_key_id,
)
from node.crypto.errors import (
    InvalidPartialDecryption,
    MalformedBlob,
    NotEnoughShares,
    PackingOutOfRange,
)
from node.crypto.keys import ThresholdPublicKey
from node.crypto.messages import (
    Aggregate,
    EncryptedUpdate,
    KeyShareRecord,
    PartialDecryption,
    blob_id,
)
from node.crypto.packing import PackingSpec
from node.crypto.paillier import ObfuscatorPool, check_ciphertexts
from node.crypto.rounds import (
    DecryptedAggregate,
    aggregate_updates,
    assign_ciphertexts,
    combine,
    encrypt_update,
    new_consortium_key,
    partial_decrypt,
    read_aggregate,
    read_update,
    verify_partial,
)

__all__ = [
    "Aggregate",
    "DecryptedAggregate",
    "EncryptedUpdate",
    "InvalidPartialDecryption",
    "KeyShareRecord",
    "MalformedBlob",
    "NotEnoughShares",
    "ObfuscatorPool",
    "PackingOutOfRange",
    "PackingSpec",
    "PartialDecryption",
    "ThresholdPublicKey",
    "aggregate_updates",
    "assign_ciphertexts",
    "blob_id",
    "check_ciphertexts",
    "combine",
    "decode_key_share",
    "decode_public_key",
    "encode_public_key",
    "encrypt_update",
    "new_consortium_key",
    "partial_decrypt",
    "public_key_id",
    "read_aggregate",
    "read_update",
    "verify_partial",
]
