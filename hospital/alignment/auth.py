"""Who may drive a hospital's alignment: relay requests signed by a consortium account.

Every alignment message a hospital receives is a request signed with the relay's account key
(``node/requestauth``: EIP-191 over method, path, body hash, timestamp and nonce). The
signature says *who* sent it; a ``RelayPolicy`` says whether that account may drive PSI
here. On a consortium the policy reads the ledger: only the accounts the consortium
designates, the ledger's admin (the operator's `fedchain align run` / `fedchain demo`) or an
active registered miner. A hospital may not relay: the relay sees every owner's fully-encoded
set, so it learns the size of every region of the Venn diagram, and a hospital relaying
would learn, as H_i, which other hospitals hold each of its own items. A stand-alone
`fedchain align serve` (item files, no chain) names its relays instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from hospital.alignment.errors import RELAY_FIX
from node.chain.client import LedgerClient
from node.chain.models import Role
from node.errors import FedchainError
from node.requestauth import ReplayGuard, verify_request


class RelayRefused(FedchainError):
    """A correctly signed alignment request from an account that may not drive alignment."""


class RelayPolicy(Protocol):
    """Decides whether a (verified) signer may drive this hospital's alignment."""

    def check(self, address: str) -> None:
        """Return if ``address`` may relay; raise RelayRefused naming it otherwise."""
        ...


class AllowedRelays:
    """A fixed set of relay accounts (stand-alone services without a chain)."""

    def __init__(self, addresses: Iterable[str]) -> None:
        self.addresses = {a.lower() for a in addresses}

    def check(self, address: str) -> None:
        """Refuse any account not in the set."""
        if address.lower() not in self.addresses:
            raise RelayRefused(
                f"{address} is not an allowed relay of this alignment service",
                fix="sign with a relay account given to `fedchain align serve --relay`",
            )


class LedgerRelays:
    """The consortium's designated relays, read from the chain: the admin and active miners.

    Answers are kept ``ttl`` seconds, so one session (a few requests per hospital) costs
    one or two calls; a removed pair is refused at most ``ttl`` seconds later.
    """

    def __init__(self, ledger: LedgerClient, *, ttl: float = 10.0) -> None:
        self.ledger = ledger
        self.ttl = ttl
        self._known: dict[str, tuple[float, str | None]] = {}

    def _refusal(self, address: str) -> str | None:
        if address.lower() == self.ledger.admin().lower():
            return None
        member = self.ledger.member(address)
        if member.role is Role.MINER and member.active:
            return None
        if member.role is Role.HOSPITAL:
            return (
                f"{address} is a hospital; a hospital may not relay an alignment (the relay "
                "sees every region of the Venn diagram, so it would learn which hospitals hold "
                "its own items)"
            )
        if member.role is Role.MINER:
            return f"{address} is a miner whose pair was removed from the ledger"
        return f"{address} is not a member of this consortium's ledger"

    def check(self, address: str) -> None:
        """Refuse hospitals, non-members and removed miners."""
        now = time.monotonic()
        known = self._known.get(address.lower())
        if known is None or now - known[0] > self.ttl:
            known = (now, self._refusal(address))
            self._known[address.lower()] = known
        if known[1] is not None:
            raise RelayRefused(known[1], fix=RELAY_FIX)


class RelayAuth:
    """Verifies a relay request's signature (with replay guard), then the policy."""

    def __init__(self, policy: RelayPolicy, *, guard: ReplayGuard | None = None) -> None:
        self.policy = policy
        self.guard = guard or ReplayGuard()

    def verify(self, headers: dict[str, str], method: str, path: str, body: bytes) -> str:
        """The signer of an allowed request; AuthError (401) or RelayRefused (403) otherwise."""
        signer = verify_request(headers, method, path, body, guard=self.guard)
        self.policy.check(signer)
        return signer
