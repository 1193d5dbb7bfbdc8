"""Node identities: the devnet's deterministic accounts for demos, keystore files otherwise."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount

from node.config import Settings
from node.errors import ConfigError, NotFound

#: anvil's (and hardhat's) default mnemonic: public, so its keys are only for devnets.
DEVNET_MNEMONIC = "test test test test test test test test test test test junk"
DEVNET_CHAIN_IDS = frozenset({31337, 1337})
# The national-id salt every devnet hospital uses; refused on any other chain.
DEVNET_NATIONAL_ID_SALT = "fedchain-devnet-national-id-salt"
#: How many mnemonic accounts are checked when refusing devnet keys elsewhere.
DEVNET_KEYS_CHECKED = 40


def is_devnet_chain(chain_id: int) -> bool:
    """Whether ``chain_id`` is a local development chain (anvil 31337, geth --dev 1337)."""
    return chain_id in DEVNET_CHAIN_IDS


@lru_cache(maxsize=1)
def _devnet_seed() -> bytes:
    # the PBKDF2 stretch is the slow part: do it once, not once per account
    return bytes(seed_from_mnemonic(DEVNET_MNEMONIC, ""))


@lru_cache(maxsize=64)
def devnet_account(index: int) -> LocalAccount:
    """The ``index``-th account of the devnet mnemonic (m/44'/60'/0'/0/index)."""
    if index < 0:
        raise ConfigError(f"devnet account index {index} is negative", fix="use 0 or more")
    key = key_from_seed(_devnet_seed(), f"m/44'/60'/0'/0/{index}")
    account: LocalAccount = Account.from_key(key)
    return account


def devnet_accounts(count: int) -> list[LocalAccount]:
    """The first ``count`` devnet accounts."""
    return [devnet_account(i) for i in range(count)]


@lru_cache(maxsize=1)
def _devnet_addresses() -> frozenset[str]:
    return frozenset(a.address for a in devnet_accounts(DEVNET_KEYS_CHECKED))


def is_devnet_key(account: LocalAccount) -> bool:
    """Whether the account's key comes from the public devnet mnemonic."""
    return account.address in _devnet_addresses()


def require_safe_key(account: LocalAccount, chain_id: int) -> LocalAccount:
    """Refuse a public devnet key on a chain that is not a devnet; return the account."""
    if not is_devnet_chain(chain_id) and is_devnet_key(account):
        raise ConfigError(
            f"account {account.address} is a public devnet key and chain {chain_id} "
            "is not a devnet",
            fix="create a keystore (`fedchain chain new-key`) and set FEDCHAIN_KEYSTORE",
        )
    return account


def save_keystore(
    account: LocalAccount, path: Path, password: str, *, scrypt_n: int | None = None
) -> Path:
    """Encrypt the account's key into a keystore file (never overwrites one).

    ``scrypt_n`` lowers the work factor (tests only; the default is eth-account's).
    """
    if path.exists():
        raise ConfigError(f"keystore {path} already exists", fix="choose another path")
    keyfile = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(keyfile))
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt a keystore file; a wrong password is a ConfigError naming the file."""
    if not path.exists():
        raise NotFound(f"keystore {path} does not exist", fix="check FEDCHAIN_KEYSTORE")
    try:
        key = Account.decrypt(json.loads(path.read_text()), password)
    except ValueError as exc:
        raise ConfigError(
            f"cannot decrypt keystore {path}: {exc}", fix="check FEDCHAIN_KEY_PASSWORD"
        ) from exc
    account: LocalAccount = Account.from_key(key)
    return account


def load_identity(settings: Settings, chain_id: int) -> LocalAccount:
    """Load this node's account from the settings: a keystore, or a devnet index on a devnet."""
    if settings.keystore is not None:
        if settings.key_password is None:
            raise ConfigError(
                "FEDCHAIN_KEYSTORE is set but FEDCHAIN_KEY_PASSWORD is not",
                fix="set FEDCHAIN_KEY_PASSWORD",
            )
        account = load_keystore(settings.keystore, settings.key_password.get_secret_value())
        return require_safe_key(account, chain_id)
    if settings.devnet_account is not None:
        return require_safe_key(devnet_account(settings.devnet_account), chain_id)
    raise ConfigError(
        "no identity configured",
        fix="set FEDCHAIN_KEYSTORE (+ FEDCHAIN_KEY_PASSWORD), "
        "or FEDCHAIN_DEVNET_ACCOUNT on a devnet",
    )
