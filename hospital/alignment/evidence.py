"""What the relay signs: the counts it returns to each hospital (EIP-191, the relay's account).

A hospital verifies the signature before acting on the counts and keeps it: counts that fail
its canary checks are then evidence, signed by the relay, of what the relay returned.
"""

from __future__ import annotations

import hashlib

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

_COUNTS_DOMAIN = b"fedchain/psi/v1/counts\x00"


def _framed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def counts_digest(
    *, session_id: str, run: str, purpose: str, recipient: str, relay: str, counts: bytes
) -> bytes:
    """The 32-byte digest the relay signs for one hospital's counts.

    sha256(``fedchain/psi/v1/counts`` || 0 || length-prefixed session id, run, purpose,
    recipient's name, relay address (lower case), sha256(counts)).
    """
    return hashlib.sha256(
        _COUNTS_DOMAIN
        + _framed(
            session_id.encode(),
            run.encode(),
            purpose.encode(),
            recipient.encode(),
            relay.lower().encode(),
            hashlib.sha256(counts).digest(),
        )
    ).digest()


def sign_counts(
    account: LocalAccount, *, session_id: str, run: str, purpose: str, recipient: str, counts: bytes
) -> str:
    """The relay's 0x-hex EIP-191 signature over ``counts_digest``."""
    digest = counts_digest(
        session_id=session_id,
        run=run,
        purpose=purpose,
        recipient=recipient,
        relay=account.address,
        counts=counts,
    )
    return "0x" + bytes(account.sign_message(encode_defunct(primitive=digest)).signature).hex()


def counts_signer(
    signature: str,
    *,
    session_id: str,
    run: str,
    purpose: str,
    recipient: str,
    relay: str,
    counts: bytes,
) -> str | None:
    """The address that signed these counts for ``relay``, or None if the signature is malformed."""
    digest = counts_digest(
        session_id=session_id,
        run=run,
        purpose=purpose,
        recipient=recipient,
        relay=relay,
        counts=counts,
    )
    try:
        return str(Account.recover_message(encode_defunct(primitive=digest), signature=signature))
    except Exception:  # eth-keys raises several types for a malformed signature
        return None
