"""Suggestion ids that sort by creation time (UUID version 7, RFC 9562 §5.7).

A random (version 4) id lands at a random place in the suggestions table's primary-key
B-tree, so a batch of 16 suggestions dirtied ≈ 16 index pages and its commit wrote ≈ 40
pages to the SQLite WAL. Ids that grow with time are appended to the index's last page.
Python 3.14's ``uuid.uuid7`` does the same; this module stands in until the floor is 3.14.
"""

from __future__ import annotations

import datetime as dt
import os

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62
RANDOM_BYTES = 10  # what one id takes from os.urandom (74 bits used)


def time_ordered_id(at: dt.datetime, random_bytes: bytes | None = None) -> str:
    """A UUIDv7 as 32 hex digits: 48 bits of Unix milliseconds of ``at``, then 74 random bits.

    ``random_bytes`` (``RANDOM_BYTES`` from ``os.urandom``) lets a batch draw its randomness in
    one system call; by default the id draws its own.
    """
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(random_bytes if random_bytes is not None else os.urandom(RANDOM_BYTES))
    rand_a, rand_b = rand >> 68, rand & ((1 << 62) - 1)
    value = (millis << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT_RFC | rand_b
    return f"{value:032x}"  # uuid.UUID(int=value).hex, without building the UUID
