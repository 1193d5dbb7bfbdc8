"""The national-id salt a store's tokens were made under, recorded as a fingerprint.

Tokens are HMACs of national ids under the consortium salt, so a store imported under one
salt aligns with nobody under another, and a store imported under the public devnet salt
leaks its patients' tokens to anyone who guesses ids. The store keeps
HMAC-SHA256(salt, LABEL) (never the salt) in ``emr_meta``; opening it under another salt is
refused, and so is serving a devnet-salted store on a chain that is not a devnet.
"""

from __future__ import annotations

import hashlib
import hmac

from node.errors import ConfigError
from node.identity import DEVNET_NATIONAL_ID_SALT, is_devnet_chain

LABEL = b"fedchain/emr/national-id-salt-fingerprint/v1"
META_KEY = "national_id_salt_fingerprint"


def salt_fingerprint(salt: bytes) -> str:
    """HMAC-SHA256 of a fixed label under ``salt``, hex: names the salt without revealing it."""
    return hmac.new(salt, LABEL, hashlib.sha256).hexdigest()


DEVNET_FINGERPRINT = salt_fingerprint(DEVNET_NATIONAL_ID_SALT.encode("utf-8"))


def check_salt(recorded: str | None, salt: bytes, *, where: str) -> None:
    """Refuse ``salt`` if the store at ``where`` recorded another salt's fingerprint."""
    if recorded is None or hmac.compare_digest(recorded, salt_fingerprint(salt)):
        return
    devnet = hmac.compare_digest(recorded, DEVNET_FINGERPRINT)
    made_under = "the public devnet salt" if devnet else "a different salt"
    raise ConfigError(
        f"the case store {where} holds national-id tokens made under {made_under}, not "
        "under the configured FEDCHAIN_NATIONAL_ID_SALT: its patients would align with nobody",
        fix="set FEDCHAIN_NATIONAL_ID_SALT to the salt the store was imported under, or "
        "re-import the cases into a new store under the consortium's salt",
    )


def require_not_devnet_salted(recorded: str | None, chain_id: int, *, where: str) -> None:
    """Refuse a store imported under the public devnet salt on a chain that is not a devnet."""
    if is_devnet_chain(chain_id) or recorded is None:
        return
    if hmac.compare_digest(recorded, DEVNET_FINGERPRINT):
        raise ConfigError(
            f"the case store {where} was imported under the public devnet "
            f"FEDCHAIN_NATIONAL_ID_SALT and chain {chain_id} is not a devnet: anybody can "
            "recompute its patients' tokens from guessed national ids",
            fix="re-import the cases into a new store with FEDCHAIN_NATIONAL_ID_SALT set to "
            "the consortium's shared secret",
        )
