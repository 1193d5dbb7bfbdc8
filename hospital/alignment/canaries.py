"""Canary items: how a hospital checks the counts a relay returns without trusting it.

The relay counts matches among fully-encoded sets the hospitals never see, so a hospital
cannot recount. Instead every hospital adds, per session, items derived from a secret the
hospitals share and the relays do not (the consortium's national-id salt): for each
*region* of the Venn diagram, a set S of hospitals, ``per_group`` canaries held by exactly
the hospitals of S. A canary of S must come back to each of them with count |S| - 1. At hop
1 canaries are pseudorandom points among the owner's items in its secret shuffled order, so
the relay cannot tell them apart from real items, even knowing every region's size.

Regions covered: every non-empty subset of the parties when there are at most
``FULL_COVERAGE_PARTIES`` of them (2^(n-1) regions per hospital), otherwise the regions of
1, 2, n-1 and n hospitals. A relay that changes the counts of a fraction f of one
hospital's items in a covered region escapes with probability about (1 - f)^per_group;
a fraction f of all its items, about (1 - f)^(per_group x regions); zeroing or inflating
every count of a hospital is caught with certainty.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

CANARY_PREFIX = b"fedchain/psi/v1/canary\x00"
_KEY_DOMAIN = b"fedchain/psi/v1/canary-key\x00"
DEFAULT_PER_GROUP = 32
FULL_COVERAGE_PARTIES = 6

Group = tuple[str, ...]


def _framed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def canary_groups(parties: Sequence[str]) -> list[Group]:
    """The regions that get canaries, each as a tuple of parties in ring order."""
    n = len(parties)
    if n <= FULL_COVERAGE_PARTIES:
        sizes: Iterable[int] = range(1, n + 1)
    else:
        sizes = sorted({1, 2, n - 1, n})
    return [group for size in sizes for group in combinations(parties, size)]


def canaries_per_party(parties: Sequence[str], per_group: int) -> int:
    """How many canaries each hospital adds (the same for all: public, like the set sizes)."""
    first = parties[0]
    return per_group * sum(first in g for g in canary_groups(parties))


def session_key(
    secret: bytes, *, session_id: str, run: str, purpose: str, parties: Sequence[str]
) -> bytes:
    """The per-session canary key: HMAC-SHA256 under the consortium secret.

    Bound to everything the session is about, so canaries never repeat across sessions
    and a relay that has seen one session's counts learns nothing about the next.
    """
    label = _framed(session_id.encode(), run.encode(), purpose.encode(), *map(str.encode, parties))
    return hmac.new(secret, _KEY_DOMAIN + label, hashlib.sha256).digest()


def canary_item(key: bytes, group: Group, index: int) -> bytes:
    """The ``index``-th canary of ``group``: the canary prefix and an HMAC under the key."""
    mac = hmac.new(key, _framed(*map(str.encode, group), index.to_bytes(4, "big")), hashlib.sha256)
    return CANARY_PREFIX + mac.digest()


def canaries_for(
    party: str, key: bytes, parties: Sequence[str], per_group: int
) -> dict[bytes, tuple[Group, int]]:
    """The canaries ``party`` adds: item -> (its region, the count it must come back with)."""
    return {
        canary_item(key, group, i): (group, len(group) - 1)
        for group in canary_groups(parties)
        if party in group
        for i in range(per_group)
    }


def is_canary_shaped(item: bytes) -> bool:
    """True for an item that looks like a canary (never a real item: it would be dropped)."""
    return item.startswith(CANARY_PREFIX)


def canary_mismatches(
    canaries: Mapping[bytes, tuple[Group, int]], counts: Mapping[bytes, int]
) -> list[str]:
    """Describe every region whose canaries came back with a wrong count (empty: all good)."""
    wrong: dict[Group, list[int]] = {}
    for item, (group, expected) in canaries.items():
        got = counts.get(item)
        if got != expected:
            wrong.setdefault(group, []).append(-1 if got is None else got)
    return [
        f"{len(got)} canaries of region {{{', '.join(group)}}} came back with counts "
        f"{sorted(set(got))}, expected {len(group) - 1}"
        for group, got in wrong.items()
    ]
