"""Fixed-point quantisation and packing of many values into one Paillier plaintext.

A value x with |x| <= clip becomes the integer level q = round(x / scale) + offset, with
offset = 2^(b-1) - 1 and scale = clip / offset, so q ∈ [0, 2^b - 2] and 0.0 is exact.
Levels sit side by side in slots of ``slot_bits`` bits. A weighted sum of at most
``max_updates`` updates with integer weights totalling at most ``max_total_weight`` (W)
holds at most W · (2^b - 2) per slot, and ``slot_bits`` is the bit length of that bound,
so no slot ever carries into its neighbour (the proof is that one line). A plaintext holds
(n_bits - 1) // slot_bits slots, so the packed sum stays below 2^(n_bits - 1) <= n: phe's
max_int = n // 3 does not apply because the library handles the integers itself.

Decoding subtracts W · offset from each slot sum and multiplies by scale. With rounding to
nearest, every value is off by at most scale / 2, so the decoded weighted sum satisfies
|decoded - Σ_k w_k x_k| <= W · scale / 2 (and the weighted mean is within scale / 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from node.crypto.errors import PackingOutOfRange

MAX_SLOT_BITS = 62  # slot sums are decoded in uint64/int64
PPM = 1_000_000


@dataclass(frozen=True)
class PackingSpec:
    """How an update is quantised and packed, and the bounds its weighted sums must respect."""

    value_bits: int = 8
    clip: float = 1.0
    max_updates: int = 8
    max_total_weight: int = 8

    def __post_init__(self) -> None:
        if not 2 <= self.value_bits <= 32:
            raise PackingOutOfRange("value_bits must be 2..32", field="value_bits")
        if not (math.isfinite(self.clip) and self.clip > 0):
            raise PackingOutOfRange("clip must be a finite positive number", field="clip")
        if not 1 <= self.max_updates <= self.max_total_weight:
            raise PackingOutOfRange(
                "need 1 <= max_updates <= max_total_weight (every weight is at least 1)",
                field="max_updates",
            )
        if self.slot_bits > MAX_SLOT_BITS:
            raise PackingOutOfRange(
                f"slot of {self.slot_bits} bits exceeds {MAX_SLOT_BITS}",
                field="max_total_weight",
                fix="lower value_bits or max_total_weight",
            )

    @property
    def offset(self) -> int:
        """The level that encodes 0.0: 2^(value_bits - 1) - 1."""
        return (1 << (self.value_bits - 1)) - 1

    @property
    def max_level(self) -> int:
        """The largest level one update can put in a slot (encodes +clip)."""
        return 2 * self.offset

    @property
    def scale(self) -> float:
        """Quantisation step: one level is worth ``scale``."""
        return self.clip / self.offset

    @property
    def slot_bits(self) -> int:
        """Bits per slot: room for max_total_weight × max_level without carry."""
        return (self.max_total_weight * self.max_level).bit_length()

    def slots_per_plaintext(self, n_bits: int) -> int:
        """Slots that fit below 2^(n_bits - 1) <= n."""
        slots = (n_bits - 1) // self.slot_bits
        if slots < 1:
            raise PackingOutOfRange("the key is too small for one slot", field="n_bits")
        return slots

    def ciphertext_count(self, n_values: int, n_bits: int) -> int:
        """Ciphertexts needed for ``n_values`` values under an ``n_bits`` key."""
        return -(-n_values // self.slots_per_plaintext(n_bits))

    def sum_error_bound(self, total_weight: int) -> float:
        """Worst-case |decoded weighted sum - exact weighted sum| per value (rounding only)."""
        return total_weight * self.scale / 2


def quantise(
    values: np.ndarray, spec: PackingSpec, *, clip_out_of_range: bool = False
) -> np.ndarray:
    """Levels (uint64) of a float vector; refuse |x| > clip unless ``clip_out_of_range``."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(x)):
        bad = int(np.flatnonzero(~np.isfinite(x))[0])
        raise PackingOutOfRange(f"values[{bad}] is {x[bad]}", field=f"values[{bad}]")
    outside = np.abs(x) > spec.clip
    if outside.any():
        if not clip_out_of_range:
            bad = int(np.flatnonzero(outside)[0])
            raise PackingOutOfRange(
                f"values[{bad}] = {x[bad]!r} lies outside ±{spec.clip} "
                f"({int(outside.sum())} values do)",
                field=f"values[{bad}]",
                fix="clip the update before encrypting, raise the spec's clip, "
                "or pass clip_out_of_range=True to clamp explicitly",
            )
        x = np.clip(x, -spec.clip, spec.clip)
    levels = np.rint(x / spec.scale).clip(-spec.offset, spec.offset) + spec.offset
    return levels.astype(np.uint64)


def pack(levels: np.ndarray, spec: PackingSpec, n_bits: int) -> list[int]:
    """Pack levels into plaintext integers, slot j of plaintext i holding level i·S + j."""
    slots, width = spec.slots_per_plaintext(n_bits), spec.slot_bits
    count = -(-len(levels) // slots)
    grid = np.zeros(count * slots, dtype=np.uint64)
    grid[: len(levels)] = levels
    bits = (grid.reshape(count, slots, 1) >> np.arange(width, dtype=np.uint64)) & np.uint64(1)
    rows = np.packbits(
        bits.astype(np.uint8).reshape(count, slots * width), axis=1, bitorder="little"
    )
    return [int.from_bytes(row.tobytes(), "little") for row in rows]


def unpack(plaintexts: Sequence[int], spec: PackingSpec, n_bits: int, n_values: int) -> np.ndarray:
    """Slot sums (uint64) of ``n_values`` slots from decrypted plaintexts."""
    slots, width = spec.slots_per_plaintext(n_bits), spec.slot_bits
    used_bits = slots * width
    n_bytes = -(-used_bits // 8)
    if any(not 0 <= p < (1 << used_bits) for p in plaintexts):
        raise PackingOutOfRange(
            "a decrypted plaintext is wider than its slots: the sum overflowed or the key is wrong",
            field="plaintexts",
        )
    raw = np.frombuffer(b"".join(int(p).to_bytes(n_bytes, "little") for p in plaintexts), np.uint8)
    bits = np.unpackbits(raw.reshape(len(plaintexts), n_bytes), axis=1, bitorder="little")
    bits = bits[:, :used_bits].reshape(len(plaintexts), slots, width).astype(np.uint64)
    sums = (bits << np.arange(width, dtype=np.uint64)).sum(axis=2, dtype=np.uint64)
    return sums.ravel()[:n_values]


def decode_weighted_sum(slot_sums: np.ndarray, spec: PackingSpec, total_weight: int) -> np.ndarray:
    """Σ_k w_k x_k per value from slot sums: (sum - W·offset) · scale."""
    centred = slot_sums.astype(np.int64) - np.int64(total_weight * spec.offset)
    return centred.astype(np.float64) * spec.scale


def check_weights(weights: Sequence[int], spec: PackingSpec) -> None:
    """Refuse a weighted sum the spec's slots were not sized for."""
    if not 1 <= len(weights) <= spec.max_updates:
        raise PackingOutOfRange(
            f"{len(weights)} updates; the spec allows 1..{spec.max_updates}", field="updates"
        )
    for k, w in enumerate(weights):
        if not isinstance(w, int) or w < 1:
            raise PackingOutOfRange(f"weights[{k}] = {w!r} is not an integer >= 1", field="weight")
    if sum(weights) > spec.max_total_weight:
        raise PackingOutOfRange(
            f"total weight {sum(weights)} exceeds the spec's max_total_weight "
            f"{spec.max_total_weight}: slots could overflow",
            field="weight",
            fix="scale the weights down or use a spec with a larger max_total_weight",
        )


def check_slot_sums(slot_sums: np.ndarray, spec: PackingSpec, total_weight: int) -> None:
    """Refuse a decrypted aggregate whose slots lie outside what its weights allow.

    Honest updates put a level in [0, max_level] in every slot, so a sum of updates of total
    weight W holds at most W · max_level per slot. A slot above that comes from a plaintext
    outside the packing (a hospital encrypted an out-of-range value): the whole aggregate is
    refused, never decoded, so no value, and no neighbour of the slot, is taken silently.
    The slots are sized for the spec's max_total_weight, so a round of smaller weight has
    2^slot_bits / (W · max_level) times the honest range as room to see an overflow in.
    """
    bound = total_weight * spec.max_level
    above = np.flatnonzero(slot_sums > np.uint64(bound))
    if above.size:
        j = int(above[0])
        raise PackingOutOfRange(
            f"slot {j} of the decrypted aggregate holds {int(slot_sums[j])}, above the "
            f"{bound} that updates of total weight {total_weight} can reach "
            f"({above.size} slots are): an update encrypted values outside its packing",
            field=f"slots[{j}]",
            fix="reject the round; the hold-out reports and the audit name its updates",
        )


def cap_weights(weights: Sequence[int], max_share_ppm: int) -> list[int]:
    """Each update's weight in the sum: at most ``max_share_ppm`` of the total.

    An update may weigh at most s / (1 - s) times the others together (s = max_share_ppm /
    10^6 >= 1/2), so at most one update is ever capped and then carries exactly s of the
    total. Integer arithmetic as ``FederatedLedger._effectiveWeight`` (credits use the same).
    """
    if not PPM // 2 <= max_share_ppm <= PPM:
        raise PackingOutOfRange(
            f"max_share_ppm {max_share_ppm} outside [{PPM // 2}, {PPM}]", field="max_share_ppm"
        )
    if max_share_ppm == PPM:
        return list(weights)
    total = sum(weights)
    return [min(w, (total - w) * max_share_ppm // (PPM - max_share_ppm)) for w in weights]
